"""People's photos kept in this process's memory, so a page of faces costs Graph nothing twice.

A photo (or the 404 that says someone has none) is asked of Graph at most once per `period`
per process; after that it is revalidated with its ETag (Graph's 304 keeps the bytes) or, when
Graph sent none, fetched again. The cache is an LRU bounded by entries and by bytes.

Entries are keyed by the signed-in user's tenant, so two tenants never share one. A kept photo
is served without Graph (and without a token) only to a *reader* Graph itself has answered a
photo request for within the period: a reader is a signed-in account with the page's
permission, and an answer that is about the reader rather than the photo (403) both keeps
nothing and withdraws them. Nothing here knows Flask: the caller says who is asking.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from .models import Photo

# A changed photo shows within this long; and a reader whose consent was withdrawn stops being
# served within it, sooner than the access token Graph answered them for expires (about 1 h).
PERIOD = 15 * 60
MAX_ENTRIES = 64
MAX_BYTES = 4 * 1024 * 1024
MAX_READERS = 1024


@dataclass(frozen=True)
class PhotoAnswer:
    """What Graph said to one photo request."""

    photo: Photo | None  # None: no photo to show (404, or not a raster image)
    etag: str | None = None
    # 304 to If-None-Match: the copy kept is current.
    not_modified: bool = False
    # False when the answer is about the reader (a 403), not the photo: kept for nobody.
    about_photo: bool = True


@dataclass(frozen=True)
class Cached:
    """A kept answer: a photo, or that the person has none (photo None)."""

    photo: Photo | None


@dataclass
class _Entry:
    photo: Photo | None
    etag: str | None
    checked_at: float

    @property
    def size(self) -> int:
        return len(self.photo.data) if self.photo else 0


class PhotoCache:
    """An LRU of photos by key (tenant, person) and of the readers Graph answered. Thread-safe."""

    def __init__(
        self,
        *,
        period: float = PERIOD,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        max_readers: int = MAX_READERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._period = period
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._max_readers = max_readers
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._readers: OrderedDict[Hashable, float] = OrderedDict()
        self._bytes = 0

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: Hashable, reader: Hashable) -> Cached | None:
        """The kept answer for `key`, if it and `reader`'s last answer from Graph are both
        within the period; else None, and the caller asks Graph (fetch)."""
        now = self._clock()
        with self._lock:
            answered = self._readers.get(reader)
            entry = self._entries.get(key)
            if answered is None or entry is None:
                return None
            if now - answered >= self._period or now - entry.checked_at >= self._period:
                return None
            self._entries.move_to_end(key)
            return Cached(entry.photo)

    def fetch(
        self, key: Hashable, reader: Hashable, ask: Callable[[str | None], PhotoAnswer]
    ) -> Photo | None:
        """Ask Graph through `ask(etag)` (the kept copy's ETag, if any), keep what it says."""
        with self._lock:
            kept = self._entries.get(key)
        answer = ask(kept.etag if kept else None)
        now = self._clock()
        with self._lock:
            if not answer.about_photo:
                self._readers.pop(reader, None)
                return answer.photo
            self._readers[reader] = now
            self._readers.move_to_end(reader)
            while len(self._readers) > self._max_readers:
                self._readers.popitem(last=False)
            if answer.not_modified:
                if kept is None:  # a 304 to a request without If-None-Match: keep nothing
                    return None
                photo, etag = kept.photo, answer.etag or kept.etag
            else:
                photo, etag = answer.photo, answer.etag
            self._keep(key, _Entry(photo, etag, now))
            return photo

    def _keep(self, key: Hashable, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        if entry.size > self._max_bytes:
            return  # larger than the whole cache: served, not kept
        self._entries[key] = entry
        self._bytes += entry.size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size
