"""How the app proves who it is at the token endpoint: MSAL's `client_credential`.

One of a client secret, a certificate (`private_key_jwt`, RFC 7523) or a federated
token (workload identity federation), chosen and checked by `app_config`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from app_config import Settings

log = logging.getLogger(__name__)
# Time enough to make, upload and roll out a new certificate.
EXPIRY_WARNING = timedelta(days=30)
# Kubernetes projects tokens of about 1 KB; more is not a token.
MAX_TOKEN_BYTES = 64 * 1024


class CredentialUnavailable(Exception):
    """The federated token file could not be read when a token request needed it."""

    variable = "AZURE_FEDERATED_TOKEN_FILE"


class FederatedTokenFile:
    """MSAL's `client_assertion` callable: the token in the file, read at each token request.

    The platform rotates the file (Kubernetes replaces it about hourly, well before the
    token expires), so nothing is kept: a read of a 1 KB file costs less than the request.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> str:
        try:
            with open(self.path, "rb") as file:
                token = file.read(MAX_TOKEN_BYTES).strip().decode("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("federated token file unreadable: %s", type(exc).__name__)
            raise CredentialUnavailable() from None
        if not token:
            log.warning("federated token file is empty")
            raise CredentialUnavailable()
        return token


def client_credential(settings: Settings) -> str | dict:
    """What MSAL's ConfidentialClientApplication takes as `client_credential`."""
    if settings.federated_token_file:
        # A callable, not the token itself: MSAL warns about a fixed assertion string.
        return {"client_assertion": FederatedTokenFile(settings.federated_token_file)}
    certificate = settings.client_certificate
    if certificate is None:
        return settings.client_secret
    log.info("client certificate %s, thumbprint %s", certificate.subject, certificate.thumbprint)
    if certificate.not_after - datetime.now(UTC) < EXPIRY_WARNING:
        log.warning("the client certificate expires on %s", f"{certificate.not_after:%Y-%m-%d}")
    # The key itself, decrypted once, rather than its PEM: MSAL's JwtAssertionCreator takes
    # a cryptography key, whereas a PEM with a passphrase is loaded again (tens of ms)
    # each time an MSAL app is built, that is on every page view.
    credential: dict = {"private_key": certificate.private_key}
    if settings.client_certificate_send_x5c:
        # MSAL then names the certificate by its SHA-256 thumbprint (x5t#S256, PS256) and
        # sends it in x5c, as MSAL.NET's SendX5C does: subject name and issuer authentication.
        credential["public_certificate"] = certificate.certificate_pem
    else:
        # The SHA-1 thumbprint (x5t, RS256): how Entra finds an uploaded certificate.
        credential["thumbprint"] = certificate.thumbprint
    return credential
