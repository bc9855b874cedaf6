"""One log line per request, and the request id every log line of that request carries.

`RequestLog` wraps the WSGI app and its middleware (only /healthz answers outside it,
so probes are not logged): it gives each request an id (the proxy's `X-Request-Id` if
it is a short safe token, else a new one), sends it back as `X-Request-Id`, and once
the app has answered logs the method, the path without its query (search terms and
"more" cursors are personal data), the status and the duration.
Every log record made while a request runs carries that id as `request_id`, so the
sign-in events and Graph calls of one request can be found together.

Werkzeug's development server (`flask run`) logs its own request line, query included:
that line is dropped (ours replaces it) and queries are cut from its other lines.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from urllib.parse import quote

from flask import Flask

REQUEST_ID_HEADER = "X-Request-Id"
# What an incoming id may look like: a proxy's UUID or hex id, never text for the log.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Longer paths are cut: a log line stays short whatever a request carries.
MAX_LOGGED_PATH = 300
LOGGED_PATH_KEY = "request_log.path"
# Werkzeug's request line ends with this format; it holds the query.
_DEV_SERVER_REQUEST_LINE = '"%s" %s %s'
_QUERY = re.compile(r"\?[^\s\"']*")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Log every request of `app` (call it after every middleware it should wrap)."""
    _stamp_records_with_request_id()
    _quiet_dev_server_request_lines()
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]


class RequestLog:
    """WSGI middleware: a request id for each request, and one log line when it ends."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        _request_id.set(request_id)
        started = time.perf_counter()
        status = ["-"]

        def start_with_id(status_line: str, headers: list, exc_info=None):
            status[0] = status_line.split(" ", 1)[0]
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_with_id)
        except BaseException:
            status[0] = "500"
            raise
        finally:
            # Flask has built the whole response by now (it sends no streams).
            _log_request(environ, status[0], started)
            _request_id.set(None)


def request_id_for(offered: str | None) -> str:
    """The incoming id if it is a short safe token, else a new random one."""
    if offered and _SAFE_REQUEST_ID.fullmatch(offered):
        return offered
    return secrets.token_hex(8)


def loggable_path(environ: dict) -> str:
    """The request's path, no query, percent-encoded again so no control character is logged."""
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    # WSGI hands the path over as bytes decoded as latin-1.
    encoded = quote(path.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=")
    if len(encoded) > MAX_LOGGED_PATH:
        return encoded[:MAX_LOGGED_PATH] + "..."
    return encoded


def _log_request(environ: dict, status: str, started: float) -> None:
    method = environ.get("REQUEST_METHOD", "-")[:16]
    path = loggable_path(environ)
    # For gunicorn's access log, if it is turned on: the same safe path (gunicorn.conf.py).
    environ[LOGGED_PATH_KEY] = path
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    status_code = int(status) if status.isdigit() else None
    log.info(
        "%s %s %s %.0f ms",
        method,
        path,
        status,
        duration_ms,
        extra={"method": method, "path": path, "status": status_code, "duration_ms": duration_ms},
    )


def _stamp_records_with_request_id() -> None:
    """Every log record made during a request gets its `request_id` (once per process)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "stamps_request_id", False):
        return

    def make_stamped_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
        return record

    make_stamped_record.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_stamped_record)


class _DevServerFilter(logging.Filter):
    """Werkzeug's own request line goes (ours replaces it); its other lines lose queries."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.endswith(_DEV_SERVER_REQUEST_LINE):
            return False
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("?...", message), ()
        return True


def _quiet_dev_server_request_lines() -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DevServerFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_DevServerFilter())
