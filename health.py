"""/healthz: whether this process and its session store answer, for load balancers and probes.

Answered in front of Flask, so a probe opens no session, writes nothing, gets no cookie
and costs one Redis PING (or one folder check): cheap enough every second. It is also
answered whatever the Host header says: probes address a container or pod by its IP, and
the answer builds no URL and says nothing but "ok" or what is unavailable.

`python -m health` asks this machine's app (port $PORT, default 8000) and exits 0 when it
answers 200: the container's HEALTHCHECK.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.request
from collections.abc import Callable, Iterable

import redis
from flask import Flask

from app_config import Settings

HEALTH_PATH = "/healthz"
# Long enough for a Redis that answers within its own timeouts.
PROBE_TIMEOUT = 5
log = logging.getLogger(__name__)

# None when healthy, else what is unavailable, e.g. {"store": "redis"}.
Probe = Callable[[], "dict[str, str] | None"]


def init_app(app: Flask, settings: Settings | None) -> None:
    """Answer /healthz for `app`; without settings (configuration problems) always 503."""
    probe = _store_probe(app, settings) if settings else _misconfigured
    app.wsgi_app = HealthCheck(app.wsgi_app, probe)  # type: ignore[method-assign]


class HealthCheck:
    """WSGI middleware: GET or HEAD /healthz is answered here, everything else passes on."""

    def __init__(self, wsgi_app: Callable, probe: Probe) -> None:
        self.wsgi_app = wsgi_app
        self.probe = probe

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != HEALTH_PATH or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        unavailable = self.probe()
        if unavailable is None:
            status, answer = "200 OK", {"status": "ok"}
        else:
            status, answer = "503 Service Unavailable", {"status": "unavailable", **unavailable}
        body = json.dumps(answer).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]


def _misconfigured() -> dict[str, str]:
    return {"configuration": "invalid"}


def _store_probe(app: Flask, settings: Settings) -> Probe:
    if settings.session_type == "redis":
        # The sessions' own client: its socket timeouts bound how long a probe can take.
        client: redis.Redis = app.session_interface.redis_client  # type: ignore[attr-defined]
        return _Watch("redis", client.ping)
    folders = (settings.session_file_dir, settings.sign_in_file_dir)
    return _Watch("filesystem", lambda: _check_writable(folders))


class _Watch:
    """Runs a store check; logs once when the store stops answering and once when it is back."""

    def __init__(self, store: str, check: Callable[[], object]) -> None:
        self.store = store
        self.check = check
        self.failing = False

    def __call__(self) -> dict[str, str] | None:
        try:
            self.check()
        except (redis.RedisError, OSError) as error:
            if not self.failing:
                name = type(error).__name__
                log.warning("health: the %s session store does not answer (%s)", self.store, name)
            self.failing = True
            return {"store": self.store}
        if self.failing:
            log.info("health: the %s session store answers again", self.store)
        self.failing = False
        return None


def _check_writable(folders: Iterable[str]) -> None:
    """Raise OSError unless each folder (or, not made yet, the folder it goes in) is writable."""
    for folder in folders:
        target = folder if os.path.lexists(folder) else os.path.dirname(os.path.abspath(folder))
        if not os.path.isdir(target):
            raise NotADirectoryError(target)
        if not os.access(target, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write in {target}")


def main() -> int:
    """Exit 0 when the app on this machine answers /healthz with 200, else 1."""
    url = f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}{HEALTH_PATH}"
    try:
        # A fixed http URL on loopback, not one a user chose.
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as answer:  # noqa: S310
            return 0 if answer.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
