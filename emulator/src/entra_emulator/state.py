"""Everything the emulator remembers while it runs: codes, grants, consents, sessions, knobs.

One instance is shared by both listeners; every mutation holds the lock because
werkzeug serves each request on its own thread.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .cae import CaeState, SignInEvidence
from .clock import Clock
from .directory import Directory
from .faults import FaultRule, FaultSchedule
from .parsing import json_int
from .request_log import RequestLog
from .scopes import RequestedScopes
from .token_variants import TokenVariant, TokenVariants
from .tokens import TokenSigner
from .urls import Bases

CODE_LIFETIME = 600  # Entra codes live about 10 minutes
AUTH_REQUEST_LIFETIME = 900  # how long a sign-in page may sit open


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
    created: float  # emulator clock time
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user_id: str | None = None
    consent_shown: bool = False
    claims: str | None = None  # the claims request, as sent (CP1, challenge answers)
    admin_consent: bool = False  # the /adminconsent endpoint: grant for the tenant, no code


@dataclass
class AdminConsentRequest:
    """What a user sent through the admin consent workflow's request form."""

    user_id: str
    client_id: str
    scopes: list[str]
    justification: str
    created: float  # emulator clock time


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
    issued: float  # emulator clock time
    used: bool = False
    claims: str | None = None  # from the authorize request (see cae.evidence_of_sign_in)


