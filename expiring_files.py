"""Pending sign-ins on disk, in folders that are deleted whole once they expire.

cachelib's FileSystemCache deletes expired files only once it holds more than its
threshold, and from then on reads every file in the folder on every write: a flood of
sign-ins leaves its files behind and then slows every write for everyone. Here a file
goes into a folder named for the slice of time in which it expires (a tenth of the
longest timeout), and every write first deletes the folders whose slice has passed.
A write or a lookup touches at most a dozen paths however many files there are, and
each file is deleted once, with its folder: the cost of a sign-in stays flat.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cachelib import BaseCache

log = logging.getLogger(__name__)
SLICES = 10


class ExpiringFileCache(BaseCache):
    """A cachelib store of JSON values whose timeouts are at most `max_timeout` seconds.

    As cachelib's stores do, a failed write returns False (the app then answers with
    its "temporarily unavailable" page) and a failed read returns None.
    """

    def __init__(self, directory: str, max_timeout: int) -> None:
        super().__init__(default_timeout=max_timeout)
        self.directory = Path(directory)
        self.max_timeout = max_timeout
        self.slice_seconds = max(1, math.ceil(max_timeout / SLICES))

    def get(self, key: str) -> Any:
        for path in self._paths(key):
            try:
                expires_at, value = json.loads(path.read_bytes())
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                log.warning("cannot read pending sign-in file %s: %s", path.name, _why(exc))
                return None
            return value if expires_at > time.time() else None
        return None

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        timeout = self._normalize_timeout(timeout)
        if not 0 < timeout <= self.max_timeout:
            raise ValueError(f"timeout must be from 1 to {self.max_timeout} seconds")
        now = time.time()
        expires_at = now + timeout
        folder = self.directory / str(math.ceil(expires_at / self.slice_seconds))
        target = folder / _filename(key)
        try:
            self._delete_expired_slices(now)
            folder.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed, so a reader never sees half a file.
            fd, temporary = tempfile.mkstemp(dir=folder, prefix=".")
            with os.fdopen(fd, "w") as file:
                json.dump([expires_at, value], file, separators=(",", ":"))
            os.replace(temporary, target)
            # An earlier copy (a record rewritten with a later expiry) lies in another slice.
            for path in self._paths(key):
                if path != target:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot write pending sign-ins in %s: %s", self.directory, _why(exc))
            return False
        return True

    def delete(self, key: str) -> bool:
        """Delete `key`; True only if this call deleted it (of two racing callers, one)."""
        deleted = False
        for path in self._paths(key):
            try:
                path.unlink()
                deleted = True
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot delete pending sign-in file %s: %s", path.name, _why(exc))
                return False
        return deleted

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def clear(self) -> bool:
        shutil.rmtree(self.directory, ignore_errors=True)
        return True

    def _paths(self, key: str) -> list[Path]:
        """Where `key` can be: one path per slice that has not passed, newest first."""
        now = time.time()
        first = math.ceil(now / self.slice_seconds)
        last = math.ceil((now + self.max_timeout) / self.slice_seconds)
        name = _filename(key)
        return [self.directory / str(index) / name for index in range(last, first - 1, -1)]

    def _delete_expired_slices(self, now: float) -> None:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in names:
            # A slice's folder holds files expiring up to the end of the slice.
            if name.isdigit() and int(name) * self.slice_seconds < now:
                shutil.rmtree(self.directory / name, ignore_errors=True)


def _why(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _filename(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
