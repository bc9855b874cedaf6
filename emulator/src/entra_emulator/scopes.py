"""Scope parsing: which requested scopes are OIDC scopes and which are Graph permissions."""

from __future__ import annotations

from dataclasses import dataclass

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

# What the consent page says for each permission, in the user's words.
DESCRIPTIONS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
    "User.Read": "Sign you in and read your profile",
    "User.ReadBasic.All": "Read all users' basic profiles",
    "User.Read.All": "Read all users' full profiles",
    "Group.Read.All": "Read all groups",
    "GroupMember.Read.All": "Read group memberships",
    "Directory.AccessAsUser.All": "Access the directory as you",
    "Directory.Read.All": "Read directory data",
    "Files.Read": "Read your files",
    "Files.Read.All": "Read all files that you can access",
    "Sites.Read.All": "Read items in all site collections",
}
GRAPH_PERMISSIONS = frozenset(k for k in DESCRIPTIONS if k not in OIDC_SCOPES)
# "Admin consent required: Yes" for the delegated permission (permissions reference).
ADMIN_CONSENT_REQUIRED = frozenset(
    {
        "User.Read.All",
        "Group.Read.All",
        "GroupMember.Read.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    }
)
# The ones personal Microsoft accounts can have; every other one is organization-only.
PERSONAL_ACCOUNT_PERMISSIONS = frozenset({"User.Read", "Files.Read"})
_GRAPH_PREFIXES = (GRAPH_RESOURCE + "/", "https://graph.microsoft.com//", GRAPH_APP_ID + "/")


class ScopeError(ValueError):
    """A scope the emulated tenant cannot grant (AADSTS70011)."""


@dataclass(frozen=True)
class RequestedScopes:
    graph: frozenset[str]  # short permission names, e.g. "Files.Read"
    oidc: frozenset[str]
    default: bool = False  # ".default": whatever the user already consented

    def all_for_consent(self) -> list[str]:
        return sorted(self.oidc) + sorted(self.graph)


def parse_scopes(raw: str) -> RequestedScopes:
    """Split a space-separated scope string; qualified and unqualified Graph scopes are equal."""
    graph, oidc, default = set(), set(), False
    for scope in raw.split():
        if scope in OIDC_SCOPES:
            oidc.add(scope)
            continue
        short = scope
        for prefix in _GRAPH_PREFIXES:
            if scope.lower().startswith(prefix.lower()):
                short = scope[len(prefix) :]
                break
        if short == ".default":
            default = True
            continue
        match = next((p for p in GRAPH_PERMISSIONS if p.lower() == short.lower()), None)
        if match is None:
            raise ScopeError(
                f"AADSTS70011: The provided request must include a 'scope' input parameter. "
                f"The provided value for the input parameter 'scope' is not valid. "
                f"The scope '{scope}' does not exist."
            )
        graph.add(match)
    return RequestedScopes(frozenset(graph), frozenset(oidc), default)


def organization_only(scopes: RequestedScopes) -> list[str]:
    """The requested permissions a personal Microsoft account cannot have."""
    return sorted(scopes.graph - PERSONAL_ACCOUNT_PERMISSIONS)


def personal_account_scope_error(raw: str) -> ScopeError:
    """What Entra answers a personal account that asks for an organization-only scope."""
    return ScopeError(
        "AADSTS70011: The provided value for the input parameter 'scope' is not valid. "
        f"The scope '{raw}' is not valid."
    )
