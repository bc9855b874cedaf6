"""A bounded log of the requests the emulator answered, for tests to query.

It keeps method, path (never the query string), status, client id, user, the
client-request-id header and the time; never tokens, codes, secrets or query values.
Control API calls are not logged, so asking the log does not change it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import threading
from collections import deque
from dataclasses import asdict, dataclass

from flask import Flask, Response, g, request

DEFAULT_CAPACITY = 1000
MAX_HEADER = 200  # a client-request-id longer than this is cut, so one caller cannot flood us
BATCH_ENVIRON_KEY = "entra_emulator.batch"  # set on the environ of a $batch sub-request
CONTROL_BLUEPRINTS = frozenset({"control", "control_features"})


@dataclass(frozen=True)
class LoggedRequest:
    time: float  # emulator clock, seconds since the epoch
    method: str
    path: str
    status: int
    client_id: str | None
    user_oid: str | None
    user_upn: str | None
    client_request_id: str | None
    fault: str | None  # the fault rule that answered or delayed it
    batch: bool  # a sub-request of a Graph $batch

    def to_json(self) -> dict:
        body = asdict(self)
        body["timestamp"] = dt.datetime.fromtimestamp(self.time, dt.UTC).isoformat()
        return body


class RequestLog:
    """The newest `capacity` requests, oldest first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def query(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        client_id: str | None = None,
        user: str | None = None,
        client_request_id: str | None = None,
        since: float | None = None,
    ) -> list[LoggedRequest]:
        """Entries matching every filter given; `path` is a glob, `user` an oid or a UPN."""
        with self._lock:
            entries = list(self._entries)
        return [
            e
            for e in entries
            if (method is None or e.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(e.path, path))
            and (status is None or e.status == status)
            and (client_id is None or e.client_id == client_id)
            and (user is None or user.lower() in (e.user_oid, (e.user_upn or "").lower()))
            and (client_request_id is None or e.client_request_id == client_request_id)
            and (since is None or e.time >= since)
        ]


def safe_path(path: str) -> str:
    # A download path is a bearer credential; logs show only that it was one.
    return "/_download/..." if path.startswith("/_download/") else path


def install(app: Flask) -> None:
    """Log every request this app answers, except the control API's own."""

    @app.after_request
    def _log(response: Response) -> Response:
        if request.blueprint in CONTROL_BLUEPRINTS:
            return response
        state = app.extensions["emulator"]
        user = g.get("user") or {}
        header = request.headers.get("client-request-id")
        state.request_log.add(
            LoggedRequest(
                time=state.clock.now(),
                method=request.method,
                path=safe_path(request.path),
                status=response.status_code,
                client_id=g.get("client_id"),
                user_oid=user.get("id"),
                user_upn=user.get("userPrincipalName"),
                client_request_id=header[:MAX_HEADER] if header else None,
                fault=g.get("fault"),
                batch=bool(request.environ.get(BATCH_ENVIRON_KEY)),
            )
        )
        return response
