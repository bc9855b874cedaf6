"""Server-side storage for sessions and pending sign-ins.

One cachelib store per process: files on disk by default, Redis when the app
runs on several machines. flask-session keeps the sessions there, and `auth`
keeps each pending sign-in there under its own key prefix, so a sign-in can
finish even when the browser withholds the session cookie (see auth/pending.py).
"""

from __future__ import annotations

import redis
from cachelib import BaseCache, FileSystemCache, RedisCache
from flask import Flask
from flask_session import Session

from app_config import Settings


class StoreUnavailable(Exception):
    """The session store refused a write (cachelib reports some failures as False)."""


# What opening a session raises when Redis or the session folder cannot be reached.
STORE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OSError, StoreUnavailable)
_sessions = Session()


def init_app(app: Flask, settings: Settings) -> BaseCache:
    """Bind flask-session to the configured store and return that store."""
    store = build_store(settings)
    app.config.update(
        # flask-session's own "filesystem" type is deprecated; cachelib is its successor.
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=store,
        SESSION_PERMANENT=True,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        # Write a session only when it changed, not on every request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    _sessions.init_app(app)
    return store


def build_store(settings: Settings) -> BaseCache:
    if settings.session_type == "redis":
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        return RedisCache(host=client, default_timeout=settings.session_lifetime)
    return FileSystemCache(
        settings.session_file_dir, threshold=10_000, default_timeout=settings.session_lifetime
    )
