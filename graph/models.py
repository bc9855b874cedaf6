"""What the pages show, as small typed records: no Graph JSON reaches a template."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ResultPage(Generic[T]):
    """One page of a list, its number, and opaque cursors for the pages beside it.

    `next_cursor` is None on the last page; `previous_cursor` is None for the first page
    (the page before, when `number` is 2; else the list's start, see graph/paging.py).
    """

    items: list[T]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    number: int = 1


@dataclass(frozen=True)
class Profile:
    id: str
    display_name: str | None = None
    job_title: str | None = None
    department: str | None = None
    mail: str | None = None
    user_principal_name: str | None = None
    business_phones: tuple[str, ...] = ()
    mobile_phone: str | None = None
    office_location: str | None = None
    preferred_language: str | None = None


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str

    @cached_property
    def digest(self) -> str:
        """The browser's ETag for it: computed once, however often a kept photo is served."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Person:
    """Someone else, from their basic profile (what User.ReadBasic.All returns)."""

    id: str
    display_name: str | None = None
    mail: str | None = None
    user_principal_name: str | None = None


@dataclass(frozen=True)
class Group:
    id: str
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class GroupMembers:
    display_name: str | None
    members: ResultPage[Person]


@dataclass(frozen=True)
class Domain:
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class DirectoryRole:
    display_name: str | None
    description: str | None = None


@dataclass(frozen=True)
class Organization:
    display_name: str | None
    verified_domains: list[Domain] = field(default_factory=list)
    roles: list[DirectoryRole] = field(default_factory=list)


@dataclass(frozen=True)
class ItemLocation:
    """Where a search hit lives: a site or a OneDrive, and the folders inside it."""

    place: str  # the site's name in its address, or "OneDrive"
    folders: tuple[str, ...] = ()
    site_id: str | None = None  # for a link to the site's page


@dataclass(frozen=True)
class DriveItem:
    name: str
    is_folder: bool
    size: int | None = None
    modified: str = ""
    web_url: str | None = None
    download_url: str | None = None
    child_count: int | None = None
    # The folder path inside its drive, for folders the app can open by path; else None.
    folder_path: str | None = None
    # The drive it is in, when that is not the user's own OneDrive (My files).
    drive_id: str | None = None
    item_id: str | None = None
    location: ItemLocation | None = None


@dataclass(frozen=True)
class FileSearchResults:
    """One page of search hits; the cursors are the first hit's index of the pages beside."""

    hits: list[DriveItem]
    total: int = 0
    start: int = 0
    number: int = 1
    next_cursor: str | None = None
    previous_cursor: str | None = None


@dataclass(frozen=True)
class ItemTarget:
    """What opening a drive item leads to: its folder in the app, or its content."""

    folder_path: str | None = None
    download_url: str | None = None
    web_url: str | None = None


@dataclass(frozen=True)
class Site:
    id: str
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Library:
    """A document library (or a OneDrive): a drive."""

    name: str | None
    description: str | None = None
    web_url: str | None = None
    id: str | None = None  # None when Graph sent no usable id: not browsable here
    owner: str | None = None


@dataclass(frozen=True)
class LibraryFolder:
    library: Library
    items: ResultPage[DriveItem]


@dataclass(frozen=True)
class SiteLibraries:
    display_name: str | None
    description: str | None
    libraries: list[Library]
