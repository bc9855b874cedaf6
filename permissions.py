"""What each delegated Microsoft Graph permission lets this app show, in the user's words."""

from __future__ import annotations

from collections.abc import Iterable

SCOPE_PURPOSES = {
    "User.Read": "read your profile",
    "User.ReadBasic.All": "read your profile and search people in your organization",
    "Group.Read.All": "list your groups and their members",
    "Directory.AccessAsUser.All": "read your organization's details and your directory roles",
    "Files.Read": "browse the files in your OneDrive",
    "Files.Read.All": "search all the files you can open in OneDrive and SharePoint",
    "Sites.Read.All": "find SharePoint sites and list their document libraries",
}


def describe_scopes(scopes: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of (scope, what it is for) for the scopes given."""
    return [(s, SCOPE_PURPOSES.get(s, "a Microsoft Graph permission")) for s in scopes]
