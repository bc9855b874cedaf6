"""What the pages show, as small typed records: no Graph JSON reaches a template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ResultPage(Generic[T]):
    """One page of a list, and an opaque cursor for the next one (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None


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
class DriveItem:
    name: str
    is_folder: bool
    size: int | None = None
    modified: str = ""
    web_url: str | None = None
    download_url: str | None = None
    child_count: int | None = None
    # The folder path inside the user's OneDrive, for folders the app can open; else None.
    folder_path: str | None = None


@dataclass(frozen=True)
class FileSearchResults:
    hits: list[DriveItem]
    total: int = 0
    start: int = 0
    next_start: int | None = None


@dataclass(frozen=True)
class Site:
    id: str
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Library:
    name: str | None
    description: str | None = None
    web_url: str | None = None


@dataclass(frozen=True)
class SiteLibraries:
    display_name: str | None
    description: str | None
    libraries: list[Library]
