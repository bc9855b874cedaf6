"""Requests for a host the app does not serve: 127.0.0.1 sent on to localhost, others refused.

With TRUSTED_HOSTS=localhost:5000 (the demo, and the redirect URI registered in Entra),
http://127.0.0.1:5000/ is a common first try; werkzeug would answer it with a plain-text
400. A loopback alias (127.0.0.1, [::1]) of a trusted `localhost:PORT` entry with the same
port is redirected there, same path and query. The target is always the trusted entry,
never anything the request sent, so this is no open redirect. Any other untrusted host gets
a small page instead of plain text.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from flask import Flask
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from app_config import Settings

LOOPBACK_ALIASES = frozenset({"127.0.0.1", "[::1]"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
# Static on purpose: nothing from the request, no links (they would use the same host).
UNKNOWN_HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Unknown host name</title></head>
<body>
<h1>This site does not answer to that host name</h1>
<p>Use the address it is configured for (its <code>TRUSTED_HOSTS</code>).</p>
</body>
</html>
"""
# These answers never reach Flask, so security_headers.py does not see them.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def init_app(app: Flask, settings: Settings) -> None:
    """Wrap the app (inside ProxyFix, when there is one: it must see the forwarded host)."""
    if settings.trusted_hosts:
        app.wsgi_app = CanonicalHost(app.wsgi_app, settings.trusted_hosts)


class CanonicalHost:
    """WSGI middleware: trusted hosts pass; loopback aliases are redirected; others refused."""

    def __init__(self, wsgi_app, trusted_hosts: Iterable[str]) -> None:
        self.wsgi_app = wsgi_app
        self.trusted_hosts = [h.lower() for h in trusted_hosts]

    def __call__(self, environ, start_response):
        request = Request(environ)
        host = request.host  # "" when the Host header has characters no host name has
        if host_is_trusted(host, self.trusted_hosts):
            return self.wsgi_app(environ, start_response)
        target = loopback_target(host, request.scheme, self.trusted_hosts)
        if target is None:
            response = Response(UNKNOWN_HOST_PAGE, 400, mimetype="text/html")
        else:
            # 307 keeps a form's method and body; a page view is an ordinary 302.
            code = 302 if request.method in ("GET", "HEAD") else 307
            response = redirect(same_place(request, target), code)
        response.headers.update(HEADERS)
        return response(environ, start_response)


def same_place(request: Request, host: str) -> str:
    """The request's URL on HOST: its path re-encoded, its query string as it was sent."""
    path = quote(request.root_path + request.path, safe="/!$&'()*+,;=:@")
    query = quote(request.query_string, safe="!$&'()*+,/:;=?@%")
    return f"{request.scheme}://{host}{path}" + (f"?{query}" if query else "")


def loopback_target(host: str, scheme: str, trusted_hosts: Iterable[str]) -> str | None:
    """The trusted `localhost[:port]` that HOST, a loopback alias, stands for; else None."""
    name, port = _split(host, scheme)
    if name not in LOOPBACK_ALIASES:
        return None
    for entry in trusted_hosts:
        if _split(entry, scheme) == ("localhost", port):
            return f"localhost:{port}" if port else "localhost"
    return None


def _split(host: str, scheme: str) -> tuple[str, str]:
    """(name, port) in lower case; the port empty when it is the scheme's default."""
    host = host.lower()
    if host.startswith("["):
        name, bracket, rest = host.partition("]")
        name, port = name + bracket, rest.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    return name, "" if port == DEFAULT_PORTS.get(scheme) else port