@dataclass
class RefreshGrant:
    authority: str
    client_id: str
    user_id: str
    scopes: RequestedScopes
    sid: str
    revoked: bool = False
    evidence: SignInEvidence = SignInEvidence()  # what the sign-in behind the grant proved


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
        # Called (lock held) when something a restart keeps changed; see persistence.py.
        self.on_change: Callable[[EmulatorState], None] | None = None
        self.reset()

    def reset(self) -> None:
        """Back to the state at start: tenant data, codes, grants, sessions, consents, knobs,
        fault rules, token variants, the clock (offset and sleep) and the request log.

        The signing key stays, but access tokens issued before are no longer honoured.
        """
        with self.lock:
            self.clock = Clock()
            self.directory = self._load_directory()
            self.access_token_lifetime = self._initial_lifetime
            self.auth_requests: dict[str, AuthRequest] = {}
            self.codes: dict[str, AuthCode] = {}
            self.refresh_tokens: dict[str, RefreshGrant] = {}
            self.consents: dict[tuple[str, str], set[str]] = {}
            # (tenant id, client id) -> what an admin granted for everyone in the tenant
            self.tenant_consents: dict[tuple[str, str], set[str]] = {}
            self.admin_consent_requests: list[AdminConsentRequest] = []
            self.browser_sessions: dict[str, dict] = {}
            self.access_tokens_issued: dict[str, float] = {}  # uti -> issue time
            self.expired_before = 0.0
            self.cae = CaeState()
            self.faults = FaultSchedule(self.clock)
            self.token_variants = TokenVariants()
            self.request_log = RequestLog()
            self.counters: Counter[str] = Counter()
            self.graph_paths: Counter[str] = Counter()
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def count(self, kind: str, graph_path: str | None = None) -> None:
        with self.lock:
            self.counters[kind] += 1
            if graph_path:
                self.graph_paths[graph_path] += 1

    def consented(self, user_id: str, client_id: str) -> set[str]:
        """The user's own consents and what an admin granted for the user's whole tenant."""
        user = self.directory.find_user(user_id)
        tenant = user["tenant_id"] if user else ""
        with self.lock:
            own = self.consents.get((user_id, client_id), set())
            return own | self.tenant_consents.get((tenant, client_id), set())

    def add_tenant_consent(self, tenant_id: str, client_id: str, scopes: list[str]) -> None:
        with self.lock:
            self.tenant_consents.setdefault((tenant_id, client_id), set()).update(scopes)
            self._changed()

    def admin_consent_requests_json(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "user": self.directory.find_user(r.user_id)["userPrincipalName"],
                    "client_id": r.client_id,
                    "scopes": list(r.scopes),
                    "justification": r.justification,
                }
                for r in self.admin_consent_requests
            ]

    def set_tenant_settings(
        self, user_consent_allowed: bool | None = None, admin_consent_workflow: bool | None = None
    ) -> dict:
        """The tenant's consent settings ("Users can consent to apps", the admin consent
        workflow); None leaves one as it is. Returns both."""
        tenant = self.directory.tenant
        with self.lock:
            if user_consent_allowed is not None:
                tenant["userConsentAllowed"] = bool(user_consent_allowed)
            if admin_consent_workflow is not None:
                tenant["adminConsentWorkflow"] = bool(admin_consent_workflow)
            return {
                "user_consent_allowed": tenant.get("userConsentAllowed", True),
                "admin_consent_workflow": tenant.get("adminConsentWorkflow", False),
            }

    def add_consent(self, user_id: str, client_id: str, scopes: list[str]) -> None:
        with self.lock:
            self.consents.setdefault((user_id, client_id), set()).update(scopes)
            self._changed()

    def new_code(self, code: AuthCode) -> str:
        value = secrets.token_urlsafe(48)
        with self.lock:
            self.codes[value] = code
        return value

    def new_refresh_token(self, grant: RefreshGrant) -> str:
        value = "0.emu." + secrets.token_urlsafe(64)
        with self.lock:
            self.refresh_tokens[value] = grant
            self._changed()
        return value

    def record_access_token(self, uti: str) -> None:
        with self.lock:
            self.access_tokens_issued[uti] = self.clock.now()
            self._changed()

    def access_token_expired_by_control(self, uti: str | None) -> bool:
        with self.lock:
            issued = self.access_tokens_issued.get(uti or "")
            return issued is None or issued < self.expired_before

    def revoke(self, user_id: str) -> int:
        """Revoke a user's refresh tokens and challenge their CAE access tokens; others stay
        valid until they expire, as in Entra."""
        with self.lock:
            grants = [g for g in self.refresh_tokens.values() if g.user_id == user_id]
            for grant in grants:
                grant.revoked = True
            self.cae.critical_event(user_id, self.clock.now())
            self._changed()
            return len(grants)

    def expire_tokens(self) -> float:
        """Every access token issued so far is rejected as expired."""
        with self.lock:
            self.expired_before = self.clock.now()
            self._changed()
            return self.expired_before

    def set_access_token_lifetime(self, seconds: int) -> None:
        lifetime = json_int(seconds)
        if lifetime is None or lifetime < 1:
            raise ValueError("access_token_lifetime must be a positive integer")
        with self.lock:
            self.access_token_lifetime = lifetime

    def reset_consent(self, user_id: str | None = None) -> None:
        """Forget one user's consents, or everyone's and the tenant-wide grants too."""
        with self.lock:
            for key in [k for k in self.consents if user_id is None or k[0] == user_id]:
                del self.consents[key]
            if user_id is None:
                self.tenant_consents.clear()
            self._changed()

    def set_fault_rules(self, rules: list[FaultRule], seed: int = 0) -> None:
        """Replace the fault schedule (see faults.py; fault_rules.parse_rule reads JSON)."""
        self.faults.set_rules(rules, seed)

    def clear_fault_rules(self) -> None:
        self.faults.clear()

    def add_token_variant(self, variant: TokenVariant) -> None:
        """Break the next token response(s) for the variant's client and user."""
        self.token_variants.add(variant)

    def set_clock_offset(self, seconds: float) -> float:
        """Shift every time the emulator reads by `seconds` (absolute, not cumulative)."""
        return self.clock.set_offset(seconds)

    def advance_clock(self, seconds: float) -> float:
        """Add `seconds` to the clock offset; the new offset."""
        return self.clock.advance(seconds)

    def reset_features(self) -> None:
        """Forget fault rules, pending token variants, the clock offset and the request log
        (and nothing else: codes, grants and the directory stay)."""
        self.faults.clear()
        self.token_variants.clear()
        self.clock.set_offset(0)
        self.request_log.clear()

    def counters_snapshot(self) -> dict:
        with self.lock:
            snapshot = {k: self.counters[k] for k in _COUNTER_KINDS}
            snapshot["graph_paths"] = dict(self.graph_paths)
            return snapshot

    def reset_counters(self) -> None:
        with self.lock:
            self.counters.clear()
            self.graph_paths.clear()


_COUNTER_KINDS = ("graph", "graph_batched", "token", "discovery", "jwks", "authorize", "logout")
