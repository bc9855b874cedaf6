"""What a restart of the emulator keeps in its state folder, so signed-in users stay signed in.

The token signing key (their tokens still verify), and in kept-state.json their consents,
the admin-granted ones, their refresh-token grants and the access tokens issued to them.
Sign-ins under way, codes, the emulator's own browser sessions, CAE events, added users and
clients, and the test knobs (faults, variants, clock, counters) start afresh, as after reset().
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .cae import SignInEvidence
from .certs import write_private
from .scopes import RequestedScopes
from .state import EmulatorState, RefreshGrant
from .tokens import new_signing_key

SIGNING_KEY_FILE = "token-signing-key.pem"
KEPT_STATE_FILE = "kept-state.json"
FORMAT = 1
# Bounds on what is kept (the newest): a refresh issues a grant and an access token each.
MAX_GRANTS = 1000
MAX_ACCESS_TOKENS = 5000
log = logging.getLogger("entra_emulator")


def signing_key(state_dir: Path) -> rsa.RSAPrivateKey:
    """The key in STATE_DIR, made and written (owner-only) the first time."""
    path = state_dir / SIGNING_KEY_FILE
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        key = None
    except ValueError:
        log.warning("%s is not a private key: making a new one (tokens issued before fail)", path)
        key = None
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    key = new_signing_key()
    state_dir.mkdir(parents=True, exist_ok=True)
    write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return key


class StateKeeper:
    """Reads kept-state.json into an EmulatorState once, and writes it after each change."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / KEPT_STATE_FILE

    def restore(self, state: EmulatorState) -> None:
        try:
            kept = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            log.warning("cannot read %s (%s): signed-in users must sign in again", self.path, error)
            return
        try:
            _restore(state, kept)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            log.warning(
                "%s is not as expected (%r): signed-in users must sign in again", self.path, error
            )
            state.reset()

    def save(self, state: EmulatorState) -> None:
        """Called with state.lock held, so what is written is one consistent moment."""
        data = json.dumps(_snapshot(state), separators=(",", ":"))
        tmp = self.path.with_suffix(".json.tmp")
        # Refresh tokens are secrets: owner-only, and renamed in whole so no reader sees half.
        write_private(tmp, data.encode("utf-8"))
        os.replace(tmp, self.path)


def _snapshot(state: EmulatorState) -> dict:
    grants = list(state.refresh_tokens.items())[-MAX_GRANTS:]
    issued = list(state.access_tokens_issued.items())[-MAX_ACCESS_TOKENS:]
    return {
        "format": FORMAT,
        "consents": [[u, c, sorted(s)] for (u, c), s in state.consents.items()],
        "tenant_consents": [[t, c, sorted(s)] for (t, c), s in state.tenant_consents.items()],
        "refresh_tokens": [[token, _grant_json(grant)] for token, grant in grants],
        "access_tokens_issued": dict(issued),
        "expired_before": state.expired_before,
    }


def _restore(state: EmulatorState, kept: dict) -> None:
    if kept.get("format") != FORMAT:
        raise ValueError(f"format {kept.get('format')!r}, not {FORMAT}")
    with state.lock:
        state.consents = {(u, c): set(s) for u, c, s in kept["consents"]}
        state.tenant_consents = {(t, c): set(s) for t, c, s in kept["tenant_consents"]}
        state.refresh_tokens = {t: _grant(g) for t, g in kept["refresh_tokens"]}
        state.access_tokens_issued = {
            str(uti): float(at) for uti, at in kept["access_tokens_issued"].items()
        }
        state.expired_before = float(kept["expired_before"])


def _grant_json(grant: RefreshGrant) -> dict:
    evidence = grant.evidence
    return {
        "authority": grant.authority,
        "client_id": grant.client_id,
        "user_id": grant.user_id,
        "scopes": {
            "graph": sorted(grant.scopes.graph),
            "oidc": sorted(grant.scopes.oidc),
            "default": grant.scopes.default,
        },
        "sid": grant.sid,
        "revoked": grant.revoked,
        "evidence": {
            "capabilities": list(evidence.capabilities),
            "fresh_since": evidence.fresh_since,
            "mfa": evidence.mfa,
            "signed_in_at": evidence.signed_in_at,
        },
    }


def _grant(data: dict) -> RefreshGrant:
    scopes, evidence = data["scopes"], data["evidence"]
    return RefreshGrant(
        authority=str(data["authority"]),
        client_id=str(data["client_id"]),
        user_id=str(data["user_id"]),
        scopes=RequestedScopes(
            frozenset(scopes["graph"]), frozenset(scopes["oidc"]), bool(scopes["default"])
        ),
        sid=str(data["sid"]),
        revoked=bool(data["revoked"]),
        evidence=SignInEvidence(
            tuple(evidence["capabilities"]),
            float(evidence["fresh_since"]),
            bool(evidence["mfa"]),
            float(evidence["signed_in_at"]),
        ),
    )
