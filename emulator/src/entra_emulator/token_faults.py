"""Fault rules with target "token", applied before the token endpoint does anything else."""

from __future__ import annotations

import base64
from urllib.parse import unquote_plus

from flask import current_app, g, request
from flask.typing import ResponseReturnValue

from .aad_errors import OAuthError
from .faults import TOKEN_ERRORS


def sent_client_id() -> str:
    """The client id the caller sent (Basic header or form), checked or not; "" if unreadable."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return request.form.get("client_id", "")
    try:
        return unquote_plus(base64.b64decode(header[6:]).decode().partition(":")[0])
    except ValueError:
        return ""


def apply() -> ResponseReturnValue | None:
    """Delay and/or answer with Entra's error JSON; throttling is keyed by the client id."""
    state = current_app.extensions["emulator"]
    g.client_id = sent_client_id()
    decision = state.faults.decide("token", request.method, request.path, g.client_id)
    if not decision:
        return None
    g.fault = decision.rule
    if decision.delay:
        state.clock.sleep(decision.delay)
    if not decision.status:
        return None
    state.count("token")
    error, aadsts = TOKEN_ERRORS[decision.status]
    headers = {} if decision.retry_after is None else {"Retry-After": str(decision.retry_after)}
    fault = OAuthError(error, aadsts, decision.status, headers=headers)
    return fault.response(request.headers.get("client-request-id"))
