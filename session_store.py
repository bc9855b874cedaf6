"""Server-side storage for sessions and pending sign-ins.

One cachelib store per process: files on disk by default, Redis when the app
runs on several machines. Sessions live there; with Redis, so do pending
sign-ins (under their own key prefix), while with files they have their own
expiring folder (see auth/pending.py and expiring_files.py).

A session that ends (sign-out) leaves a tombstone under its id's digest, and no
session is written back over a tombstone: a request that started before the
sign-out cannot bring the session back when it finishes.

A session also ends when it has been idle for SESSION_IDLE_TIMEOUT or alive for
SESSION_LIFETIME: it carries when it started and when it was last seen, checked
when it is opened, and the store keeps it no longer than it could be used. The
last visit is noted at most once a minute, so most page views write nothing.

When the store cannot be reached, a request's session is an empty
`UnreachableSession` that is never saved, so nobody's cookie or stored session
changes during an outage; every page but those marked `works_without_store`
(sign-out) answers with the store's 503 page, logged once per request.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping

import redis
from cachelib import BaseCache, FileSystemCache, RedisCache
from flask import Flask, Request, Response, current_app, g, request, session
from flask_session.base import ServerSideSession
from flask_session.cachelib import CacheLibSessionInterface
from redis.backoff import ExponentialWithJitterBackoff
from redis.connection import parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from app_config import Settings


class StoreUnavailable(Exception):
    """The session store failed or refused a write (cachelib reports some failures as False)."""


# What the store raises when Redis or the session folder cannot be reached.
STORE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OSError, StoreUnavailable)
ENDED_PREFIX = "ended:"
WORKS_WITHOUT_STORE = "works_without_store"
STARTED_AT = "_started_at"
SEEN_AT = "_seen_at"
# How stale the last-seen time may get before a page view rewrites it.
SEEN_RESOLUTION = 60
log = logging.getLogger(__name__)


class UnreachableSession(ServerSideSession):
    """The session of a request that could not load it: empty, and never saved."""

    def __init__(self, sid: str, error: Exception) -> None:
        super().__init__(sid=sid, permanent=True)
        self.error = error


class SessionInterface(CacheLibSessionInterface):
    """flask-session's cachelib sessions, which end for good when `end` is called."""

    def __init__(
        self, store: BaseCache, settings: Settings, redis_client: redis.Redis | None = None
    ) -> None:
        super().__init__(client=store, permanent=True)
        self.settings = settings
        self.redis_client = redis_client

    def close(self) -> None:
        """Let go of the store's connections (for tests: a server process keeps them)."""
        if self.redis_client is not None:
            self.redis_client.close()

    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        try:
            session = self._within_lifetimes(super().open_session(app, request))
        except STORE_ERRORS as error:
            return UnreachableSession(request.cookies.get(self.get_cookie_name(app), ""), error)
        if not session and request.cookies.get(self.get_cookie_name(app)):
            # The browser kept a session the store no longer has (no empty session is
            # stored): a timeout ended it, here or by the store's own expiry.
            g.session_timed_out = True
            session.modified = True  # so this response clears the stale cookie
        return session

    def end(self, session: ServerSideSession) -> None:
        """End the session server-side for good; the response clears its cookie either way.

        Raises StoreUnavailable when the store cannot record it: the stored session
        then expires by itself.
        """
        session.clear()
        if isinstance(session, UnreachableSession):
            raise StoreUnavailable("the session could not be ended") from session.error
        try:
            # A session lives SESSION_LIFETIME at most, so nothing can write it back later.
            ended = _ended_key(session.sid)
            if not self.cache.set(ended, 1, timeout=self.settings.session_lifetime):
                raise StoreUnavailable("the end of a session could not be recorded")
            self.cache.delete(self._get_store_id(session.sid))
        except STORE_ERRORS as error:
            raise StoreUnavailable("the session could not be ended") from error

    def _within_lifetimes(self, session: ServerSideSession) -> ServerSideSession:
        """End the session if idle or old for too long; else note, once a minute, this visit."""
        if not session:
            return session
        now = int(time.time())
        # A session stored before these stamps existed counts from now.
        started, seen = session.setdefault(STARTED_AT, now), session.setdefault(SEEN_AT, now)
        if now - started >= self.settings.session_lifetime:
            log.info("session ended: older than SESSION_LIFETIME")
            self.end(session)
        elif now - seen >= self.settings.session_idle_timeout:
            log.info("session ended: idle for longer than SESSION_IDLE_TIMEOUT")
            self.end(session)
        elif now - seen >= SEEN_RESOLUTION:
            session[SEEN_AT] = now
        return session

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                self._delete_cookie(app, response)
            return
        if isinstance(session, UnreachableSession) or not self.should_set_storage(app, session):
            return
        now = int(time.time())
        session.setdefault(STARTED_AT, now)
        session.setdefault(SEEN_AT, now)
        try:
            stored = self.store(session.sid, session)
        except STORE_ERRORS as error:
            _show_outage(app, response, error)
            return
        if stored and self.should_set_cookie(app, session):
            self._set_cookie(app, session, response)

    def store(self, sid: str, record: Mapping) -> bool:
        """Write a session's record unless the session has ended; whether it is stored.

        The one way to write a session, also for code that writes one before its response
        is sent. The store keeps it only while it could still be used.
        """
        now = int(time.time())
        usable_until = min(
            record.get(SEEN_AT, now) + self.settings.session_idle_timeout,
            record.get(STARTED_AT, now) + self.settings.session_lifetime,
        )
        key = self._get_store_id(sid)
        # cachelib's file store reports a failed write as False; flask-session ignores it.
        if not self.cache.set(key, dict(record), timeout=max(usable_until - now, 1)):
            raise StoreUnavailable("the session could not be saved")
        # Checked after the write: a sign-out between a check and the write cannot be missed.
        if self.cache.has(_ended_key(sid)):
            self.cache.delete(key)
            return False
        return True

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


