"""The app's client certificate: one PEM file with the private key and the certificate.

`load(path, password)` reads and checks the file once at start-up and returns
what MSAL needs; every way it can be unusable is a `CertificateError` whose message
names the fix and never holds key material. It knows nothing of msal or Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# A key and a certificate chain are a few KB; a bigger file is not one.
MAX_FILE_BYTES = 256 * 1024
_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL
)
_CERTIFICATE_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL
)


class CertificateError(ValueError):
    """The certificate file cannot be used; `variable` is the setting to fix."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable
        self.message = message


@dataclass(frozen=True)
class ClientCertificate:
    """The key and its certificate from the file, for MSAL's certificate credential."""

    # Loaded once: cryptography checks an RSA key as it loads it, which takes tens of ms.
    private_key: rsa.RSAPrivateKey = field(repr=False)
    # SHA-1 of the certificate, as the app registration's Certificates & secrets lists it.
    thumbprint: str
    # The certificate of the key (others in the file, such as its CA's, are not sent).
    certificate_pem: str
    subject: str
    not_after: datetime


def load(path: str, password: str | None) -> ClientCertificate:
    """Read PATH, decrypt its key with PASSWORD, and pick the certificate of that key."""
    data = _read(path)
    key_blocks = [m.group(0) for m in _KEY_BLOCK.finditer(data)]
    certificates = [m.group(0) for m in _CERTIFICATE_BLOCK.finditer(data)]
    if not key_blocks:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH",
            "the file holds no private key: put the key and the certificate in one file "
            "(cat key.pem cert.pem > client.pem).",
        )
    if len(key_blocks) > 1:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH", "the file holds more than one private key; keep one."
        )
    if not certificates:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH",
            "the file holds no certificate: put the certificate after the key in the file.",
        )
    key = _private_key(key_blocks[0], password)
    parsed = [_certificate(block) for block in certificates]
    public = key.public_key().public_numbers()
    leaf = next((c for c in parsed if c.public_key().public_numbers() == public), None)
    if leaf is None:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH",
            "no certificate in the file belongs to its private key: use the certificate "
            "made with this key.",
        )
    now = datetime.now(UTC)
    if leaf.not_valid_after_utc <= now:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH",
            f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}: make a new "
            "one and upload it to the app registration.",
        )
    if leaf.not_valid_before_utc > now:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH",
            f"the certificate is valid only from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} "
            "UTC; check the machine's clock.",
        )
    return ClientCertificate(
        private_key=key,
        thumbprint=leaf.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Entra's x5t
        certificate_pem=leaf.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        subject=leaf.subject.rfc4514_string(),
        not_after=leaf.not_valid_after_utc,
    )


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH", f"cannot read {path}: {reason}."
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH", "the file is too large to be a key and a certificate."
        )
    return data


def _private_key(block: bytes, password: str | None) -> rsa.RSAPrivateKey:
    secret = password.encode() if password else None
    try:
        key = serialization.load_pem_private_key(block, secret)
    except TypeError:
        # cryptography's TypeError: a password for a plain key, or none for an encrypted one.
        if secret is None:
            raise CertificateError(
                "CLIENT_CERTIFICATE_PASSWORD",
                "the private key is encrypted: set its password.",
            ) from None
        raise CertificateError(
            "CLIENT_CERTIFICATE_PASSWORD",
            "the private key is not encrypted: remove CLIENT_CERTIFICATE_PASSWORD.",
        ) from None
    except ValueError:
        if secret is not None:
            raise CertificateError(
                "CLIENT_CERTIFICATE_PASSWORD",
                "cannot decrypt the private key: the password is wrong, or the key is damaged.",
            ) from None
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH", "the private key is damaged or not in PEM format."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        # Client assertions are RS256 or PS256: Entra takes RSA certificates only.
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH", "the key must be an RSA key (openssl req -newkey rsa:2048)."
        )
    return key


def _certificate(block: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(block)
    except ValueError:
        raise CertificateError(
            "CLIENT_CERTIFICATE_PATH", "a certificate in the file is damaged."
        ) from None
