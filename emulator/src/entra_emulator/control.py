"""Test and demo knobs under /_emulator on the HTTPS listener (loopback only, no auth)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, make_response, request
from flask.typing import ResponseReturnValue

from . import cae
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
    """Revoke a user's refresh tokens; Graph challenges their CAE tokens, others stay valid."""
    user_id = _user_id(_json().get("user"))
    if user_id is None:
        return jsonify({"error": "give 'user' (UPN or object id)"}), 400
    return jsonify({"revoked": _state().revoke(user_id)})


def _required_user() -> str:
    user_id = _user_id(_json().get("user"))
    if user_id is None:
        abort(make_response(jsonify({"error": "give 'user' (UPN or object id)"}), 400))
    return user_id


@bp.post("/location-changed")
def location_changed() -> ResponseReturnValue:
    """The user's IP left the trusted locations: Graph challenges their CAE tokens."""
    state = _state()
    event = state.cae.critical_event(_required_user(), state.clock.now(), cae.LOCATION)
    return jsonify({"event": event})


@bp.post("/critical-event")
def critical_event() -> ResponseReturnValue:
    """A critical event (say, high user risk): Graph challenges the user's CAE tokens."""
    state = _state()
    return jsonify({"event": state.cae.critical_event(_required_user(), state.clock.now())})


@bp.post("/require-mfa")
def require_mfa() -> ResponseReturnValue:
    """Conditional Access now wants MFA: token requests answer AADSTS50076 until it is done."""
    _state().cae.require_mfa(_required_user())
    return "", 204


@bp.post("/expire-tokens")
def expire_tokens() -> ResponseReturnValue:
    return jsonify({"expired_before": _state().expire_tokens()})


@bp.post("/settings")
def settings() -> ResponseReturnValue:
    lifetime = _json().get("access_token_lifetime")
    try:
        _state().set_access_token_lifetime(lifetime)
    except ValueError as error:
        return jsonify({"error": str(error)}), 400
    return jsonify({"access_token_lifetime": lifetime})


@bp.post("/consent/reset")
def reset_consent() -> ResponseReturnValue:
    _state().reset_consent(_user_id(_json().get("user")))
    return "", 204


@bp.get("/counters")
def counters() -> ResponseReturnValue:
    return jsonify(_state().counters_snapshot())


@bp.post("/counters/reset")
def reset_counters() -> ResponseReturnValue:
    _state().reset_counters()
    return "", 204


@bp.post("/reset")
def reset() -> ResponseReturnValue:
    """Everything back to how it was at start (see EmulatorState.reset)."""
    _state().reset()
    return "", 204
