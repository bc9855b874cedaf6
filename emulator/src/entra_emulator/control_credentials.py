"""Control API for app credentials other than secrets: upload a certificate, add a
federated identity credential, mint (and write) a demo workload token."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, make_response
from flask.typing import ResponseReturnValue

from . import client_credentials, federation
from .control import _json, _loopback_only, _state  # shared with the older knobs

bp = Blueprint("control_credentials", __name__, url_prefix="/_emulator")
bp.before_request(_loopback_only)


def _error(status: int, message: str):
    abort(make_response(jsonify({"error": message}), status))


def _client(body: dict) -> dict:
    state = _state()
    client_id = body.get("client_id") or state.directory.client["client_id"]
    client = state.directory.find_client(str(client_id))
    if client is None:
        _error(404, f"no app registration {client_id!r}")
    return client


@bp.post("/client-certificates")
def add_certificate() -> ResponseReturnValue:
    """{"certificate": PEM, "client_id"}: the certificate's thumbprints."""
    body = _json()
    if not isinstance(body.get("certificate"), str):
        _error(400, "give 'certificate' (PEM)")
    with _state().lock:
        try:
            return jsonify(client_credentials.add_certificate(_client(body), body["certificate"]))
        except ValueError:
            _error(400, "'certificate' is not a PEM X.509 certificate")


@bp.post("/federated-credentials")
def add_federated_credential() -> ResponseReturnValue:
    """{"issuer", "subject", "audiences", "name", "client_id"}: the credential added."""
    body = _json()
    audiences = body.get("audiences", [client_credentials.TOKEN_EXCHANGE_AUDIENCE])
    fields = (body.get("issuer"), body.get("subject"), body.get("name") or "")
    if not all(isinstance(v, str) for v in fields) or not (
        isinstance(audiences, list) and all(isinstance(a, str) for a in audiences)
    ):
        _error(400, "give 'issuer' and 'subject' (strings) and optionally 'audiences' (list)")
    with _state().lock:
        try:
            added = client_credentials.add_federated_credential(
                _client(body), fields[0], fields[1], audiences, fields[2] or None
            )
        except ValueError as error:
            _error(400, str(error))
    return jsonify(added)


@bp.post("/federated-token")
def federated_token() -> ResponseReturnValue:
    """{"subject", "audience", "lifetime"} (all optional): a new demo workload token, also
    written to STATE_DIR/federated-token when the emulator listens."""
    body = _json()
    issuer = current_app.extensions["federated_issuer"]
    audience = body.get("audience", client_credentials.TOKEN_EXCHANGE_AUDIENCE)
    subject = body.get("subject")
    if not isinstance(audience, str) or not isinstance(subject, str | None):
        _error(400, "'subject' and 'audience' are strings")
    try:
        token = federation.mint_demo_token(
            _state(),
            issuer,
            subject,
            audience,
            body.get("lifetime", federation.DEFAULT_LIFETIME),
        )
    except ValueError as error:
        _error(400, str(error))
    path = issuer.write_token_file(token)
    return jsonify(
        {
            "token": token,
            "issuer": federation.demo_issuer_url(_state()),
            "path": str(path) if path else None,
        }
    )
