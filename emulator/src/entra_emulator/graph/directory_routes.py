"""Graph directory routes: users, photos, groups, memberships and the organization."""

from __future__ import annotations

from flask import Blueprint, Response, g, request
from flask.typing import ResponseReturnValue

from ..accounts import graph_id, is_guest, is_personal
from ..directory import fold
from ..images import LARGEST_PHOTO, PHOTO_SIZES, colour_for, photo_png
from . import search_syntax
from .common import (
    DIRECTORY,
    GROUPS,
    ME,
    MEMBER_OF,
    USERS,
    GraphError,
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
# What User.ReadBasic.All reads of other people (resources/users); the rest comes back null.
BASIC_PROFILE = {"displayName", "givenName", "surname", "mail", "userPrincipalName", "id"}
# Permissions that read every property of other users.
FULL_PROFILE = {"User.Read.All", "Directory.Read.All", "Directory.AccessAsUser.All"}
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
    """A user as Graph returns it by default (department only with $select), with only the
    basic profile when the token may not read all of it, even for $select'ed properties."""
    full = _reads_full_profile(user)
    body = {k: user.get(k) if full or k in BASIC_PROFILE else None for k in USER_ALL}
    body["id"] = graph_id(user)
    if request.args.get("$select"):
        return select(body, USER_ALL, "user")
    return {k: body[k] for k in USER_DEFAULT}


def _reads_full_profile(user: dict) -> bool:
    # Each permission that reads /me reads all of it ("the full profile of the signed-in
    # user", User.ReadBasic.All included); other people's need a full-profile permission.
    return bool((set(ME) if user is g.user else FULL_PROFILE) & g.scopes)


def _organization_only(guests: bool = True) -> None:
    """Directory APIs are "Not supported" for personal Microsoft accounts, and guests
    (guests=False) cannot list users or groups, whatever the app was granted."""
    if is_personal(g.user) or (not guests and is_guest(g.user)):
        raise GraphError(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )


def _member(user_id: str) -> dict | None:
    """A user of the organization's directory; personal accounts are not in it."""
    found = state().directory.find_user(user_id)
    return None if found is None or is_personal(found) else found


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
    _organization_only(guests=False)
    _unsupported_options()
    found = _ordered(_search(state().directory.users))
    return paged([user_json(u) for u in found], "users" + select_suffix(), _count_extra(found))


def user(user_id: str) -> ResponseReturnValue:
    target = g.user if user_id in (g.user["id"], graph_id(g.user)) else _member(user_id)
    # User.Read only reaches your own object; reading others needs a directory permission.
    require(ME if target is g.user else USERS)
    if target is not g.user:
        _organization_only()
    if target is None:
        raise not_found(
            "Request_ResourceNotFound",
            f"Resource '{user_id}' does not exist or one of its queried reference-"
            "property objects are not present.",
        )
    return {"@odata.context": context("users/$entity"), **user_json(target)}


def _photo(target: dict | None, size: str | None = None) -> Response:
    """The photo at one of Graph's sizes ("48x48"), the largest without one; 404 without."""
    pixels = _photo_pixels(size)
    if target is None or not target.get("photo") or pixels is None:
        raise not_found(
            "ImageNotFound",
            "Exception of type "
            "'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
        )
    accounts = state().directory.accounts
    position = next(n for n, u in enumerate(accounts) if u["id"] == target["id"])
    png = photo_png(target["displayName"], colour_for(position), pixels)
    return Response(png, mimetype="image/png")


def _photo_pixels(size: str | None) -> int | None:
    if size is None:
        return LARGEST_PHOTO
    width, _, height = size.lower().partition("x")
    known = {str(p) for p in PHOTO_SIZES}
    return int(width) if width == height and width in known else None


def my_photo_value(size: str | None = None) -> Response:
    require(ME)
    return _photo(g.user, size)


def user_photo_value(user_id: str, size: str | None = None) -> Response:
    target = g.user if user_id in (g.user["id"], graph_id(g.user)) else _member(user_id)
    require(ME if target is g.user else USERS)
    if target is not g.user:
        _organization_only()
    return _photo(target, size)


def my_photo() -> ResponseReturnValue:
    require(ME)
    _photo(g.user)  # 404 when there is none
    return {
        "@odata.context": context("users('me')/photo/$entity"),
        "@odata.mediaContentType": "image/png",
        "id": f"{LARGEST_PHOTO}X{LARGEST_PHOTO}",
        "height": LARGEST_PHOTO,
        "width": LARGEST_PHOTO,
    }


def groups() -> ResponseReturnValue:
    require(GROUPS)
    _organization_only(guests=False)
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
    _organization_only()
    return {"@odata.context": context("groups/$entity"), **group_json(_group_or_404(group_id))}


def group_members(group_id: str) -> ResponseReturnValue:
    require(GROUPS)
    _organization_only()
    members = [state().directory.find_user(m) for m in _group_or_404(group_id)["member_ids"]]
    return paged([_member_json(m) for m in members], "directoryObjects")


def _member_json(member: dict) -> dict:
    """Members the token may not read at all come back with only their type and id."""
    if not (set(USERS) & g.scopes):
        return {"@odata.type": "#microsoft.graph.user", "id": graph_id(member)}
    return {"@odata.type": "#microsoft.graph.user", **user_json(member)}


def member_of() -> ResponseReturnValue:
    require(MEMBER_OF)
    _organization_only()
    found_groups, roles = state().directory.memberships(g.user["id"])
    value = [{"@odata.type": "#microsoft.graph.group", **group_json(x)} for x in found_groups]
    value += [role_json(r) for r in roles]
    return paged(value, "directoryObjects")


def member_of_groups() -> ResponseReturnValue:
    require(MEMBER_OF)
    _organization_only()
    found_groups, _ = state().directory.memberships(g.user["id"])
    return paged([group_json(x) for x in found_groups], "groups")


def member_of_roles() -> ResponseReturnValue:
    require(DIRECTORY)
    _organization_only()
    _, roles = state().directory.memberships(g.user["id"])
    return paged([role_json(r) for r in roles], "directoryRoles")


def organization() -> ResponseReturnValue:
    require(DIRECTORY)
    _organization_only()
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
        ("/me/photos/<size>/$value", my_photo_value),
        ("/users/<user_id>/photos/<size>/$value", user_photo_value),
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
