"""Sign-ins under way: started at /login, finished at the redirect URI.

Each is kept server-side under a digest of its `state`, expires, and can be taken
only once. It is bound to the browser that started it by a cookie: the identity
provider's form_post is a cross-site POST, which the Lax session cookie does not
come with, so the binding cookie is SameSite=None.

Anyone can start a sign-in without signing in, so what one costs is bounded: a record
holds only what the callback needs, within RECORD_BUDGET, and a browser has at most
MAX_PER_BROWSER sign-ins under way. A client that sends no cookies is a new browser
every time; what bounds it is the store's expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from cachelib import BaseCache
from flask import Request, Response

from session_store import StoreUnavailable

KEY_PREFIX = "authflow:"
# By the state's digest: where a completed sign-in went, so its replay (the Back button
# re-running the authorize request) can say "already signed in" and lead there again.
COMPLETED_PREFIX = "authflow-done:"
# Per browser, by the binding's digest: the keys of its latest sign-ins, oldest first.
BROWSER_PREFIX = "authflow-browser:"
# Sign-ins under way in one browser (tabs, pages asking consent); a new one drops the oldest.
MAX_PER_BROWSER = 5
# What MSAL's acquire_token_by_auth_code_flow reads; not auth_uri, which is most of the size.
FLOW_FIELDS = ("state", "nonce", "code_verifier", "redirect_uri", "scope", "claims_challenge")
# A record's size as JSON: under 2 KB as either backend stores it (pickle is no larger).
# With every scope, a 300-character redirect URI and 512 of claims there is still room.
RECORD_BUDGET = 1900
BINDING_COOKIE = "auth_flow"
# A copy without attributes, for clients that keep Secure cookies off plain http.
LEGACY_BINDING_COOKIE = BINDING_COOKIE + "_legacy"
_BINDING = re.compile(r"^[A-Za-z0-9_\-]{43}$")


@dataclass(frozen=True)
class PendingSignIn:
    """What the redirect URI needs to finish a sign-in, and nothing more."""

    flow: dict  # MSAL's auth-code flow: state, nonce, PKCE verifier, redirect URI, scopes
    binding_digest: str
    next_path: str
    extra_scopes: tuple[str, ...]
    expires_at: float


class Expired(Exception):
    """No pending sign-in for this state: never started, already used, or too old.

    `next_path` is where the sign-in went when this browser completed it already.
    """

    def __init__(self, next_path: str = "/") -> None:
        super().__init__("no pending sign-in")
        self.next_path = next_path


class StartedElsewhere(Exception):
    """The response reached a browser that did not start the sign-in (login CSRF)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in started in another browser")
        self.next_path = next_path


class PendingSignIns:
    """Pending sign-ins in a cachelib store, each used at most once."""

    def __init__(
        self, store: BaseCache, lifetime: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.lifetime = lifetime
        self.clock = clock

    def save(
        self, request: Request, flow: dict, next_path: str, extra_scopes: tuple[str, ...]
    ) -> str:
        """Keep a new sign-in; return the browser binding to set with `set_binding`."""
        # One binding per browser, shared by its pending sign-ins (several tabs).
        binding = _binding_from(request)
        if not _BINDING.match(binding):
            binding = secrets.token_urlsafe(32)
        record = PendingSignIn(
            flow={key: flow[key] for key in FLOW_FIELDS if key in flow},
            binding_digest=_digest(binding),
            next_path=next_path,
            extra_scopes=extra_scopes,
            expires_at=self.clock() + self.lifetime,
        )
        if stored_length(asdict(record)) > RECORD_BUDGET:
            # A long (or much escaped) `next` gives way: the rest the callback must have.
            record = replace(record, next_path="/")
        key = _key(flow["state"])
        if not self.store.set(key, asdict(record), timeout=self.lifetime):
            raise StoreUnavailable("the pending sign-in could not be saved")
        self._limit_per_browser(record.binding_digest, key)
        return binding

    def take(self, request: Request, state: str | None) -> PendingSignIn:
        """Remove and return the sign-in for `state`, if this browser started it."""
        if not state:
            raise Expired()
        key = _key(state)
        raw = self.store.get(key)
        # delete() is the single-use check: of two racing callbacks only one deletes it.
        if raw is None or not self.store.delete(key):
            raise Expired(self._completed_next_path(request, state))
        record = PendingSignIn(**{**raw, "extra_scopes": tuple(raw["extra_scopes"])})
        if record.expires_at <= self.clock():
            raise Expired(record.next_path)
        if not hmac.compare_digest(record.binding_digest, _digest(_binding_from(request))):
            raise StartedElsewhere(record.next_path)
        return record

    def mark_completed(self, pending: PendingSignIn) -> None:
        """Remember, until the sign-in would have expired, that it completed and where to."""
        left = int(pending.expires_at - self.clock())
        record = {"next_path": pending.next_path, "binding_digest": pending.binding_digest}
        # Only a nicer page for a replay depends on it: a failed write changes nothing else.
        if left > 0:
            self.store.set(COMPLETED_PREFIX + _digest(pending.flow["state"]), record, timeout=left)

    def _completed_next_path(self, request: Request, state: str) -> str:
        record = self.store.get(COMPLETED_PREFIX + _digest(state))
        if not isinstance(record, dict):
            return "/"
        binding = _digest(_binding_from(request))
        if not hmac.compare_digest(str(record.get("binding_digest")), binding):
            return "/"
        return str(record.get("next_path") or "/")

    def _limit_per_browser(self, binding_digest: str, key: str) -> None:
        """Remember `key` as the browser's newest sign-in; forget those past MAX_PER_BROWSER.

        Two sign-ins started by one browser at the same instant may both miss the other
        here; then one of them is not counted, and still expires with its lifetime.
        """
        browser_key = BROWSER_PREFIX + binding_digest
        latest = [*(self.store.get(browser_key) or []), key]
        dropped, latest = latest[:-MAX_PER_BROWSER], latest[-MAX_PER_BROWSER:]
        if dropped:
            self.store.delete_many(*dropped)
        if not self.store.set(browser_key, latest, timeout=self.lifetime):
            raise StoreUnavailable("the pending sign-in could not be saved")

    def set_binding(self, response: Response, binding: str, *, https: bool) -> Response:
        """Set the binding cookie so the browser returns it with the cross-site form_post.

        `SameSite=None; Secure` is what current browsers need (they accept Secure cookies
        on http://localhost too). On plain http a copy without attributes is added for
        clients that keep Secure cookies off http, as ASP.NET Core's correlation cookie
        does for such clients; never on https, where it could be planted over http.
        """
        options = {"max_age": self.lifetime, "httponly": True}
        response.set_cookie(BINDING_COOKIE, binding, secure=True, samesite="None", **options)
        if not https:
            response.set_cookie(LEGACY_BINDING_COOKIE, binding, **options)
        return response


def stored_length(value: object) -> int:
    """How many bytes `value` takes in a record, escapes included."""
    return len(json.dumps(value, separators=(",", ":")))


def _binding_from(request: Request) -> str:
    binding = request.cookies.get(BINDING_COOKIE)
    if not binding and not request.is_secure:
        binding = request.cookies.get(LEGACY_BINDING_COOKIE)
    return binding or ""


def _key(state: str) -> str:
    return KEY_PREFIX + _digest(state)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
