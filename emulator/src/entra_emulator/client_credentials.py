"""Credentials an app registration holds besides its secret, kept as the application
manifest has them: certificates (`keyCredentials`), trusted certificate subjects for
subject name and issuer (SNI) authentication (`trustedCertificateSubjects`) and federated
identity credentials (`federatedIdentityCredentials`).
"""

from __future__ import annotations

import base64
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # what Entra recommends for FICs
MAX_FEDERATED_CREDENTIALS = 20  # per application, as in Entra


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_certificate(certificate: str | bytes | x509.Certificate) -> x509.Certificate:
    """A certificate from PEM text or bytes (or as it is); ValueError for anything else."""
    if isinstance(certificate, x509.Certificate):
        return certificate
    data = certificate.encode() if isinstance(certificate, str) else certificate
    return x509.load_pem_x509_certificate(data)


def thumbprints(cert: x509.Certificate) -> dict:
    """The portal's thumbprint (SHA-1, upper-case hex) and the JWT header values."""
    sha1 = cert.fingerprint(hashes.SHA1())  # noqa: S303 - x5t is SHA-1 by definition
    sha256 = cert.fingerprint(hashes.SHA256())
    return {
        "thumbprint": sha1.hex().upper(),
        "thumbprint_sha256": sha256.hex().upper(),
        "x5t": b64url(sha1),
        "x5t#S256": b64url(sha256),
    }


def _der(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def add_certificate(client: dict, certificate: str | bytes | x509.Certificate) -> dict:
    """Upload a certificate to the registration ("Certificates & secrets"); its thumbprints."""
    cert = load_certificate(certificate)
    prints = thumbprints(cert)
    entry = {
        "customKeyIdentifier": base64.b64encode(bytes.fromhex(prints["thumbprint"])).decode(),
        "keyId": str(uuid.uuid4()),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": _der(cert),
        "displayName": cert.subject.rfc4514_string(),
    }
    client.setdefault("keyCredentials", []).append(entry)
    return {**prints, "subject": entry["displayName"], "keyId": entry["keyId"]}


def certificates(client: dict) -> list[x509.Certificate]:
    return [
        x509.load_der_x509_certificate(base64.b64decode(k["key"]))
        for k in client.get("keyCredentials", [])
        if k.get("type") == "AsymmetricX509Cert"
    ]


def add_trusted_subject(
    client: dict, subject_name: str, authority: str | bytes | x509.Certificate
) -> None:
    """SNI: trust any certificate with SUBJECT_NAME (RFC 4514, e.g. "CN=app.contoso.example")
    issued by AUTHORITY, sent whole in the assertion's x5c header. Entra trusts only certain
    CAs; here the registration names its CA."""
    client.setdefault("trustedCertificateSubjects", []).append(
        {"subjectName": subject_name, "authorityCertificate": _der(load_certificate(authority))}
    )


def trusted_subjects(client: dict) -> list[tuple[str, x509.Certificate]]:
    return [
        (
            t["subjectName"],
            x509.load_der_x509_certificate(base64.b64decode(t["authorityCertificate"])),
        )
        for t in client.get("trustedCertificateSubjects", [])
    ]


def add_federated_credential(
    client: dict,
    issuer: str,
    subject: str,
    audiences: list[str] | tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,),
    name: str | None = None,
    jwks: dict | None = None,
) -> dict:
    """A federated identity credential: tokens from ISSUER about SUBJECT, for one of
    AUDIENCES, authenticate the app. Matching is exact and case-sensitive, as in Entra.

    JWKS: the keys of an issuer the emulator does not serve (it never fetches them)."""
    if not issuer or not subject or not audiences:
        raise ValueError("a federated identity credential needs an issuer, subject and audience")
    if len(client.get("federatedIdentityCredentials", [])) >= MAX_FEDERATED_CREDENTIALS:
        raise ValueError(
            f"an app can have at most {MAX_FEDERATED_CREDENTIALS} federated credentials"
        )
    entry = {
        "name": name or f"credential-{len(client.get('federatedIdentityCredentials', [])) + 1}",
        "issuer": issuer,
        "subject": subject,
        "audiences": list(audiences),
    }
    if jwks is not None:
        entry["jwks"] = jwks
    client.setdefault("federatedIdentityCredentials", []).append(entry)
    return dict(entry)
