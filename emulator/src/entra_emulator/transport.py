"""The in-process transport: requests to the emulator's URLs answered without any socket.

A request is turned into a WSGI call on the emulator's own Flask apps, so MSAL, a Graph
client or a scripted browser talk to exactly the code the listeners serve, minus TCP and TLS.
"""

from __future__ import annotations

import http.client
import io
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse
from werkzeug.test import Client, EnvironBuilder

from .apps import Apps
from .urls import Bases

Headers = list[tuple[str, str]]


class NotServedByEmulator(requests.ConnectionError):
    """A URL outside the emulator reached a session that must not leave the process."""


class Router:
    """Which of the two apps answers a URL, from the origins the emulator is served at."""

    def __init__(self, apps: Apps, bases: Bases) -> None:
        self._apps = apps
        self._origins: dict[str, set[str]] = {}
        for kind, origin in (
            ("https", bases.login),
            ("https", bases.graph),
            ("http", bases.browser),
            ("http", bases.downloads),
            *(("http", origin) for origin in bases.web.values()),
        ):
            self._origins.setdefault(origin, set()).add(kind)

    @property
    def origins(self) -> list[str]:
        return sorted(self._origins)

    def _app_for(self, origin: str, path: str, method: str):
        kinds = self._origins.get(origin)
        if not kinds:
            return None
        if kinds == {"https"}:
            return self._apps.https
        if kinds == {"http"}:
            return self._apps.http
        # One host for both (login.microsoftonline.com in-process): the browser app's routes win.
        adapter = self._apps.http.url_map.bind("emulator")
        return self._apps.http if adapter.test(path, method) else self._apps.https

    def call(
        self, method: str, url: str, headers: dict[str, str], body: bytes | str | None
    ) -> tuple[int, str, Headers, bytes]:
        """(status, reason, headers, body) of one request; NotServedByEmulator elsewhere."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        path = parts.path or "/"
        app = self._app_for(origin, path, method)
        if app is None:
            raise NotServedByEmulator(f"{origin} is not served by this emulator")
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # a generator or file body: the emulator reads it whole
        builder = EnvironBuilder(
            path=path,
            base_url=origin,
            query_string=parts.query,
            method=method,
            headers=dict(headers),
            data=body or b"",
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        try:
            response = Client(app, use_cookies=False).open(builder)
        finally:
            builder.close()
        return (
            response.status_code,
            response.status.partition(" ")[2],
            response.headers.to_wsgi_list(),
            response.get_data(),
        )


class _OriginalResponse:
    """What requests reads Set-Cookie from (response._original_response.msg)."""

    def __init__(self, headers: Headers) -> None:
        self.msg = http.client.HTTPMessage()
        for name, value in headers:
            self.msg[name] = value  # appends: several Set-Cookie headers stay several

    def isclosed(self) -> bool:
        return True


class InProcessAdapter(HTTPAdapter):
    """A requests transport adapter that hands each request to the emulator in-process."""

    def __init__(self, router: Router) -> None:
        super().__init__()
        self._router = router

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        status, reason, headers, body = self._router.call(
            request.method, request.url, dict(request.headers), request.body
        )
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=headers,
            status=status,
            reason=reason,
            preload_content=False,
            decode_content=False,
            original_response=_OriginalResponse(headers),
        )
        return self.build_response(request, raw)


class _RefuseAdapter(BaseAdapter):
    """Mounted for every other URL, so an in-process session never reaches the network."""

    def send(self, request, **kwargs):
        raise NotServedByEmulator(f"{request.url} is not served by this emulator")

    def close(self) -> None:
        pass


def mount(session: requests.Session, router: Router) -> requests.Session:
    """Route the emulator's origins in-process; refuse everything else."""
    session.trust_env = False  # proxies or REQUESTS_CA_BUNDLE from the environment do not apply
    refuse = _RefuseAdapter()
    session.mount("http://", refuse)
    session.mount("https://", refuse)
    adapter = InProcessAdapter(router)
    for origin in router.origins:
        session.mount(origin + "/", adapter)
    return session


def responses_callback(router: Router, request) -> tuple[int, Headers, bytes]:
    """A `responses` callback: (status, headers, body) for a PreparedRequest."""
    status, _, headers, body = router.call(
        request.method, request.url, dict(request.headers), request.body
    )
    return status, headers, body
