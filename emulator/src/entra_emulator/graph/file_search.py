"""`POST /search/query` for driveItems, answering as the Microsoft Search API does.

Hits are shaped like the docs' example ([search-concept-files]): `hitId`, `rank`, a
`summary` with `<c0>` highlights, and a `resource` with `name`, `webUrl`,
`parentReference`, `fileSystemInfo`, `createdBy` / `lastModifiedBy`, but no `file` or
`folder` facet and `size` only on some hits, so an app cannot rely on them. SharePoint
pages (`SitePages/*.aspx`) and folders come back as driveItems too.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import g, request
from flask.typing import ResponseReturnValue

from ..directory import CREATED, Drive, DriveItem, drive_id_for, fold, item_id_for
from ..parsing import json_int
from .common import ALL_FILES, bad_request, require, state

MAX_SEARCH_SIZE = 500
# The seeded sites' news pages; any other site has a home page only.
SITE_PAGES = {
    "marketing": [("Spring campaign kickoff.aspx", "2024-03-01T09:00:00Z")],
    "engineering": [("Quarterly engineering update.aspx", "2024-10-07T08:30:00Z")],
    "finance": [("Budget planning FAQ.aspx", "2024-11-04T12:00:00Z")],
}


@dataclass(frozen=True)
class Document:
    """One entry of the search index: a drive item or a site page."""

    id: str
    name: str
    web_url: str
    modified: str
    site_id: str
    drive_id: str
    parent_id: str
    author: str
    is_file: bool


def search_query() -> ResponseReturnValue:
    require(ALL_FILES)
    body = request.get_json(silent=True) or {}
    requests_ = body.get("requests")
    if not isinstance(requests_, list) or not requests_:
        raise bad_request("Requests must contain at least one request.")
    if len(requests_) > 1:  # search-api-overview: one request per call
        raise bad_request("Only one search request is supported per call.")
    return {"value": [_search_one(requests_[0])]}


def _search_one(search: dict) -> dict:
    if search.get("entityTypes") != ["driveItem"]:
        raise bad_request("The emulator searches entityTypes ['driveItem'] only.")
    query = (search.get("query") or {}).get("queryString")
    if not isinstance(query, str) or not query.strip():
        raise bad_request("Query string must be provided.")
    start, size = json_int(search.get("from", 0)), json_int(search.get("size", 25))
    if start is None or size is None:
        raise bad_request("'from' and 'size' must be integers.")
    if start < 0 or not 1 <= size <= MAX_SEARCH_SIZE:
        raise bad_request("'from' must be >= 0 and 'size' between 1 and 500.")
    terms = [fold(t.strip('"*')) for t in query.split() if t.strip('"*')]
    matches = [d for d in _index() if all(_has_word_starting(d.name, t) for t in terms)]
    matches.sort(key=lambda d: d.modified, reverse=True)
    hits = [
        {
            "hitId": doc.id,
            "rank": start + n + 1,
            "summary": _summary(doc.name, terms),
            "resource": _resource(doc),
        }
        for n, doc in enumerate(matches[start : start + size])
    ]
    container = {
        "hits": hits,
        "total": len(matches),
        "moreResultsAvailable": start + size < len(matches),
    }
    return {"searchTerms": terms, "hitsContainers": [container]}


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", name) if w]


def _has_word_starting(name: str, term: str) -> bool:
    """Search matches whole words (by prefix here), not text inside them."""
    return any(fold(word).startswith(term) for word in _words(name))


def _summary(name: str, terms: list[str]) -> str:
    """The name with matching words in <c0> tags, as a hit's summary marks them."""

    def mark(match: re.Match) -> str:
        word = match.group(0)
        return f"<c0>{word}</c0>" if any(fold(word).startswith(t) for t in terms) else word

    return re.sub(r"[^\W_]+", mark, name) + " <ddd/>"


def _index() -> list[Document]:
    """What the caller can find: their OneDrive, every site's libraries and pages."""
    directory = state().directory
    drives = [directory.onedrive_of(g.user["id"])]
    drives += [d for d in directory.drives.values() if d.site_id]
    docs = [
        _from_item(item, drive)
        for drive in drives
        for item in directory.items.values()
        if item.drive_id == drive.id and item.parent_id
    ]
    for site in directory.sites:
        docs += site_pages(site)
    return docs


def _from_item(item: DriveItem, drive: Drive) -> Document:
    owner = drive.owner.get("user") or drive.owner.get("group") or {}
    return Document(
        id=item.id,
        name=item.name,
        web_url=item.web_url,
        modified=item.modified,
        site_id=drive.site_id or _personal_site(drive),
        drive_id=drive.id,
        parent_id=item.parent_id or "",
        author=owner.get("displayName", ""),
        is_file=not item.is_folder,
    )


def site_pages(site: dict) -> list[Document]:
    pages = [("Home.aspx", CREATED), *SITE_PAGES.get(site["name"], [])]
    seed = f"site:{site['name']}:Site Pages"
    return [
        Document(
            id=item_id_for(f"{seed}:{name}"),
            name=name,
            web_url=f"{site['webUrl']}/SitePages/{quote(name)}",
            modified=modified,
            site_id=site["id"],
            drive_id=drive_id_for(seed),
            parent_id=item_id_for(f"{seed}:root"),
            author=f"{site['displayName']} Owners",
            is_file=True,
        )
        for name, modified in pages
    ]


def _personal_site(drive: Drive) -> str:
    """A OneDrive is a personal site in SharePoint; search reports that site's id."""
    host = urlsplit(drive.web_url).hostname
    site_guid = uuid.uuid5(uuid.NAMESPACE_URL, drive.web_url)
    web_guid = uuid.uuid5(uuid.NAMESPACE_URL, drive.id)
    return f"{host},{site_guid},{web_guid}"


def _resource(doc: Document) -> dict:
    editor = {"user": {"displayName": doc.author}}
    resource = {
        "@odata.type": "#microsoft.graph.driveItem",
        "createdDateTime": CREATED,
        "lastModifiedDateTime": doc.modified,
        "id": doc.id,
        "name": doc.name,
        "webUrl": state().bases.web_url(doc.web_url),
        "createdBy": editor,
        "lastModifiedBy": editor,
        "parentReference": {"siteId": doc.site_id, "driveId": doc.drive_id, "id": doc.parent_id},
        "fileSystemInfo": {"createdDateTime": CREATED, "lastModifiedDateTime": doc.modified},
    }
    if doc.is_file and not doc.name.endswith(".aspx") and _reports_size(doc):
        resource["size"] = state().directory.items[doc.id].size
    return resource


def _reports_size(doc: Document) -> bool:
    """About half the file hits carry `size` (fixed per item): it is not guaranteed."""
    return hashlib.sha256(doc.id.encode()).digest()[0] % 2 == 0
