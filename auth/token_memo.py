"""Access tokens a worker already found in a session's token cache, until MSAL would renew them.

Finding a token the MSAL way means parsing the session's token cache and building an
MSAL app around it: about a tenth of a page view's CPU. The answer depends only on that
cache and the clock, so it is remembered under a digest of the cache as the session
stores it (no parsing, and no decryption should the cache be stored encrypted): a
refreshed cache is a new key, and a token Graph refused is renewed with force_refresh,
which does not look here. Held in the worker's memory only, at most MAX_ENTRIES of them,
each no longer than MSAL would answer it from the cache.

Hand-written rather than cachetools' TLRUCache: thirty lines against a new dependency.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

# About 2 KB each: a few MB per worker at most.
MAX_ENTRIES = 2048


class TokenMemo:
    """A bounded, thread-safe map from a key to an access token that expires."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, tuple[str, float]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        """The token remembered under `key` if it is still usable, else None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            token, usable_until = found
            if time.time() >= usable_until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return token

    def remember(self, key: Hashable, token: str, usable_until: float) -> None:
        """Keep `token` under `key` until `usable_until` (time.time()); the oldest one goes
        when there are too many."""
        with self._lock:
            self._entries[key] = (token, usable_until)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
