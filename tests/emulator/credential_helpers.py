"""Helpers for the client assertion tests: certificates made at run time, hand-built
assertions, and token requests that stop right after client authentication."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt
import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from emulator_helpers import REDIRECT_URI

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SUBJECT = "CN=app.contoso.example"


@dataclass(frozen=True)
class Credential:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def sha1_hex(self) -> str:
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - x5t is SHA-1

    @property
    def x5t(self) -> str:
        return jwt.utils.base64url_encode(bytes.fromhex(self.sha1_hex)).decode()

    @property
    def x5t_s256(self) -> str:
        return jwt.utils.base64url_encode(self.cert.fingerprint(hashes.SHA256())).decode()


def make_credential(
    subject: str = SUBJECT,
    issuer: Credential | None = None,
    *,
    ca: bool = False,
    days_valid: int = 30,
    expired: bool = False,
) -> Credential:
    """An RSA key and a certificate for it: self-signed, or issued by ISSUER."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=days_valid + 1 if expired else 1)
    end = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=days_valid)
    name = x509.Name.from_rfc4514_string(subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    signer = issuer.key if issuer else key
    return Credential(key, builder.sign(signer, hashes.SHA256()))


def ca_credential() -> Credential:
    return make_credential("CN=Test CA", ca=True)


def token_endpoint(emulator) -> str:
    return f"{emulator.authority}/oauth2/v2.0/token"


def assertion(
    emulator,
    credential: Credential,
    *,
    claims: dict | None = None,
    header: dict | None = None,
    algorithm: str = "RS256",
    key: object = None,
    drop: tuple[str, ...] = (),
) -> str:
    """A client assertion as certificate-credentials describes it, then changed by CLAIMS
    (added or replaced) and DROP (removed); HEADER replaces the x5t header; signed by KEY
    (the credential's by default)."""
    now = int(emulator.now())
    body = {
        "aud": token_endpoint(emulator),
        "iss": emulator.client_id,
        "sub": emulator.client_id,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **(claims or {}),
    }
    for name in drop:
        body.pop(name)
    header = {"x5t": credential.x5t} if header is None else header
    return jwt.encode(body, key or credential.key, algorithm=algorithm, headers=header)


def token_request(emulator, client_assertion: str | None, **fields) -> requests.Response:
    """Redeem a made-up code: a client that authenticates gets AADSTS70000 (bad code)."""
    form = {
        "client_id": emulator.client_id,
        "grant_type": "authorization_code",
        "code": "not-a-code",
        "redirect_uri": REDIRECT_URI,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
        **fields,
    }
    form = {k: v for k, v in form.items() if v is not None}
    with emulator.http_client() as session:
        return session.post(token_endpoint(emulator), data=form, timeout=10)


def aadsts(response: requests.Response) -> str:
    """The AADSTS code the token endpoint answered with, e.g. "AADSTS700027"."""
    return response.json()["error_description"].split(":", 1)[0]


def msal_app(emulator, credential: dict, http_client=None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=credential,
        authority=emulator.authority,
        instance_discovery=False,
        http_client=http_client or emulator.http_client(),
    )


def sign_in(emulator, app, upn: str = "adele@contoso.example", scopes=("User.Read",)) -> dict:
    """MSAL's token response after a headless sign-in, whatever it says."""
    flow = app.initiate_auth_code_flow(
        list(scopes), redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    return app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], upn))
