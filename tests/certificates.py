"""Keys and X.509 certificates made for a test, written as the app reads them: one PEM file
with the private key and the certificate (`cat key.pem cert.pem > client.pem`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@cache
def rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    """The n-th test key (made once per test run: RSA key generation takes a while)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    key,
    subject: str = "python-webapp client",
    *,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    days: tuple[int, int] = (-1, 365),
    ca: bool = False,
) -> x509.Certificate:
    """A certificate for KEY's public key, self-signed unless ISSUER (cert, key) signs it;
    valid from days[0] to days[1] from now."""
    now = datetime.now(UTC)
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days[0]))
        .not_valid_after(now + timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signing_key, hashes.SHA256())


def key_pem(key, password: str | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class CertificateFile:
    path: Path
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return cert_pem(self.certificate).decode()

    @property
    def sha1_thumbprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - Entra's x5t


def write_client_pem(
    directory: Path,
    key=None,
    cert: x509.Certificate | None = None,
    *,
    password: str | None = None,
    extra: bytes = b"",
    name: str = "client.pem",
) -> CertificateFile:
    """KEY (encrypted with PASSWORD) then CERT (and EXTRA) in one file, as README says."""
    key = key or rsa_key()
    cert = cert or certificate(key)
    path = directory / name
    path.write_bytes(key_pem(key, password) + cert_pem(cert) + extra)
    return CertificateFile(path, cert)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())
