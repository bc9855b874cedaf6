"""private_key_jwt at the token endpoint: a client assertion signed with a certificate the
app registration holds (certificate-credentials), checked the way Entra checks it, with
each failure answered by its AADSTS error.

An assertion whose `iss` is not a registered app's id is a federated one (federation.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from .aad_errors import OAuthError
from .client_credentials import certificates, thumbprints, trusted_subjects
from .state import EmulatorState

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What MSAL signs with: PS256 next to x5t#S256, RS256 next to a SHA-1 x5t.
ALGORITHMS = ["RS256", "PS256"]
CLOCK_SKEW = 300  # seconds, the usual five minutes
MAX_REMEMBERED = 10_000  # jtis kept for replay checks, oldest dropped first
CERT_DOCS = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
_NO_CHECKS = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


def invalid_client(aadsts: str) -> OAuthError:
    return OAuthError("invalid_client", aadsts, 401)


@dataclass(frozen=True)
class Assertion:
    raw: str
    header: dict
    claims: dict


def read_assertion(form: Mapping[str, str]) -> Assertion:
    """The assertion of a request that sent one, decoded but not yet trusted."""
    kind = form.get("client_assertion_type")
    if not kind:
        raise OAuthError(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: "
            "'client_assertion_type'.",
        )
    if kind != ASSERTION_TYPE:
        raise OAuthError(
            "invalid_request",
            f"AADSTS90100: The parameter 'client_assertion_type' is empty or not valid: use "
            f"'{ASSERTION_TYPE}'.",
        )
    raw = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(raw)
        claims = jwt.decode(raw, options={"verify_signature": False, **_NO_CHECKS})
    except jwt.PyJWTError:
        raise invalid_client("AADSTS50027: JWT token is invalid or malformed.") from None
    return Assertion(raw, header, claims)


def is_certificate_assertion(state: EmulatorState, assertion: Assertion) -> bool:
    """Certificate assertions are issued by the app itself (`iss` is its client id)."""
    issuer = assertion.claims.get("iss")
    return isinstance(issuer, str) and state.directory.find_client(issuer) is not None


def authenticate(
    state: EmulatorState, assertion: Assertion, client_id: str | None, audiences: set[str]
) -> str:
    """The client id a certificate assertion proves; OAuthError when it proves nothing.

    CLIENT_ID: the request's client_id parameter, if sent; AUDIENCES: the token endpoint
    URLs that name this authority."""
    claims, now = assertion.claims, state.clock.now()
    issuer = claims["iss"]
    if client_id and client_id != issuer:
        raise invalid_client(
            "AADSTS700021: Client assertion application identifier doesn't match 'client_id' "
            f"parameter. Review the documentation at {CERT_DOCS} ."
        )
    if claims.get("sub") != issuer:
        raise invalid_client(
            "AADSTS50048: Subject mismatches Issuer claim in the client assertion."
        )
    client = state.directory.find_client(issuer)
    cert, shown = _certificate(client, assertion.header, issuer, now)
    _verify_signature(assertion, cert, shown)
    if not _names_one_of(claims.get("aud"), audiences):
        raise invalid_client(
            "AADSTS700023: Client assertion audience claim does not match Realm issuer. "
            f"Review the documentation at {CERT_DOCS} ."
        )
    check_lifetime(claims, now)
    _check_replay(state, issuer, assertion)
    return issuer


def _names_one_of(audience: object, accepted: set[str]) -> bool:
    if isinstance(audience, str):
        return audience in accepted
    return isinstance(audience, list) and any(a in accepted for a in audience)


def _header_certificates(header: dict) -> list[x509.Certificate]:
    """The x5c chain, leaf first (standard base64 DER; MSAL keeps PEM line breaks)."""
    chain = header.get("x5c")
    if not isinstance(chain, list):
        return []
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c)) for c in chain]
    except (TypeError, ValueError):
        raise invalid_client("AADSTS50027: JWT token is invalid or malformed.") from None


def _certificate(
    client: dict, header: dict, client_id: str, now: float
) -> tuple[x509.Certificate, str]:
    """The certificate the header names, by x5t#S256, x5t or the x5c leaf, or trusted by
    subject and issuer (SNI); with the thumbprint to show in errors."""
    chain = _header_certificates(header)
    if not any(k in header for k in ("x5t#S256", "x5t")) and not chain:
        raise invalid_client(
            "AADSTS50027: Invalid JWT token. No certificate thumbprint specified in token header."
        )
    registered = [(cert, thumbprints(cert)) for cert in certificates(client)]
    leaf_prints = thumbprints(chain[0]) if chain else {}
    for key, hex_key in (("x5t#S256", "thumbprint_sha256"), ("x5t", "thumbprint")):
        wanted = header.get(key) or leaf_prints.get(key)
        if not isinstance(wanted, str):
            continue
        wanted = wanted.rstrip("=")  # MSAL pads its base64url thumbprints
        found = next((c for c, p in registered if p[key] == wanted), None)
        if found is not None:
            return _current(found, client_id, now), thumbprints(found)[hex_key]
    if chain and _trusted_by_subject(client, chain[0]):
        return _current(chain[0], client_id, now), leaf_prints["thumbprint"]
    raise invalid_client(
        "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was "
        f"not found., Thumbprint of key used by client: '{_shown_thumbprint(header)}', "
        "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see "
        f"configured keys for app Id '{client_id}'.] Alternatively, SNI may be configured "
        "on the app. Please ensure that client assertion is being sent with the x5c claim "
        "in the JWT header so that Azure Active Directory can validate the certificate "
        "being used."
    )


def _shown_thumbprint(header: dict) -> str:
    for key in ("x5t", "x5t#S256"):
        value = header.get(key)
        if isinstance(value, str):
            try:
                return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex().upper()
            except ValueError:
                return value
    chain = _header_certificates(header)
    return thumbprints(chain[0])["thumbprint"] if chain else ""


def _trusted_by_subject(client: dict, leaf: x509.Certificate) -> bool:
    subject = leaf.subject.rfc4514_string()
    for name, authority in trusted_subjects(client):
        if name != subject:
            continue
        try:
            leaf.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):  # not issued by that authority
            continue
        return True
    return False


def _current(cert: x509.Certificate, client_id: str, now: float) -> x509.Certificate:
    moment = datetime.fromtimestamp(now, UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise invalid_client(
            "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key "
            f"used is expired or not yet valid., Thumbprint of key used by client: "
            f"'{thumbprints(cert)['thumbprint']}', Found key 'Start="
            f"{_portal_time(cert.not_valid_before_utc)}, End="
            f"{_portal_time(cert.not_valid_after_utc)}' for app Id '{client_id}']"
        )
    return cert


def _portal_time(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _verify_signature(assertion: Assertion, cert: x509.Certificate, shown: str) -> None:
    try:
        jwt.decode(assertion.raw, cert.public_key(), algorithms=ALGORITHMS, options=_NO_CHECKS)
    except jwt.InvalidAlgorithmError:
        raise invalid_client(
            "AADSTS700027: Client assertion contains an invalid signature. [Reason - The "
            f"algorithm '{assertion.header.get('alg')}' is not supported; use RS256 or PS256., "
            f"Thumbprint of key used by client: '{shown}']"
        ) from None
    except (jwt.PyJWTError, TypeError, ValueError):
        raise invalid_client(
            "AADSTS700027: Client assertion contains an invalid signature. [Reason - The "
            "provided signature value did not match the expected signature value., "
            f"Thumbprint of key used by client: '{shown}', Found key 'Start="
            f"{_portal_time(cert.not_valid_before_utc)}, End="
            f"{_portal_time(cert.not_valid_after_utc)}']"
        ) from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _entra_time(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def check_lifetime(claims: dict, now: float) -> None:
    """exp (required) and nbf (optional) against NOW, with five minutes of skew."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not _is_number(exp) or (nbf is not None and not _is_number(nbf)):
        raise invalid_client(
            "AADSTS50027: Invalid JWT token. The token has no valid 'exp' or 'nbf' claim."
        )
    if exp + CLOCK_SKEW <= now or (nbf or 0) - CLOCK_SKEW > now:
        raise invalid_client(
            f"AADSTS700024: Client assertion is not within its valid time range. Current "
            f"time: {_entra_time(now)}, assertion valid from {_entra_time(nbf or 0)}, expiry "
            f"time of assertion {_entra_time(exp)}. Review the documentation at {CERT_DOCS} ."
        )


def _check_replay(state: EmulatorState, client_id: str, assertion: Assertion) -> None:
    """A jti belongs to the first assertion that carried it: another assertion with the
    same jti is refused. The same assertion may be sent again until it expires, since MSAL
    reuses its assertion for up to nine minutes and Entra accepts that."""
    jti = assertion.claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise invalid_client("AADSTS50027: Invalid JWT token. The token has no 'jti' claim.")
    digest = hashlib.sha256(assertion.raw.encode()).hexdigest()
    now = state.clock.now()
    with state.lock:
        seen = state.directory.client_assertions_seen
        for key in [k for k, (_, exp) in seen.items() if exp + CLOCK_SKEW <= now]:
            del seen[key]
        previous = seen.get((client_id, jti))
        if previous is not None and previous[0] != digest:
            raise invalid_client(
                "AADSTS50027: Invalid JWT token. The 'jti' claim was already used by another "
                "client assertion of this application."
            )
        seen[(client_id, jti)] = (digest, assertion.claims["exp"])
        while len(seen) > MAX_REMEMBERED:
            del seen[next(iter(seen))]
