"""What each webUrl Graph hands out stands for: sites, libraries, OneDrives, folders, files.

The emulator serves a small page at every one of them (web_pages.py). Pages are found by
the real service's URL (https://contoso.sharepoint.com/sites/...), whatever origin serves
them, so a webUrl keeps SharePoint's shape and the app learns nothing of the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .directory import CREATED, Directory, Drive, DriveItem
from .graph.file_search import site_pages

# What SharePoint calls a file, by extension; anything else is a "File".
FILE_KINDS = {
    ".docx": "Word document",
    ".xlsx": "Excel workbook",
    ".pptx": "PowerPoint presentation",
    ".pdf": "PDF document",
    ".png": "Image",
    ".txt": "Text document",
    ".md": "Markdown document",
    ".aspx": "Site page",
}


@dataclass(frozen=True)
class Link:
    name: str
    url: str  # where the emulator serves it


@dataclass(frozen=True)
class Entry:
    """One row of a listing: a library, page, folder or file inside what the page shows."""

    link: Link
    kind: str
    modified: str
    size: str


@dataclass(frozen=True)
class Section:
    title: str
    entries: list[Entry]


@dataclass
class WebPage:
    product: str  # "SharePoint" or "OneDrive", as the real page's header says
    name: str
    kind: str
    facts: list[tuple[str, str]]  # (label, value) as the real page's details pane has them
    trail: list[Link] = field(default_factory=list)  # from the site or OneDrive to the parent
    sections: list[Section] = field(default_factory=list)  # listings: a folder's contents
    description: str = ""

    @property
    def parent(self) -> Link | None:
        return self.trail[-1] if self.trail else None


def page_key(origin: str, path: str, query: str = "") -> str:
    """How a URL is looked up: decoded path, no trailing slash, case-blind as SharePoint is."""
    key = origin.lower() + unquote(path).rstrip("/")
    return (key + "?" + query if query else key).casefold()


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    return page_key(f"{parts.scheme}://{parts.netloc}", parts.path, parts.query)


def build_index(directory: Directory, served: Callable[[str], str]) -> dict[str, WebPage]:
    """Every page the tenant's webUrls lead to, by page_key of the real service's URL;
    SERVED turns such a URL into the one the emulator answers (for the pages' links)."""
    return _Index(directory, served).pages


class _Index:
    def __init__(self, directory: Directory, served: Callable[[str], str]) -> None:
        self.directory, self.served = directory, served
        self.pages: dict[str, WebPage] = {}
        for site in directory.sites:
            self._add_site(site)
        for drive in directory.drives.values():
            self._add_drive(drive)

    def _link(self, name: str, real_url: str) -> Link:
        return Link(name, self.served(real_url))

    def _add(self, real_url: str, page: WebPage) -> None:
        self.pages[_url_key(real_url)] = page

    def _add_site(self, site: dict) -> None:
        name = site["displayName"]
        libraries = [
            Entry(self._link(d.name, d.web_url), "Document library", when(CREATED), self._size(d))
            for d in self.directory.site_drives(site["id"])
        ]
        news = [
            Entry(self._link(_page_title(p.name), p.web_url), "Site page", when(p.modified), "")
            for p in site_pages(site)
        ]
        self._add(
            site["webUrl"],
            WebPage(
                product="SharePoint",
                name=name,
                kind="Team site",
                facts=[("Owners", f"{name} Owners"), ("Created", when(CREATED))],
                sections=[Section("Document libraries", libraries), Section("Pages", news)],
                description=site["description"],
            ),
        )
        for page in site_pages(site):
            self._add(
                page.web_url,
                WebPage(
                    product="SharePoint",
                    name=_page_title(page.name),
                    kind="Site page",
                    facts=[("Site", name), ("Modified", when(page.modified))],
                    trail=[self._link(name, site["webUrl"])],
                    description=f"A page of the {name} site.",
                ),
            )

    def _add_drive(self, drive: Drive) -> None:
        site = self.directory.find_site(drive.site_id) if drive.site_id else None
        trail = [self._link(site["displayName"], site["webUrl"])] if site else []
        root = self.directory.items[drive.root_id]
        is_onedrive = drive.user_id is not None
        self._add(
            drive.web_url,
            WebPage(
                product=_product(drive),
                name=_drive_label(drive),
                kind="OneDrive" if is_onedrive else "Document library",
                facts=[("Owner", _owner(drive)), ("Items", str(len(root.children)))],
                trail=trail,
                sections=[Section("Contents", self._entries(root))],
                description=f"The files of {_owner(drive)}." if is_onedrive else "",
            ),
        )
        self._add_items(drive, root, [*trail, self._link(_drive_label(drive), drive.web_url)])

    def _add_items(self, drive: Drive, folder: DriveItem, trail: list[Link]) -> None:
        for child_id in folder.children:
            item = self.directory.items[child_id]
            facts = [
                ("Owner", _owner(drive)),
                ("Modified", when(item.modified)),
                ("Size", file_size(item.size)),
            ]
            if item.is_folder:
                facts.insert(0, ("Items", str(len(item.children))))
            self._add(
                item.web_url,
                WebPage(
                    product=_product(drive),
                    name=item.name,
                    kind=_kind(item),
                    facts=facts,
                    trail=trail,
                    sections=[Section("Contents", self._entries(item))] if item.is_folder else [],
                ),
            )
            if item.is_folder:
                self._add_items(drive, item, [*trail, self._link(item.name, item.web_url)])

    def _size(self, drive: Drive) -> str:
        root = self.directory.items[drive.root_id]
        return file_size(sum(self.directory.items[c].size for c in root.children))

    def _entries(self, folder: DriveItem) -> list[Entry]:
        children = [self.directory.items[c] for c in folder.children]
        children.sort(key=lambda i: (not i.is_folder, i.name.casefold()))  # folders first
        return [
            Entry(self._link(i.name, i.web_url), _kind(i), when(i.modified), file_size(i.size))
            for i in children
        ]


def _page_title(file_name: str) -> str:
    return file_name.removesuffix(".aspx")


def _product(drive: Drive) -> str:
    return "OneDrive" if drive.user_id else "SharePoint"


def _drive_label(drive: Drive) -> str:
    return "My files" if drive.user_id else drive.name


def _owner(drive: Drive) -> str:
    return (drive.owner.get("user") or drive.owner.get("group") or {}).get("displayName", "")


def _kind(item: DriveItem) -> str:
    if item.is_folder:
        return "Folder"
    return FILE_KINDS.get(Path(item.name).suffix.lower(), "File")


def when(timestamp: str) -> str:
    """An ISO 8601 UTC time as a person reads it: 2 October 2024, 09:14 UTC."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def file_size(size: int) -> str:
    """Bytes as SharePoint shows them (1 KB = 1024 bytes)."""
    if size < 1024:
        return f"{size} bytes"
    value, units = size / 1024, ["KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"
