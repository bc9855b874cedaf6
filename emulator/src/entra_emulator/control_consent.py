"""Control API for the tenant's consent settings and tenant-wide admin consent (/_emulator).

Twins of the handle's set_user_consent_allowed, set_admin_consent_workflow,
grant_admin_consent and admin_consent_requests (see README.md).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from .control import _json, _loopback_only, _state  # shared with the older knobs
from .scopes import ScopeError, parse_scopes

bp = Blueprint("control_consent", __name__, url_prefix="/_emulator")
bp.before_request(_loopback_only)
SETTINGS = ("user_consent_allowed", "admin_consent_workflow")


@bp.get("/tenant-settings")
def tenant_settings() -> ResponseReturnValue:
    return jsonify(_state().set_tenant_settings())


@bp.post("/tenant-settings")
def set_tenant_settings() -> ResponseReturnValue:
    """`{"user_consent_allowed": false, "admin_consent_workflow": true}`, either or both."""
    body = _json()
    if not body or any(k not in SETTINGS or not isinstance(body[k], bool) for k in body):
        return jsonify({"error": f"give booleans for {' and/or '.join(SETTINGS)}"}), 400
    return jsonify(_state().set_tenant_settings(**body))


@bp.post("/admin-consent")
def grant_admin_consent() -> ResponseReturnValue:
    """`{"scopes": [...], "client_id": ...}`: an admin consented for the whole tenant."""
    body = _json()
    state = _state()
    scopes = body.get("scopes")
    client_id = body.get("client_id") or state.directory.client["client_id"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        return jsonify({"error": "give 'scopes', a list of permission names"}), 400
    if state.directory.find_client(client_id) is None:
        return jsonify({"error": f"no app registration {client_id!r}"}), 404
    try:
        wanted = parse_scopes(" ".join(scopes))
    except ScopeError as error:
        return jsonify({"error": str(error)}), 400
    state.add_tenant_consent(state.directory.tenant_id, client_id, wanted.all_for_consent())
    return jsonify({"client_id": client_id, "scopes": wanted.all_for_consent()})


@bp.get("/admin-consent-requests")
def admin_consent_requests() -> ResponseReturnValue:
    return jsonify({"value": _state().admin_consent_requests_json()})
