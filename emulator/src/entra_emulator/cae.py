"""Continuous Access Evaluation and MFA step-up: critical events, claims challenges, claims.

Clients that declare the CP1 capability (MSAL's `client_capabilities=["CP1"]` sends
`{"access_token":{"xms_cc":{"values":["CP1"]}}}` as `claims`) get CAE tokens. After a
critical event for their user (revocation, a location change, ...), Graph answers those
tokens with a claims challenge whose `nbf` the next sign-in must carry ([claims-challenge],
[app-resilience-continuous-access-evaluation]). Without CP1, tokens stay valid until they
expire, as in Entra.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field

from .aad_errors import OAuthError

# The `code` ending Graph's challenge message: why the token was refused (as seen from Graph).
REVOKED = "TokenIssuedBeforeRevocationTimestamp"
LOCATION = "LocationConditionEvaluationSatisfied"
# The demo tenant's Conditional Access policy "Require MFA": what a step-up claims names.
MFA_POLICY_ID = "5f3b0c2e-4d1a-4e8b-9c6d-2a7e1f0b3c4d"
# Graph's challenge names the v1 common authorize endpoint, whatever cloud or tenant.
AUTHORIZATION_URI = "https://login.microsoftonline.com/common/oauth2/authorize"


class ClaimsError(ValueError):
    """A `claims` parameter that is not a JSON object (AADSTS90100)."""


def parse_claims(raw: str | None) -> dict:
    """The claims request as a dict ({} when absent); ClaimsError when malformed."""
    if not raw:
        return {}
    try:
        claims = json.loads(raw)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise ClaimsError("AADSTS90100: claims parameter is empty or not valid.")
    return claims


def _access_token_part(claims: dict) -> dict:
    part = claims.get("access_token")
    return part if isinstance(part, dict) else {}


def capabilities(claims: dict) -> tuple[str, ...]:
    """The known client capabilities a claims request names."""
    return _known((_access_token_part(claims).get("xms_cc") or {}).get("values"))


def _known(values: object) -> tuple[str, ...]:
    """Only `cp1` is a known capability; values are not case-sensitive."""
    if not isinstance(values, list):
        return ()
    return tuple(v for v in values if isinstance(v, str) and v.lower() == "cp1")


def _carried_nbf(claims: dict) -> float:
    raw = (_access_token_part(claims).get("nbf") or {}).get("value")
    if isinstance(raw, bool):
        return 0.0
    try:
        return float(raw)
    except (TypeError, ValueError):
        return 0.0


def _carried_mfa(claims: dict) -> bool:
    values = (_access_token_part(claims).get("capolids") or {}).get("values")
    return isinstance(values, list) and MFA_POLICY_ID in values


@dataclass(frozen=True)
class SignInEvidence:
    """What a sign-in proved, carried from its code to every token of its grant."""

    capabilities: tuple[str, ...] = ()
    fresh_since: float = 0.0  # the challenge `nbf` the authorize carried, capped at its time
    mfa: bool = False
    signed_in_at: float = 0.0  # when the user signed in interactively

    @property
    def amr(self) -> list[str]:
        return ["pwd", "mfa"] if self.mfa else ["pwd"]


def evidence_of_sign_in(authorize_claims: str | None, signed_in_at: float) -> SignInEvidence:
    """Evidence from the claims an /authorize request carried (malformed ones prove nothing)."""
    try:
        claims = parse_claims(authorize_claims)
    except ClaimsError:
        claims = {}
    # A claimed nbf in the future must not make the sign-in immune to later events.
    fresh = min(_carried_nbf(claims), signed_in_at)
    return SignInEvidence(capabilities(claims), fresh, _carried_mfa(claims), signed_in_at)


def with_token_request(evidence: SignInEvidence, raw_claims: str | None) -> SignInEvidence:
    """The token request's own capabilities, when it sends claims (MSAL always does with CP1).

    Its nbf does not count: only an interactive sign-in answers a challenge here.
    """
    if raw_claims is None:
        return evidence
    try:
        claims = parse_claims(raw_claims)
    except ClaimsError as error:
        raise OAuthError("invalid_request", str(error)) from None
    return SignInEvidence(
        capabilities(claims), evidence.fresh_since, evidence.mfa, evidence.signed_in_at
    )


@dataclass(frozen=True)
class Challenge:
    event_time: int
    code: str

    @property
    def claims(self) -> str:
        # The spacing is Graph's, as seen in real challenges.
        return f'{{"access_token":{{"nbf":{{"essential":true, "value":"{self.event_time}"}}}}}}'

    @property
    def message(self) -> str:
        return (
            "Continuous access evaluation resulted in challenge with result: "
            f"InteractionRequired and code: {self.code}"
        )

    def www_authenticate(self) -> str:
        encoded = base64.b64encode(self.claims.encode()).decode()
        return (
            f'Bearer realm="", authorization_uri="{AUTHORIZATION_URI}", '
            'client_id="00000003-0000-0000-c000-000000000000", '
            f'error_description="{self.message}", error="insufficient_claims", '
            f'claims="{encoded}"'
        )


@dataclass
class CaeState:
    """Critical events per user, the CAE tokens handed out, and pending MFA demands."""

    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    events: dict[str, tuple[float, str]] = field(default_factory=dict)  # user -> (time, code)
    tokens: dict[str, SignInEvidence] = field(default_factory=dict)  # uti -> its sign-in
    mfa_demands: set[str] = field(default_factory=set)

    def critical_event(self, user_id: str, now: float, code: str = REVOKED) -> int:
        """From now on, the user's CAE tokens from earlier sign-ins are challenged."""
        with self.lock:
            self.events[user_id] = (now, code)
        return int(now)

    def record_token(self, uti: str, evidence: SignInEvidence) -> None:
        with self.lock:
            self.tokens[uti] = evidence

    def challenge(self, token_claims: dict) -> Challenge | None:
        """The challenge for a CAE access token, if its user had an event it has not answered."""
        if not _known(token_claims.get("xms_cc")):
            return None  # not a CAE token: valid until it expires
        with self.lock:
            event = self.events.get(token_claims.get("oid", ""))
            evidence = self.tokens.get(token_claims.get("uti", ""), SignInEvidence())
        if event is None or evidence.fresh_since >= int(event[0]):
            return None
        # After a revocation, a token from a new interactive sign-in was issued after the
        # revocation timestamp, which is all Entra checks; a location change wants the claims.
        if event[1] == REVOKED and evidence.signed_in_at >= event[0]:
            return None
        return Challenge(int(event[0]), event[1])

    def require_mfa(self, user_id: str) -> None:
        with self.lock:
            self.mfa_demands.add(user_id)

    def check_mfa(self, user_id: str, evidence: SignInEvidence) -> None:
        """Refuse a token while MFA is demanded; a sign-in that performed it clears it."""
        with self.lock:
            if user_id not in self.mfa_demands:
                return
            if evidence.mfa:
                self.mfa_demands.discard(user_id)
                return
        raise mfa_required()


def mfa_required() -> OAuthError:
    """Entra's answer when Conditional Access now wants MFA (as seen on refresh, msal-js#5491)."""
    claims = json.dumps(
        {"access_token": {"capolids": {"essential": True, "values": [MFA_POLICY_ID]}}},
        separators=(",", ":"),
    )
    return OAuthError(
        "interaction_required",
        "AADSTS50076: Due to a configuration change made by your administrator, or because you "
        "moved to a new location, you must use multi-factor authentication to access "
        "'00000003-0000-0000-c000-000000000000'.",
        suberror="basic_action",
        claims=claims,
    )
