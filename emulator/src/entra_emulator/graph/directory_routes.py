"""Graph directory routes: users, photos, groups, memberships and the organization."""

from __future__ import annotations

from flask import Blueprint, Response, g, request
from flask.typing import ResponseReturnValue

from ..directory import fold
from ..images import square_png
from . import search_syntax
from .common import (
    DIRECTORY,
    GROUPS,
    ME,
    MEMBER_OF,
    USERS,
    bad_request,
    context,
    not_found,
    paged,
    require,
    select,
    select_suffix,
    state,
)

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_ALL = set(USER_DEFAULT) | {"department"}
GROUP_FIELDS = {
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "groupTypes",
    "visibility",
    "createdDateTime",
}
SEARCHABLE = {
    "displayName",
    "mail",
    "userPrincipalName",
    "givenName",
    "surname",
    "description",
    "mailNickname",
}


def user_json(user: dict) -> dict:
    """A user as Graph returns it by default (department only with $select)."""
    if request.args.get("$select"):
        return select({k: user.get(k) for k in USER_ALL}, USER_ALL, "user")
    return {k: user.get(k) for k in USER_DEFAULT}


def group_json(group: dict) -> dict:
    security_only = group.get("security_only", False)
    domain = state().directory.tenant["defaultDomain"]
    full = {
        "id": group["id"],
        "displayName": group["displayName"],
        "description": group["description"],
        "mail": None if security_only else f"{group['mailNickname']}@{domain}",
        "mailEnabled": not security_only,
        "mailNickname": group["mailNickname"],
        "securityEnabled": security_only,
        "groupTypes": [] if security_only else ["Unified"],
        "visibility": None if security_only else "Private",
        "createdDateTime": "2023-06-01T08:00:00Z",
    }
    return select(full, GROUP_FIELDS, "group")


def role_json(role: dict) -> dict:
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": role["id"],
        "displayName": role["displayName"],
        "description": role["description"],
        "roleTemplateId": role["roleTemplateId"],
    }


def _search(entries: list[dict]) -> list[dict]:
    """Apply $search (see search_syntax); needs ConsistencyLevel: eventual."""
    raw = request.args.get("$search")
    needs_eventual = raw is not None or request.args.get("$count") == "true"
    if needs_eventual and request.headers.get("ConsistencyLevel", "").lower() != "eventual":
        raise bad_request(
            "Request with $search query parameter only works through MSGraph with a special "
            "request header: 'ConsistencyLevel: eventual'",
            "Request_UnsupportedQuery",
        )
    if raw is None:
        return entries
    matches = search_syntax.parse(raw, SEARCHABLE)
    return [e for e in entries if matches(e)]


def _unsupported_options() -> None:
    for option in ("$filter", "$expand"):
        if option in request.args:
            raise bad_request(
                f"The emulator does not support {option}.", "Request_UnsupportedQuery"
            )


def _ordered(entries: list[dict]) -> list[dict]:
    raw = request.args.get("$orderby")
    if not raw:
        return entries
    prop, _, direction = raw.partition(" ")
    if prop not in ("displayName", "userPrincipalName", "mail"):
        raise bad_request(f"Sorting by '{prop}' is not supported.", "Request_UnsupportedQuery")
    return sorted(
        entries, key=lambda e: fold(str(e.get(prop) or "")), reverse=direction.lower() == "desc"
    )


def _count_extra(items: list) -> dict:
    return {"@odata.count": len(items)} if request.args.get("$count") == "true" else {}


def me() -> ResponseReturnValue:
    require(ME)
    return {"@odata.context": context("users/$entity"), **user_json(g.user)}


def users() -> ResponseReturnValue:
    require(USERS)
    _unsupported_options()
    found = _ordered(_search(state().directory.users))
    return paged([user_json(u) for u in found], "users" + select_suffix(), _count_extra(found))


def user(user_id: str) -> ResponseReturnValue:
    target = state().directory.find_user(user_id)
    # User.Read only reaches your own object; reading others needs a directory permission.
    require(ME if target is g.user else USERS)
    if target is None:
        raise not_found(
            "Request_ResourceNotFound",
            f"Resource '{user_id}' does not exist or one of its queried reference-"
            "property objects are not present.",
        )
    return {"@odata.context": context("users/$entity"), **user_json(target)}


