"""The headers every response carries: CSP, no sniffing, no referrer leaks, HSTS, no-store."""

from __future__ import annotations

from flask import Flask, Response, g, request


def content_security_policy(*form_targets: str) -> str:
    """Our pages load nothing from elsewhere and are never framed (no clickjacking).

    `form_targets` are origins a form on this response may lead to: browsers apply
    form-action to the redirects after a form's POST too (sign-out to the IdP).
    """
    form_action = " ".join(("'self'", *form_targets))
    return (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        f"form-action {form_action}; base-uri 'none'"
    )


def init_app(app: Flask) -> None:
    app.after_request(_add_security_headers)


def _add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        # Browsers that have seen the site over https never try plain http again.
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # A signed-in user's pages hold personal data: keep them out of shared caches
    # and out of the back button after sign-out.
    if g.get("user") and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
