"""Test and demo knobs under /_emulator on the HTTPS listener (loopback only, no auth)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, make_response, request
from flask.typing import ResponseReturnValue

from .parsing import json_int
from .state import EmulatorState

bp = Blueprint("control", __name__, url_prefix="/_emulator")


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


@bp.before_request
def _loopback_only() -> None:
    if request.remote_addr not in ("127.0.0.1", "::1"):
        abort(403)


def _json() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _user_id(key: str | None) -> str | None:
    if not key:
        return None
    user = _state().directory.find_user(key)
    if user is None:
        abort(make_response(jsonify({"error": f"unknown user {key!r}"}), 404))
    return user["id"]


@bp.post("/revoke")
def revoke() -> ResponseReturnValue:
    """Revoke a user's refresh tokens; access tokens stay valid, as in Entra without CAE."""
    user_id = _user_id(_json().get("user"))
    if user_id is None:
        return jsonify({"error": "give 'user' (UPN or object id)"}), 400
    with _state().lock:
        grants = [g for g in _state().refresh_tokens.values() if g.user_id == user_id]
        for grant in grants:
            grant.revoked = True
    return jsonify({"revoked": len(grants)})


@bp.post("/expire-tokens")
def expire_tokens() -> ResponseReturnValue:
    with _state().lock:
        _state().expired_before = _state().clock.now()
    return jsonify({"expired_before": _state().expired_before})


@bp.post("/settings")
def settings() -> ResponseReturnValue:
    lifetime = json_int(_json().get("access_token_lifetime"))
    if lifetime is None or lifetime < 1:
        return jsonify({"error": "access_token_lifetime must be a positive integer"}), 400
    with _state().lock:
        _state().access_token_lifetime = lifetime
    return jsonify({"access_token_lifetime": lifetime})


@bp.post("/consent/reset")
def reset_consent() -> ResponseReturnValue:
    user_id = _user_id(_json().get("user"))
    with _state().lock:
        consents = _state().consents
        for key in [k for k in consents if user_id is None or k[0] == user_id]:
            del consents[key]
    return "", 204


@bp.get("/counters")
def counters() -> ResponseReturnValue:
    return jsonify(_state().counters_snapshot())


@bp.post("/counters/reset")
def reset_counters() -> ResponseReturnValue:
    _state().reset_counters()
    return "", 204