def _photo(target: dict | None) -> Response:
    if target is None or not target.get("photo"):
        raise not_found(
            "ImageNotFound",
            "Exception of type "
            "'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
        )
    return Response(square_png(target["id"]), mimetype="image/png")


def my_photo_value() -> Response:
    require(ME)
    return _photo(g.user)


def user_photo_value(user_id: str) -> Response:
    target = state().directory.find_user(user_id)
    require(ME if target is g.user else USERS)
    return _photo(target)


def my_photo() -> ResponseReturnValue:
    require(ME)
    _photo(g.user)  # 404 when there is none
    return {
        "@odata.context": context("users('me')/photo/$entity"),
        "@odata.mediaContentType": "image/png",
        "id": "64X64",
        "height": 64,
        "width": 64,
    }


def groups() -> ResponseReturnValue:
    require(GROUPS)
    _unsupported_options()
    found = _ordered(_search([group_json(x) for x in state().directory.groups]))
    return paged(found, "groups" + select_suffix(), _count_extra(found))


def _group_or_404(group_id: str) -> dict:
    group = state().directory.find_group(group_id)
    if group is None:
        raise not_found(
            "Request_ResourceNotFound",
            f"Resource '{group_id}' does not exist or one of its queried reference-"
            "property objects are not present.",
        )
    return group


def group(group_id: str) -> ResponseReturnValue:
    require(GROUPS)
    return {"@odata.context": context("groups/$entity"), **group_json(_group_or_404(group_id))}


def group_members(group_id: str) -> ResponseReturnValue:
    require(GROUPS)
    members = [state().directory.find_user(m) for m in _group_or_404(group_id)["member_ids"]]
    value = [{"@odata.type": "#microsoft.graph.user", **user_json(m)} for m in members]
    return paged(value, "directoryObjects")


def member_of() -> ResponseReturnValue:
    require(MEMBER_OF)
    found_groups, roles = state().directory.memberships(g.user["id"])
    value = [{"@odata.type": "#microsoft.graph.group", **group_json(x)} for x in found_groups]
    value += [role_json(r) for r in roles]
    return paged(value, "directoryObjects")


def member_of_groups() -> ResponseReturnValue:
    require(MEMBER_OF)
    found_groups, _ = state().directory.memberships(g.user["id"])
    return paged([group_json(x) for x in found_groups], "groups")


def member_of_roles() -> ResponseReturnValue:
    require(DIRECTORY)
    _, roles = state().directory.memberships(g.user["id"])
    return paged([role_json(r) for r in roles], "directoryRoles")


def organization() -> ResponseReturnValue:
    require(DIRECTORY)
    tenant = state().directory.tenant
    domains = [
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": False,
            "isInitial": True,
            "name": tenant["initialDomain"],
            "type": "Managed",
        },
        {
            "capabilities": "Email",
            "isDefault": True,
            "isInitial": False,
            "name": tenant["defaultDomain"],
            "type": "Managed",
        },
    ]
    org = {
        "id": tenant["id"],
        "displayName": tenant["displayName"],
        "city": tenant["city"],
        "country": tenant["country"],
        "countryLetterCode": tenant["countryLetterCode"],
        "tenantType": "AAD",
        "createdDateTime": "2023-06-01T08:00:00Z",
        "verifiedDomains": domains,
    }
    return {"@odata.context": context("organization"), "value": [org]}


def install(bp: Blueprint) -> None:
    routes = [
        ("/me", me),
        ("/me/photo", my_photo),
        ("/me/photo/$value", my_photo_value),
        ("/users", users),
        ("/users/<user_id>", user),
        ("/users/<user_id>/photo/$value", user_photo_value),
        ("/groups", groups),
        ("/groups/<group_id>", group),
        ("/groups/<group_id>/members", group_members),
        ("/me/memberOf", member_of),
        ("/me/memberOf/microsoft.graph.group", member_of_groups),
        ("/me/memberOf/microsoft.graph.directoryRole", member_of_roles),
        ("/organization", organization),
    ]
    for rule, view in routes:
        bp.add_url_rule(rule, view.__name__, view, methods=["GET"])
