"""Print the demo's shell exports for roles, groups and credentials, for a running emulator.

Usage: demo_enterprise_env.py STATE_DIR/emulator.json

- FINANCE_GROUP_ID: the demo tenant's Finance Approvers group, for the Finance page.
- DEMO_CREDENTIAL (from the environment) picks how the app authenticates:
  `secret` (the default: the demo client secret), `certificate` (a key and certificate
  made now into .state/, uploaded to the emulator's app registration, as you would in
  Certificates & secrets), or `federated` (the emulator's demo workload token file, as
  AKS projects one).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CERTIFICATE_FILE = Path(".state/demo-client.pem")
FINANCE_GROUP = "Finance Approvers"
# Long enough for a demo afternoon: nothing rotates the emulator's token file meanwhile.
FEDERATED_TOKEN_LIFETIME = 24 * 3600


def finance_group_id() -> str:
    tenant = json.loads(resources.files("entra_emulator").joinpath("tenant.json").read_text())
    return next(g["id"] for g in tenant["groups"] if g["displayName"] == FINANCE_GROUP)


def make_certificate(path: Path) -> str:
    """A new key and self-signed certificate in one PEM file (owner-only); the certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "python-webapp demo")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key_pem + cert_pem)
    return cert_pem.decode()


def control(info: dict, path: str, body: dict) -> dict:
    response = requests.post(
        info["control_url"] + path, json=body, verify=info["ca_bundle"], timeout=10
    )
    response.raise_for_status()
    return response.json()


def credential_env(info: dict, kind: str) -> dict[str, str]:
    if kind == "secret":
        return {}
    if kind == "certificate":
        uploaded = control(
            info, "/client-certificates", {"certificate": make_certificate(CERTIFICATE_FILE)}
        )
        print(
            f"  Credential: certificate {CERTIFICATE_FILE} (thumbprint {uploaded['thumbprint']})",
            file=sys.stderr,
        )
        return {"CLIENT_SECRET": "", "CLIENT_CERTIFICATE_PATH": str(CERTIFICATE_FILE.resolve())}
    if kind == "federated":
        minted = control(info, "/federated-token", {"lifetime": FEDERATED_TOKEN_LIFETIME})
        print(f"  Credential: federated token file {minted['path']}", file=sys.stderr)
        return {"CLIENT_SECRET": "", "AZURE_FEDERATED_TOKEN_FILE": minted["path"]}
    raise SystemExit(f"DEMO_CREDENTIAL={kind!r}: use secret, certificate or federated")


def main(argv: list[str]) -> int:
    info = json.loads(Path(argv[-1]).read_text(encoding="utf-8"))
    env = {"FINANCE_GROUP_ID": finance_group_id()}
    env |= credential_env(info, os.environ.get("DEMO_CREDENTIAL") or "secret")
    for name, value in env.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
