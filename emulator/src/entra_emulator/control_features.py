"""Control API for faults, token variants, the clock and the request log (/_emulator).

Every call here has a twin on EmulatorState and on the Emulator handle (see README.md).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from .control import _json, _loopback_only, _state, _user_id  # shared with the older knobs
from .fault_rules import legacy_rule, parse_schedule
from .faults import FaultRuleError
from .parsing import ascii_int, json_number
from .token_variants import VariantError, parse_variant

bp = Blueprint("control_features", __name__, url_prefix="/_emulator")
bp.before_request(_loopback_only)


def _error(message: str) -> ResponseReturnValue:
    return jsonify({"error": message}), 400


@bp.post("/faults")
def set_faults() -> ResponseReturnValue:
    """A schedule `{"seed", "rules"}`, or the original single fault `{"status"|"delay", ...}`."""
    body = _json()
    try:
        if "rules" in body:
            rules, seed = parse_schedule(body)
        else:
            rules, seed = [legacy_rule(body)], 0
    except FaultRuleError as error:
        return _error(str(error))
    _state().set_fault_rules(rules, seed)
    return jsonify(_state().faults.snapshot())


@bp.get("/faults")
def get_faults() -> ResponseReturnValue:
    return jsonify(_state().faults.snapshot())


@bp.delete("/faults")
def clear_faults() -> ResponseReturnValue:
    _state().clear_fault_rules()
    return "", 204


@bp.post("/token-variants")
def add_token_variant() -> ResponseReturnValue:
    body = _json()
    try:
        variant = parse_variant(body, _user_id(body.get("user")))
    except VariantError as error:
        return _error(str(error))
    _state().add_token_variant(variant)
    return jsonify(variant.to_json())


@bp.get("/token-variants")
def token_variants() -> ResponseReturnValue:
    return jsonify({"value": [v.to_json() for v in _state().token_variants.pending()]})


@bp.delete("/token-variants")
def clear_token_variants() -> ResponseReturnValue:
    _state().token_variants.clear()
    return "", 204


@bp.get("/clock")
def clock() -> ResponseReturnValue:
    return jsonify({"offset": _state().clock.offset, "now": _state().clock.now()})


@bp.post("/clock")
def set_clock() -> ResponseReturnValue:
    """`{"offset": S}` sets the shift; `{"advance": S}` adds to it."""
    body = _json()
    key = "advance" if "advance" in body else "offset"
    seconds = json_number(body.get(key))
    if seconds is None:
        return _error("give 'offset' or 'advance' in seconds")
    if key == "advance":
        _state().advance_clock(seconds)
    else:
        _state().set_clock_offset(seconds)
    return clock()


@bp.get("/requests")
def requests_log() -> ResponseReturnValue:
    """Filters: method, path (glob), status, client_id, user (oid or UPN), client_request_id."""
    args = request.args
    status = ascii_int(args["status"], 3) if "status" in args else None
    if "status" in args and status is None:
        return _error("'status' must be an HTTP status code")
    entries = _state().request_log.query(
        method=args.get("method"),
        path=args.get("path"),
        status=status,
        client_id=args.get("client_id"),
        user=args.get("user"),
        client_request_id=args.get("client_request_id"),
    )
    return jsonify({"value": [e.to_json() for e in entries]})


@bp.delete("/requests")
def clear_requests() -> ResponseReturnValue:
    _state().request_log.clear()
    return "", 204


@bp.post("/features/reset")
def reset_features() -> ResponseReturnValue:
    """Fault rules, token variants, clock offset and request log back to the start."""
    _state().reset_features()
    return "", 204
