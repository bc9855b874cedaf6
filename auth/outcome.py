"""How a sign-in that failed at the redirect URI went, carried across one redirect.

The identity provider's form_post is a cross-site POST, which the Lax session cookie
does not come with, so a page rendered in answer to it would show a signed-in user as
signed out. The POST is answered with a 303 to the redirect URI's GET instead, and
what went wrong travels in a cookie: short-lived, only sent to the redirect URI, and
signed with the app's key so no other site can make our page say something. It holds
only what the page shows (never the code, the state or a token).
"""

from __future__ import annotations

import logging

from flask import Request, Response, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .errors import AuthError
from .sign_in import safe_next_path

log = logging.getLogger(__name__)
OUTCOME_COOKIE = "sign_in_outcome"
# Long enough for the 303 and a reload of the page it leads to.
MAX_AGE = 120
# The identity provider's description (an AADSTS code, trace and correlation ids) is
# about 250 characters; past this it is cut, so the cookie stays far below 4 KB.
MAX_DESCRIPTION = 600
MAX_ERROR = 100
_STEPS = ("discovery", "redeem", "refresh", "")


def remember(response: Response, failure: AuthError, *, path: str, https: bool) -> Response:
    """Keep `failure` in this browser for the page the 303 leads to."""
    value = _serializer().dumps(
        {
            "reason": failure.reason,
            "status": failure.status,
            "error": (failure.error or "")[:MAX_ERROR] or None,
            "description": _shorten(failure.description),
            "scopes": list(failure.scopes),
            "next": failure.next_path,
            "step": failure.step,
        }
    )
    response.set_cookie(
        OUTCOME_COOKIE,
        value,
        max_age=MAX_AGE,
        path=path,
        secure=https,
        httponly=True,
        samesite="Lax",
    )
    return response


def recall(request: Request) -> AuthError | None:
    """The failure kept by `remember`, if this browser has one that is recent and ours."""
    value = request.cookies.get(OUTCOME_COOKIE)
    if not value:
        return None
    try:
        kept = _serializer().loads(value, max_age=MAX_AGE)
        return AuthError(
            str(kept["reason"]),
            status=int(kept["status"]),
            error=kept["error"],
            description=kept["description"],
            scopes=[str(scope) for scope in kept["scopes"]],
            next_path=safe_next_path(kept["next"]),
            step=kept["step"] if kept["step"] in _STEPS else "",
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        log.info("sign-in outcome cookie ignored: expired or not ours")
        return None


def forget(response: Response, *, path: str) -> Response:
    response.delete_cookie(OUTCOME_COOKIE, path=path, httponly=True, samesite="Lax")
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="sign-in-outcome")


def _shorten(description: str | None) -> str | None:
    if description is None or len(description) <= MAX_DESCRIPTION:
        return description
    return description[: MAX_DESCRIPTION - 1] + "\u2026"
