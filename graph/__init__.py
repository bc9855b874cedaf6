"""Everything this app knows about Microsoft Graph.

`client` sends requests (pooling, timeouts, retries, errors); `resources` knows what
to ask for and turns Graph's JSON into the view models of `models`. `init_app(app,
settings)` binds one client per app; pages get it with `current_client()`.
"""

from __future__ import annotations

from flask import Flask, current_app, g

from app_config import Settings

from .client import (
    GraphAccessDenied,
    GraphBusy,
    GraphClaimsChallenge,
    GraphClient,
    GraphError,
    GraphNotFound,
    GraphUnavailable,
    page_deadline,
)
from .photo_cache import PhotoCache
from .resources import InvalidCursor, InvalidReference, Missing, NoDrive

__all__ = [
    "GraphAccessDenied",
    "GraphBusy",
    "GraphClaimsChallenge",
    "GraphClient",
    "GraphError",
    "GraphNotFound",
    "GraphUnavailable",
    "InvalidCursor",
    "InvalidReference",
    "Missing",
    "NoDrive",
    "current_client",
    "current_photos",
    "init_app",
]

USER_AGENT = "ms-identity-flask-webapp/1.0"


def init_app(app: Flask, settings: Settings) -> None:
    """Give the app its one GraphClient: a connection pool shared by every request."""
    app.extensions["graph"] = GraphClient(
        settings.graph_endpoint,
        user_agent=USER_AGENT,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.graph_timeout,
        max_retries=settings.graph_max_retries,
        max_retry_after=settings.graph_max_retry_after,
        cursor_key=app.secret_key,
    )
    # People's photos, shared by every request of this process (graph/photo_cache.py).
    app.extensions["graph_photos"] = PhotoCache()
    seconds = settings.page_deadline

    @app.before_request
    def _start_page_deadline() -> None:
        # One deadline for every Graph call of this request.
        g.graph_page_deadline = page_deadline(seconds)
        g.graph_page_deadline.__enter__()

    @app.teardown_request
    def _end_page_deadline(_error: BaseException | None) -> None:
        deadline = g.pop("graph_page_deadline", None)
        if deadline is not None:
            deadline.__exit__(None, None, None)


def current_client() -> GraphClient:
    """The current app's GraphClient."""
    try:
        return current_app.extensions["graph"]
    except KeyError:
        raise RuntimeError("graph.init_app(app, settings) was not called") from None


def current_photos() -> PhotoCache:
    """The current app's photo cache."""
    try:
        return current_app.extensions["graph_photos"]
    except KeyError:
        raise RuntimeError("graph.init_app(app, settings) was not called") from None
