"""Graph's transitive memberships: transitiveMemberOf, checkMemberGroups, getMemberObjects.

What an app calls when an ID token carries the groups overage claims instead of `groups`.
Permissions are the delegated ones on each API page (user-list-transitivememberof,
directoryobject-checkmembergroups, directoryobject-getmemberobjects).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from ..accounts import graph_id, is_personal
from .common import DIRECTORY, GraphError, bad_request, context, not_found, paged, state
from .directory_routes import group_json, role_json

MAX_GROUP_IDS = 20
# Readers of group and role objects; without one, those come back as type and id only
# ("limited information returned for inaccessible member objects").
GROUP_READERS = ("GroupMember.Read.All", "Group.Read.All", *DIRECTORY)
ROLE_READERS = DIRECTORY
TRANSITIVE_OWN = ("User.Read", "User.Read.All", *GROUP_READERS)
TRANSITIVE_OTHER = ("User.Read.All", *GROUP_READERS)
MEMBER_OBJECTS_OWN = ("User.Read", "User.Read.All", *DIRECTORY)
MEMBER_OBJECTS_OTHER = ("User.Read.All", *DIRECTORY)
# checkMemberGroups needs a user permission AND a group permission (or Directory.*).
CHECK_USERS_OWN = ("User.Read", "User.ReadBasic.All", "User.Read.All")
CHECK_USERS_OTHER = ("User.ReadBasic.All", "User.Read.All")
CHECK_GROUPS = ("GroupMember.Read.All", "Group.Read.All")


def _denied() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def _has_any(permissions: tuple[str, ...]) -> bool:
    return bool(set(permissions) & g.scopes)


def _target(user_id: str | None) -> tuple[dict, bool]:
    """(the user, whether it is the caller) for /me (None) or /users/{id | upn}."""
    if user_id is None or user_id in (g.user["id"], graph_id(g.user)):
        target = g.user
    else:
        target = state().directory.find_user(user_id)
    if is_personal(g.user):  # "Not supported" for personal Microsoft accounts
        raise _denied()
    if target is None or is_personal(target):
        raise not_found(
            "Request_ResourceNotFound",
            f"Resource '{user_id}' does not exist or one of its queried reference-"
            "property objects are not present.",
        )
    return target, target is g.user


def _require(own: bool, own_permissions: tuple[str, ...], other: tuple[str, ...]) -> None:
    if not _has_any(own_permissions if own else other):
        raise _denied()


def _group_object(group: dict) -> dict:
    if not _has_any(GROUP_READERS):
        return {"@odata.type": "#microsoft.graph.group", "id": group["id"]}
    return {"@odata.type": "#microsoft.graph.group", **group_json(group)}


def _role_object(role: dict) -> dict:
    if not _has_any(ROLE_READERS):
        return {"@odata.type": "#microsoft.graph.directoryRole", "id": role["id"]}
    return role_json(role)


def _memberships(user: dict) -> tuple[list[dict], list[dict]]:
    directory = state().directory
    return directory.transitive_groups(user["id"]), directory.memberships(user["id"])[1]


def transitive_member_of(user_id: str | None = None) -> ResponseReturnValue:
    user, own = _target(user_id)
    _require(own, TRANSITIVE_OWN, TRANSITIVE_OTHER)
    groups, roles = _memberships(user)
    value = [_group_object(x) for x in groups] + [_role_object(r) for r in roles]
    return paged(value, "directoryObjects")


def transitive_groups(user_id: str | None = None) -> ResponseReturnValue:
    user, own = _target(user_id)
    _require(own, TRANSITIVE_OWN, TRANSITIVE_OTHER)
    groups, _ = _memberships(user)
    readable = _has_any(GROUP_READERS)
    return paged([group_json(x) if readable else _group_object(x) for x in groups], "groups")


def transitive_roles(user_id: str | None = None) -> ResponseReturnValue:
    user, own = _target(user_id)
    _require(own, TRANSITIVE_OWN, TRANSITIVE_OTHER)
    _, roles = _memberships(user)
    return paged([_role_object(r) for r in roles], "directoryRoles")


def _strings(value: list[str]) -> dict:
    return {"@odata.context": context("Collection(Edm.String)"), "value": value}


def check_member_groups(user_id: str | None = None) -> ResponseReturnValue:
    """Which of up to 20 group ids the user is a member of, directly or not."""
    user, own = _target(user_id)
    users_ok = _has_any(CHECK_USERS_OWN if own else CHECK_USERS_OTHER)
    if not (_has_any(DIRECTORY) or (users_ok and _has_any(CHECK_GROUPS))):
        raise _denied()
    body = request.get_json(silent=True)
    wanted = body.get("groupIds") if isinstance(body, dict) else None
    if not isinstance(wanted, list) or not all(isinstance(i, str) for i in wanted):
        raise bad_request(
            "The request body must have a 'groupIds' collection of group ids.",
            "Request_BadRequest",
        )
    if len(wanted) > MAX_GROUP_IDS:
        raise bad_request(
            f"The 'groupIds' collection has {len(wanted)} items; at most {MAX_GROUP_IDS} "
            "group ids can be checked in one request.",
            "Request_BadRequest",
        )
    for group_id in wanted:
        _object_id(group_id)
    member = {x["id"] for x in state().directory.transitive_groups(user["id"])}
    return _strings([i for i in wanted if i.lower() in member])


def _object_id(value: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise bad_request(f"Invalid object identifier '{value}'.", "Request_BadRequest") from None


def get_member_objects(user_id: str | None = None) -> ResponseReturnValue:
    """Ids of every group (and, unless securityEnabledOnly, directory role) the user is in."""
    user, own = _target(user_id)
    _require(own, MEMBER_OBJECTS_OWN, MEMBER_OBJECTS_OTHER)
    body = request.get_json(silent=True)
    security_only = body.get("securityEnabledOnly") if isinstance(body, dict) else None
    if not isinstance(security_only, bool):
        raise bad_request(
            "The request body must have 'securityEnabledOnly' set to true or false.",
            "Request_BadRequest",
        )
    groups, roles = _memberships(user)
    if security_only:
        return _strings([x["id"] for x in groups if x.get("security_only")])
    return _strings([x["id"] for x in groups] + [r["id"] for r in roles])


def install(bp: Blueprint) -> None:
    gets = [
        ("transitiveMemberOf", transitive_member_of),
        ("transitiveMemberOf/microsoft.graph.group", transitive_groups),
        ("transitiveMemberOf/microsoft.graph.directoryRole", transitive_roles),
    ]
    posts = [
        ("checkMemberGroups", check_member_groups),
        ("getMemberObjects", get_member_objects),
    ]
    for methods, routes in ((["GET"], gets), (["POST"], posts)):
        for suffix, view in routes:
            bp.add_url_rule(f"/me/{suffix}", f"me_{view.__name__}", view, methods=methods)
            bp.add_url_rule(
                f"/users/<user_id>/{suffix}", f"user_{view.__name__}", view, methods=methods
            )
