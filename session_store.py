"""Server-side storage for sessions and pending sign-ins.

One cachelib store per process: files on disk by default, Redis when the app
runs on several machines. flask-session keeps the sessions there, and `auth`
keeps each pending sign-in there under its own key prefix, so a sign-in can
finish even when the browser withholds the session cookie (see auth/pending.py).

A session that ends (sign-out) leaves a tombstone under its id's digest, and no
session is written back over a tombstone: a request that started before the
sign-out cannot bring the session back when it finishes.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import redis
from cachelib import BaseCache, FileSystemCache, RedisCache
from flask import Flask, Response
from flask_session.base import ServerSideSession
from flask_session.cachelib import CacheLibSessionInterface

from app_config import Settings


class StoreUnavailable(Exception):
    """The session store refused a write (cachelib reports some failures as False)."""


# What opening a session raises when Redis or the session folder cannot be reached.
STORE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OSError, StoreUnavailable)
ENDED_PREFIX = "ended:"


class SessionInterface(CacheLibSessionInterface):
    """flask-session's cachelib sessions, which end for good when `end` is called."""

    def __init__(self, store: BaseCache, settings: Settings) -> None:
        super().__init__(client=store, permanent=True)
        self.settings = settings

    def end(self, session: ServerSideSession) -> None:
        """End the session server-side for good; the response then clears its cookie."""
        # A session lives SESSION_LIFETIME at most, so nothing can write it back later.
        if not self.cache.set(_ended_key(session.sid), 1, timeout=self.settings.session_lifetime):
            raise StoreUnavailable("the end of a session could not be recorded")
        self.cache.delete(self._get_store_id(session.sid))
        session.clear()

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                self._delete_cookie(app, response)
            return
        if not self.should_set_storage(app, session):
            return
        store_id = self._get_store_id(session.sid)
        self._upsert_session(app.permanent_session_lifetime, session, store_id)
        # Checked after the write: a sign-out between a check and the write cannot be missed.
        if self.cache.has(_ended_key(session.sid)):
            self.cache.delete(store_id)
            return
        if self.should_set_cookie(app, session):
            self._set_cookie(app, session, response)

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        # cachelib's file store reports a failed write as False; flask-session ignores it.
        timeout = int(session_lifetime.total_seconds())
        if not self.cache.set(store_id, dict(session), timeout=timeout):
            raise StoreUnavailable("the session could not be saved")

    def _set_cookie(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        response.set_cookie(
            self.get_cookie_name(app),
            session.sid,
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
        )
        response.vary.add("Cookie")


def init_app(app: Flask, settings: Settings) -> BaseCache:
    """Keep the app's sessions in the configured store and return that store."""
    store = build_store(settings)
    app.config.update(
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        # Write a session only when it changed, not on every request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    # flask-session's cachelib interface (its own "filesystem" type is deprecated).
    app.session_interface = SessionInterface(store, settings)
    return store


def build_store(settings: Settings) -> BaseCache:
    if settings.session_type == "redis":
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        return RedisCache(host=client, default_timeout=settings.session_lifetime)
    return FileSystemCache(
        settings.session_file_dir, threshold=10_000, default_timeout=settings.session_lifetime
    )


def _ended_key(sid: str) -> str:
    return ENDED_PREFIX + hashlib.sha256(sid.encode()).hexdigest()
