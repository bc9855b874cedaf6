"""What an app registration's token configuration adds to its ID tokens about the user:
app roles (`roles`), groups (`groups`, or the overage claims past 200) and directory roles
(`wids`), as Entra emits them (id-token-claims-reference, access-token-claims-reference,
reference-app-manifest "groupMembershipClaims").

Only the ID token: access tokens are built from the resource's registration (optional
claims "apply to access tokens requested for the application"), and the emulator only
issues Graph's, which carry Graph's roles, never this app's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # directory.py checks the demo registration with this module
    from .directory import Directory

# JWTs name at most 200 groups; past that, Entra points at an endpoint instead.
GROUPS_LIMIT = 200
MEMBERSHIP_OPTIONS = ("None", "SecurityGroup", "DirectoryRole", "ApplicationGroup", "All")


def membership_options(client: dict) -> set[str]:
    """The manifest's groupMembershipClaims, which may combine values with commas
    ("SecurityGroup, DirectoryRole"); "None" or absent means no group claims."""
    raw = client.get("groupMembershipClaims") or "None"
    options = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(options - set(MEMBERSHIP_OPTIONS))
    if unknown:
        raise ValueError(
            f"groupMembershipClaims: unknown value {', '.join(unknown)} "
            f"(one or more of {', '.join(MEMBERSHIP_OPTIONS)})"
        )
    return options - {"None"}


def check_registration(directory: Directory, client: dict) -> None:
    """Raise ValueError for a registration whose roles or assignments do not add up."""
    membership_options(client)
    values = {role.get("value") for role in client.get("appRoles", [])}
    for assignment in client.get("appRoleAssignments", []):
        if assignment.get("appRole") not in values:
            raise ValueError(f"no app role {assignment.get('appRole')!r} on this app")
        _principal(directory, assignment.get("principal", ""))


def _principal(directory: Directory, key: str) -> tuple[str, str]:
    """("user" | "group", object id) for a UPN, user id, group display name or group id."""
    user = directory.find_user(key)
    if user is not None:
        return "user", user["id"]
    group = next((g for g in directory.groups if key in (g["displayName"], g["id"])), None)
    if group is None:
        raise ValueError(f"app role assignment: no user or group {key!r}")
    return "group", group["id"]


def _assigned(directory: Directory, client: dict) -> list[tuple[str, str, str]]:
    """(role value, principal kind, principal id) for each assignment."""
    return [
        (a["appRole"], *_principal(directory, a["principal"]))
        for a in client.get("appRoleAssignments", [])
    ]


def app_roles(directory: Directory, client: dict, user_id: str) -> list[str]:
    """Values of the enabled user roles assigned to the user or to a group the user is a
    direct member of (assignments to a group do not reach nested groups' members)."""
    direct_groups = {g["id"] for g in directory.groups if user_id in g["member_ids"]}
    enabled = {
        r["value"]
        for r in client.get("appRoles", [])
        if r.get("isEnabled", True) and r.get("value") and "User" in r["allowedMemberTypes"]
    }
    granted = {
        role
        for role, kind, principal in _assigned(directory, client)
        if principal == user_id or (kind == "group" and principal in direct_groups)
    }
    return [r["value"] for r in client.get("appRoles", []) if r.get("value") in enabled & granted]


def _groups_for_token(directory: Directory, client: dict, user_id: str) -> list[str]:
    options = membership_options(client)
    groups = directory.transitive_groups(user_id)  # nested groups count, as in Entra
    if "All" in options:
        return [g["id"] for g in groups]
    chosen = set()
    if "SecurityGroup" in options:
        chosen |= {g["id"] for g in groups if g.get("security_only")}
    if "ApplicationGroup" in options:
        assigned = {p for _, kind, p in _assigned(directory, client) if kind == "group"}
        chosen |= {g["id"] for g in groups if g["id"] in assigned}
    return [g["id"] for g in groups if g["id"] in chosen]


def id_token_claims(directory: Directory, client: dict, user: dict) -> dict:
    """`roles`, `groups` (or `_claim_names`/`_claim_sources` past the limit) and `wids`;
    a claim is left out when it would be empty, as Entra does."""
    claims: dict = {}
    roles = app_roles(directory, client, user["id"])
    if roles:
        claims["roles"] = roles
    groups = _groups_for_token(directory, client, user["id"])
    if len(groups) > GROUPS_LIMIT:
        # The documented overage shape; the endpoint is the legacy Azure AD Graph one, as
        # Entra still sends it: apps should call Microsoft Graph instead.
        claims["_claim_names"] = {"groups": "src1"}
        claims["_claim_sources"] = {
            "src1": {
                "endpoint": (
                    f"https://graph.windows.net/{user['tenant_id']}/users/{user['id']}"
                    "/getMemberObjects"
                )
            }
        }
    elif groups:
        claims["groups"] = groups
    if membership_options(client) & {"All", "DirectoryRole"}:
        _, roles_held = directory.memberships(user["id"])
        wids = [r["roleTemplateId"] for r in roles_held]
        if wids:
            claims["wids"] = wids
    return claims
