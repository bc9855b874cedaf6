"""What the navigation offers: the pages, what each shows and needs, and which is current."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app, g

import auth


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: str
    icon: str  # static/icons/<icon>.svg
    summary: str  # what the page shows, on its tile on the home page
    scopes: tuple[str, ...] = ()  # the delegated permissions it needs (filled per request)


# The pages the navigation offers, in order.
NAV_LINKS = (
    NavLink("main.graphcall", "Profile", "profile", "Your name, job, contact details and photo."),
    NavLink("directory.people", "People", "people", "Find anyone in your organization."),
    NavLink("directory.groups", "Groups", "groups", "The groups you belong to and their members."),
    NavLink(
        "directory.organization",
        "Directory",
        "directory",
        "Your organization's domains and your directory roles.",
    ),
    NavLink("files.my_files", "My files", "files", "The folders and files in your OneDrive."),
    NavLink("files.search", "File search", "search", "Search every file you can open."),
    NavLink("files.sites", "Sites", "sites", "SharePoint sites and their document libraries."),
    NavLink("enterprise.reports", "Reports", "reports", "For people with the Reports.Reader role."),
    NavLink("enterprise.finance", "Finance", "finance", "For members of the finance group."),
)
# Pages below an entry of the navigation, which shows that entry as the current section.
SECTION_OF = {"directory.group_members": "directory.groups", "files.site": "files.sites"}


def navigation_context(endpoint: str | None) -> dict:
    """`nav_links` this user can open, and `nav_section`: the entry to show as current."""
    # Personal accounts are offered only the pages they can use (they have no directory),
    # and role and group pages only to those who may open them. Finance may be switched off.
    links = [
        replace(link, scopes=auth.current_page_scopes(link.endpoint))
        for link in NAV_LINKS
        if link.endpoint in current_app.view_functions
        and (not g.get("user") or auth.can_open(link.endpoint))
    ]
    return {"nav_links": links, "nav_section": SECTION_OF.get(endpoint or "", endpoint)}
