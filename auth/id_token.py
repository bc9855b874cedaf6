"""The ID token's claims checked before any is trusted: MSAL Python checks only the nonce.

The token comes straight from the token endpoint over TLS, so its signature needs no
check (OpenID Connect Core 3.1.3.7); who it is from, for and when it is valid do.
"""

from __future__ import annotations

import re

# Clocks drift: a few minutes either way, as Microsoft's libraries allow.
CLOCK_SKEW_SECONDS = 300
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class InvalidIdToken(ValueError):
    """The ID token is not for this app, not from this authority, or not valid now."""


def check_claims(
    claims: dict,
    *,
    issuer: str | None,
    client_id: str,
    tenant_id: str | None,
    now: float,
) -> None:
    """Raise InvalidIdToken unless `claims` may be trusted.

    `issuer` is the discovery document's; for multi-tenant authorities (common,
    organizations) it holds "{tenantid}", which stands for the token's own tid.
    `tenant_id`, when it is a GUID, is the only tenant whose users may sign in.
    """
    audience = claims.get("aud")
    if audience != client_id and not (isinstance(audience, list) and client_id in audience):
        raise InvalidIdToken("aud")
    tid = claims.get("tid")
    if issuer:
        expected = issuer.replace("{tenantid}", str(tid)) if "{tenantid}" in issuer else issuer
        if claims.get("iss") != expected:
            raise InvalidIdToken("iss")
    if tenant_id and _GUID.match(tenant_id) and str(tid).lower() != tenant_id.lower():
        raise InvalidIdToken("tid")
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or exp + CLOCK_SKEW_SECONDS < now:
        raise InvalidIdToken("exp")
    if not isinstance(nbf, int | float) or nbf - CLOCK_SKEW_SECONDS > now:
        raise InvalidIdToken("nbf")
