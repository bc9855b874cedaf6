"""The emulator's one clock: every time read goes through here, so tests can shift time.

An offset moves token claims (iat, nbf, exp), code and refresh-grant lifetimes, download
URL expiry, throttling windows and error timestamps together. TLS certificates keep the
wall clock: clients check them against their own time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from flask import current_app


class Clock:
    """Wall-clock time plus an adjustable offset, and an injectable sleep for latency faults."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        # Public so a test can record injected latency instead of waiting for it.
        self.sleep = sleep

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        return time.time() + self._offset

    def utcnow(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def set_offset(self, seconds: float) -> float:
        with self._lock:
            self._offset = float(seconds)
            return self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += float(seconds)
            return self._offset


def request_clock() -> Clock:
    """The clock of the emulator serving the current request (for code without the state)."""
    return current_app.extensions["emulator"].clock
