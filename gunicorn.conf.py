"""gunicorn's settings for this app: `gunicorn -c gunicorn.conf.py` (see README, "Production").

Read from the environment (and `.env`, as the app reads it):

| Variable | Default |
| --- | --- |
| `WEB_CONCURRENCY` or `GUNICORN_WORKERS` | 2 x the cores this process may use + 1 |
| `GUNICORN_THREADS` | 4 per worker (pages mostly wait for Graph) |
| `GUNICORN_BIND` | `0.0.0.0:$PORT`, `PORT` defaulting to 8000 |
| `GUNICORN_TIMEOUT`, `GUNICORN_GRACEFUL_TIMEOUT` | 60 and 30 seconds |

`TRUSTED_PROXY_HOPS` and `LOG_FORMAT` are the app's own settings, read here through
app_config so gunicorn and the app agree on them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dotenv import load_dotenv
from gunicorn.glogging import Logger

HERE = Path(__file__).resolve().parent
# The `gunicorn` script does not put the current folder on sys.path; the app lives here.
sys.path.insert(0, str(HERE))

import log_format  # noqa: E402 - needs the path above
from app_config import load_settings  # noqa: E402 - needs the path above

load_dotenv()
# Any problems are the app's to show, on its pages; here only two settings are read.
_settings, _ = load_settings(os.environ)


def _whole_number(name: str, default: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {raw!r}.")
    return int(raw)


def _cores() -> int:
    # The cores this process may run on (fewer than the machine's under taskset or cpusets).
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


wsgi_app = "app:create_app()"
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
workers = _whole_number("WEB_CONCURRENCY", _whole_number("GUNICORN_WORKERS", 2 * _cores() + 1))
threads = _whole_number("GUNICORN_THREADS", 4)
# With threads, gunicorn runs gthread workers: a slow page holds a thread, not the worker.
worker_class = "gthread"
# Longer than a page can take (PAGE_DEADLINE for Graph plus a token refresh).
timeout = _whole_number("GUNICORN_TIMEOUT", 60)
# How long in-flight requests may finish on SIGTERM before workers are stopped.
graceful_timeout = _whole_number("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Workers' heartbeat files on tmpfs, not on a container's overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs
# Nothing here uses gunicornc: no control socket listening, none written under $HOME.
control_socket_disable = True

# The app's ProxyFix believes X-Forwarded-* from TRUSTED_PROXY_HOPS proxies; gunicorn
# believes forwarded headers only then too (by default it would from 127.0.0.1, so a
# local client could claim https). No proxy may set SCRIPT_NAME or PATH_INFO.
forwarded_allow_ips = "*" if _settings.trusted_proxy_hops > 0 else ""
forwarder_headers = ""

# The app logs one line per request itself (request_log.py), in every server, so
# gunicorn's access log is off. Turned on (--access-logfile -), it carries no query: the
# method, the path as the app logs it (no query, control characters escaped), the
# status, milliseconds and the request id.
accesslog = None
access_log_format = '"%(m)s %({request_log.path}e)s" %(s)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"


class AppFormatLogger(Logger):
    """gunicorn's own lines (start-up, workers, its access log if on) in LOG_FORMAT too."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = log_format.formatter(_settings.log_format)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(formatter)


logger_class = AppFormatLogger
