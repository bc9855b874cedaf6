"""Entra-shaped OAuth error bodies and descriptions (AADSTS codes)."""

from __future__ import annotations

import uuid

from flask import jsonify
from flask.typing import ResponseReturnValue

from .clock import request_clock


def _timestamp() -> str:
    return request_clock().utcnow().strftime("%Y-%m-%d %H:%M:%SZ")


def describe(aadsts: str, trace_id: str, correlation_id: str) -> str:
    """Entra appends trace ids and a timestamp to every description."""
    return (
        f"{aadsts} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {_timestamp()}"
    )


def code_of(aadsts: str) -> int:
    """The number in 'AADSTS70008: ...'."""
    return int(aadsts.split(":", 1)[0].removeprefix("AADSTS"))


class OAuthError(Exception):
    """An error the token endpoint returns as JSON."""

    def __init__(
        self,
        error: str,
        aadsts: str,
        status: int = 400,
        suberror: str | None = None,
        headers: dict[str, str] | None = None,
        claims: str | None = None,
    ):
        super().__init__(aadsts)
        self.error, self.aadsts, self.status, self.suberror = error, aadsts, status, suberror
        self.headers = headers or {}
        self.claims = claims  # a claims request the next sign-in must carry (JSON text)

    def response(self, correlation_id: str | None = None) -> ResponseReturnValue:
        trace_id = str(uuid.uuid4())
        correlation_id = correlation_id or str(uuid.uuid4())
        body = {
            "error": self.error,
            "error_description": describe(self.aadsts, trace_id, correlation_id),
            "error_codes": [code_of(self.aadsts)],
            "timestamp": _timestamp(),
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
        if self.suberror:
            body["suberror"] = self.suberror
        if self.claims:
            body["claims"] = self.claims
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **self.headers}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="emulator"'
        return jsonify(body), self.status, headers


def unknown_tenant(tenant: str) -> OAuthError:
    return OAuthError(
        "invalid_tenant",
        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
        "tenant ID and are signing into the correct cloud.",
    )
