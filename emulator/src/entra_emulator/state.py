"""Everything the emulator remembers while it runs: codes, grants, consents, sessions, knobs.

One instance is shared by both listeners; every mutation holds the lock because
werkzeug serves each request on its own thread.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .directory import Directory
from .scopes import RequestedScopes
from .tokens import TokenSigner
from .urls import Bases

CODE_LIFETIME = 600  # Entra codes live about 10 minutes
AUTH_REQUEST_LIFETIME = 900  # how long a sign-in page may sit open
REFRESH_GRACE = 30  # a rotated refresh token still works this long (concurrent refreshes)


@dataclass
class AuthRequest:
    """One /authorize call while the person is on the sign-in and consent pages."""

    id: str
    authority: str  # "entra" or "oidc"
    tenant: str
    client_id: str
    redirect_uri: str
    response_mode: str
    state: str | None
    nonce: str | None
    scopes: RequestedScopes
    code_challenge: str
    prompt: str | None
    login_hint: str | None
    want_client_info: bool
    browser_sid: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    created: float = field(default_factory=time.time)
    user_id: str | None = None
    consent_shown: bool = False


@dataclass
class AuthCode:
    authority: str
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: RequestedScopes
    nonce: str | None
    code_challenge: str
    sid: str
    issued: float = field(default_factory=time.time)
    used: bool = False


@dataclass
class RefreshGrant:
    authority: str
    client_id: str
    user_id: str
    scopes: RequestedScopes
    sid: str
    replaced_at: float | None = None
    revoked: bool = False


class EmulatorState:
    def __init__(
        self,
        load_directory: Callable[[], Directory],
        signer: TokenSigner,
        access_token_lifetime: int,
    ):
        self.lock = threading.RLock()
        self._load_directory = load_directory
        self._initial_lifetime = access_token_lifetime
        self.signer = signer
        self.download_key = secrets.token_bytes(32)
        self.bases: Bases | None = None  # set once it is known where the emulator is served
        self.reset()

    def reset(self) -> None:
        """Back to the state at start: tenant data, codes, grants, sessions, consents, knobs.

        The signing key stays, but access tokens issued before are no longer honoured.
        """
        with self.lock:
            self.directory = self._load_directory()
            self.access_token_lifetime = self._initial_lifetime
            self.auth_requests: dict[str, AuthRequest] = {}
            self.codes: dict[str, AuthCode] = {}
            self.refresh_tokens: dict[str, RefreshGrant] = {}
            self.consents: dict[tuple[str, str], set[str]] = {}
            self.browser_sessions: dict[str, dict] = {}
            self.access_tokens_issued: dict[str, float] = {}  # uti -> issue time
            self.expired_before = 0.0
            self.fault: dict | None = None
            self.counters: Counter[str] = Counter()
            self.graph_paths: Counter[str] = Counter()

    def count(self, kind: str, graph_path: str | None = None) -> None:
        with self.lock:
            self.counters[kind] += 1
            if graph_path:
                self.graph_paths[graph_path] += 1

    def consented(self, user_id: str, client_id: str) -> set[str]:
        with self.lock:
            return set(self.consents.get((user_id, client_id), set()))

    def add_consent(self, user_id: str, client_id: str, scopes: list[str]) -> None:
        with self.lock:
            self.consents.setdefault((user_id, client_id), set()).update(scopes)

    def new_code(self, code: AuthCode) -> str:
        value = secrets.token_urlsafe(48)
        with self.lock:
            self.codes[value] = code
        return value

    def new_refresh_token(self, grant: RefreshGrant) -> str:
        value = "0.emu." + secrets.token_urlsafe(64)
        with self.lock:
            self.refresh_tokens[value] = grant
        return value

    def record_access_token(self, uti: str) -> None:
        with self.lock:
            self.access_tokens_issued[uti] = time.time()

    def access_token_expired_by_control(self, uti: str | None) -> bool:
        with self.lock:
            issued = self.access_tokens_issued.get(uti or "")
            return issued is None or issued < self.expired_before

    def set_fault(self, fault: dict | None) -> None:
        with self.lock:
            self.fault = fault

    def revoke(self, user_id: str) -> int:
        """Revoke a user's refresh tokens; access tokens stay valid, as in Entra without CAE."""
        with self.lock:
            grants = [g for g in self.refresh_tokens.values() if g.user_id == user_id]
            for grant in grants:
                grant.revoked = True
            return len(grants)

    def expire_tokens(self) -> float:
        """Every access token issued so far is rejected as expired."""
        with self.lock:
            self.expired_before = time.time()
            return self.expired_before

    def set_access_token_lifetime(self, seconds: int) -> None:
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
            raise ValueError("access_token_lifetime must be a positive integer")
        with self.lock:
            self.access_token_lifetime = seconds

    def reset_consent(self, user_id: str | None = None) -> None:
        with self.lock:
            for key in [k for k in self.consents if user_id is None or k[0] == user_id]:
                del self.consents[key]

    def take_fault(self) -> dict | None:
        """The fault to apply to this Graph call, if any; counts it down."""
        with self.lock:
            if not self.fault:
                return None
            fault = dict(self.fault)
            self.fault["count"] -= 1
            if self.fault["count"] <= 0:
                self.fault = None
            return fault

    def counters_snapshot(self) -> dict:
        with self.lock:
            snapshot = {k: self.counters[k] for k in _COUNTER_KINDS}
            snapshot["graph_paths"] = dict(self.graph_paths)
            return snapshot

    def reset_counters(self) -> None:
        with self.lock:
            self.counters.clear()
            self.graph_paths.clear()


_COUNTER_KINDS = ("graph", "token", "discovery", "jwks", "authorize", "logout")