def works_without_store(view: Callable) -> Callable:
    """Mark a view that answers even when the session store cannot be reached."""
    setattr(view, WORKS_WITHOUT_STORE, True)
    return view


def timed_out() -> bool:
    """Whether this request came with a session that has ended by a timeout (or is unknown)."""
    return bool(g.get("session_timed_out"))


def log_outage(error: BaseException) -> None:
    """One log line per request that met the store's failure, however often it did."""
    if g.get("store_outage_logged"):
        return
    g.store_outage_logged = True
    cause = error.__cause__ if isinstance(error, StoreUnavailable) else None
    log.error("session store unavailable: %s", type(cause or error).__name__)


def init_app(app: Flask, settings: Settings) -> BaseCache:
    """Keep the app's sessions in the configured store and return that store."""
    client = redis_client(settings) if settings.session_type == "redis" else None
    store = build_store(settings, client)
    app.config.update(
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        # Write a session only when it changed, not on every request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    # flask-session's cachelib interface (its own "filesystem" type is deprecated).
    app.session_interface = SessionInterface(store, settings, client)
    app.before_request(_needs_store)
    return store


def build_store(settings: Settings, client: redis.Redis | None = None) -> BaseCache:
    if client is not None:
        return RedisCache(host=client, default_timeout=settings.session_lifetime)
    return FileSystemCache(
        settings.session_file_dir, threshold=10_000, default_timeout=settings.session_lifetime
    )


def redis_client(settings: Settings) -> redis.Redis:
    """The app's one way to reach Redis: for sessions, pending sign-ins and refresh locks.

    REDIS_URL gives the scheme (rediss:// for TLS), the password and the database; with
    REDIS_SENTINELS, the Sentinels say where the master is, not the URL's host and port.
    """
    options: dict = {
        "socket_connect_timeout": settings.redis_connect_timeout,
        "socket_timeout": settings.redis_timeout,
        "retry": _retry(),
    }
    if settings.redis_ca_certs:
        options["ssl_ca_certs"] = settings.redis_ca_certs
    if not settings.redis_sentinels:
        return redis.Redis.from_url(settings.redis_url, **options)
    url_options = parse_url(settings.redis_url)
    for name in ("host", "port", "connection_class"):
        url_options.pop(name, None)
    if settings.redis_url.startswith("rediss://"):
        options["ssl"] = True
    # The Sentinels are asked with the same timeouts, retries and TLS, without a password.
    sentinel = Sentinel(
        settings.redis_sentinels, sentinel_kwargs=dict(options), **url_options, **options
    )
    return sentinel.master_for(settings.redis_sentinel_master)


def _retry() -> Retry:
    """Twice more after a dropped or refused connection (Redis restarted, a failover under
    way), after a short random pause; never after a timeout, so a paused Redis costs one
    REDIS_TIMEOUT. The errors are the Retry's own list (redis-py 6 deprecated retry_on_timeout).
    """
    backoff = ExponentialWithJitterBackoff(base=0.05, cap=0.5)
    return Retry(backoff, retries=2, supported_errors=(redis.ConnectionError,))


def _ended_key(sid: str) -> str:
    return ENDED_PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def _needs_store() -> None:
    """A page of a session the store could not load is the store's 503 page."""
    if not isinstance(session, UnreachableSession) or request.endpoint == "static":
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, WORKS_WITHOUT_STORE, False):
        raise StoreUnavailable("the session could not be loaded") from session.error


def _show_outage(app: Flask, response: Response, error: Exception) -> None:
    """The session could not be saved: the response becomes the store's 503 page."""
    if g.get("store_outage_logged"):
        return  # the request already ended on that page
    outage = StoreUnavailable("the session could not be saved")
    outage.__cause__ = error
    page = app.make_response(app.handle_user_exception(outage))
    response.status_code = page.status_code
    response.set_data(page.get_data())
    for name in ("Content-Type", "Retry-After"):
        response.headers[name] = page.headers[name]
    # Not a redirect any more, and not the page (or photo) it was going to be.
    for name in ("Location", "ETag", "Last-Modified", "Content-Disposition"):
        response.headers.pop(name, None)
    response.headers["Cache-Control"] = "no-store"
