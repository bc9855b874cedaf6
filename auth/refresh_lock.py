"""One token refresh per signed-in session at a time, across threads and workers.

A short lock in the session store: a Redis key (redis-py's Lock) with Redis sessions,
a file locked with flock(2) in the session folder with file sessions. A request that
cannot have the lock within `WAIT_SECONDS` goes on without it: a second refresh is
better than a page that fails. Keys and file names carry a digest of the session id,
never the id itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from typing import Protocol

import redis
from redis.exceptions import LockError

from app_config import Settings
from session_store import redis_client

log = logging.getLogger(__name__)
# How long a request waits for another request's refresh of the same session.
WAIT_SECONDS = 3.0
# Between attempts at a file lock: short, as a refresh takes tens of milliseconds.
FILE_POLL_SECONDS = 0.01
REDIS_POLL_SECONDS = 0.02
FILE_PREFIX = "refresh-lock-"
REDIS_PREFIX = "refresh-lock:"


class RefreshLock(Protocol):
    def held(self, session_id: str) -> contextlib.AbstractContextManager[bool]:
        """Hold the session's lock for the block; yields whether it was had in time."""
        ...


def build_refresh_lock(settings: Settings) -> RefreshLock:
    """The lock for the configured session store."""
    if settings.session_type == "redis":
        # The sessions' own client settings: a paused Redis costs one short timeout.
        client = redis_client(settings)
        # Expires on its own if a worker dies holding it: after the longest refresh.
        return RedisRefreshLock(client, expiry=settings.connect_timeout + settings.identity_timeout)
    return FileRefreshLock(settings.session_file_dir)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]


class FileRefreshLock:
    """flock(2) on a file per session in the session folder, there only while it is held.

    flock locks belong to an open file, so they exclude threads as well as processes,
    and the kernel drops them when a worker dies. The holder unlinks the file before
    unlocking it; a waiter that then locks the unlinked file notices and starts over.
    """

    def __init__(self, folder: str, *, wait: float = WAIT_SECONDS) -> None:
        self.folder = folder
        self.wait = wait

    @contextlib.contextmanager
    def held(self, session_id: str) -> Iterator[bool]:
        path = os.path.join(self.folder, FILE_PREFIX + _digest(session_id))
        try:
            fd = self._lock(path, time.monotonic() + self.wait)
        except OSError as exc:
            log.warning("refresh lock unavailable (%s): refreshing without it", type(exc).__name__)
            fd = None
        else:
            if fd is None:
                log.warning("refresh lock not had in %.0f s: refreshing without it", self.wait)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                with contextlib.suppress(FileNotFoundError):  # someone tidied the folder
                    os.unlink(path)
                os.close(fd)

    @staticmethod
    def _lock(path: str, deadline: float) -> int | None:
        """The locked file's descriptor, or None at the deadline."""
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                locked = _flock_until(fd, deadline)
                if locked and _is_file_at(fd, path):
                    return fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            if not locked or time.monotonic() >= deadline:
                return None


def _flock_until(fd: int, deadline: float) -> bool:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(FILE_POLL_SECONDS)


def _is_file_at(fd: int, path: str) -> bool:
    """Whether FD is still the file at PATH (its holder had not unlinked it)."""
    try:
        at_path = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (at_path.st_dev, at_path.st_ino)


class RedisRefreshLock:
    """redis-py's Lock (SET NX PX, released by a script that checks its token)."""

    def __init__(self, client: redis.Redis, *, expiry: float, wait: float = WAIT_SECONDS) -> None:
        self.client = client
        self.expiry = expiry
        self.wait = wait

    @contextlib.contextmanager
    def held(self, session_id: str) -> Iterator[bool]:
        lock = self.client.lock(
            REDIS_PREFIX + _digest(session_id),
            timeout=self.expiry,
            sleep=REDIS_POLL_SECONDS,
            blocking_timeout=self.wait,
        )
        try:
            acquired = lock.acquire()
        except redis.RedisError as exc:
            log.warning("refresh lock unavailable (%s): refreshing without it", type(exc).__name__)
            acquired = False
        else:
            if not acquired:
                log.warning("refresh lock not had in %.0f s: refreshing without it", self.wait)
        try:
            yield acquired
        finally:
            if acquired:
                _release(lock)


def _release(lock) -> None:
    try:
        lock.release()
    except LockError:
        # It expired first (a refresh slower than every timeout): another request may hold it.
        log.warning("refresh lock expired before its refresh ended")
    except redis.RedisError as exc:
        # It expires on its own.
        log.warning("refresh lock not released (%s)", type(exc).__name__)
