"""The transport to Microsoft Graph: the only code that sends HTTP requests to it.

One pooled session per process, a timeout on every call, urllib3 retries for throttling,
paging, and Graph's error bodies turned into a few exception types the pages can show.
Methods take the user's access token and return plain data; nothing here knows Flask or MSAL.
What to ask Graph for (paths, OData options, JSON shapes) lives in `graph.resources`.
"""

import base64
import json
import logging
import math
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import requests
from itsdangerous import BadSignature, URLSafeSerializer
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry
from werkzeug.datastructures import WWWAuthenticate

log = logging.getLogger(__name__)
# When the page being served must be done (time.monotonic()), if it has a deadline.
_page_deadline: ContextVar[float | None] = ContextVar("graph_page_deadline", default=None)

RETRY_STATUSES = frozenset({429, 503, 504})
# Waits 0 s, then 0.4 s, between retries whose response carries no Retry-After.
BACKOFF_FACTOR = 0.2
# What our own 503 page tells browsers when Graph gave no usable Retry-After.
DEFAULT_RETRY_AFTER = 5

_DEFAULT_PORTS = {"http": 80, "https": 443}


class GraphError(Exception):
    """Graph answered with an error, or with something this client cannot use.

    `status` is Graph's HTTP status, or 502 when a 2xx body was unusable; `code` and
    `message` come from Graph's error body when it has one.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        client_request_id: str = "",
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.client_request_id = client_request_id


class GraphBusy(GraphError):
    """Graph still throttles (429) or is unavailable (503/504) after our retries."""

    def __init__(self, *args: Any, retry_after: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class GraphClaimsChallenge(GraphError):
    """401 (or 403) with a claims challenge (Continuous Access Evaluation): the user must sign in
    again, passing `claims` (decoded JSON) as msal's claims_challenge."""

    def __init__(self, *args: Any, claims: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claims = claims


class GraphUnavailable(GraphError):
    """Graph could not be reached at all: connection failure or timeout."""


class GraphAccessDenied(GraphError):
    """403 without a claims challenge: the token is fine, but this user may not see this
    (a guest, a tenant that restricts directory reads, a file shared with someone else)."""


class GraphNotFound(GraphError):
    """404: what the request names does not exist."""


@dataclass(frozen=True)
class GraphCall:
    """One call as sent and answered, for the page's "How this page works" panel."""

    method: str
    # Relative to the endpoint, decoded, with its query: "/users?$top=10".
    path: str
    status: int | None
    duration_ms: int
    request_id: str | None
    client_request_id: str
    # The status of each attempt urllib3 retried before this answer (None: no answer).
    retried: tuple[int | None, ...] = ()
    # Why there is no status: "failed (ConnectTimeout)".
    failure: str | None = None


# Where the calls of the page being served are recorded, while developer panels are on.
_recorded_calls: ContextVar[list[GraphCall] | None] = ContextVar("graph_calls", default=None)


@dataclass(frozen=True)
class Page:
    items: list[dict]
    # Graph's @odata.nextLink, verified to be under the endpoint, sealed into an opaque
    # cursor that only this client's next_page accepts, for the same collection.
    next_cursor: str | None


class _BearerAuth(requests.auth.AuthBase):
    # Passed as auth= so a ~/.netrc entry (read when trust_env is on) can never replace it.
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class _FailFastRetry(Retry):
    """Retry that gives up at once when Retry-After is longer than retry_after_max.

    urllib3 would clamp such a wait and sleep anyway; a page must not hang on Graph's behalf,
    so the response comes straight back and becomes GraphBusy with Graph's own Retry-After.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        **kwargs: Any,
    ) -> Retry:
        header = response.headers.get("Retry-After") if response is not None else None
        if header is not None:
            wait = retry_after_seconds(header)
            if wait is None or wait > self.retry_after_max:
                reason = ResponseError(f"Retry-After {header!r} is over {self.retry_after_max} s")
                raise MaxRetryError(kwargs.get("_pool"), url, reason)
        return super().increment(method, url, response, error, **kwargs)


def retry_after_seconds(header: str) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP-date), None if bad."""
    try:
        return Retry().parse_retry_after(header)
    except InvalidHeader:
        return None


def _claims_from_challenge(header: str) -> str | None:
    """The decoded claims of an insufficient_claims challenge, or None if there is none."""
    challenge = WWWAuthenticate.from_header(header)
    params = challenge.parameters if challenge is not None else {}
    claims = params.get("claims")
    if params.get("error") != "insufficient_claims" or not claims:
        return None
    # Graph sends standard base64, sometimes without padding; accept the URL-safe alphabet too.
    padded = claims.replace("-", "+").replace("_", "/") + "=" * (-len(claims) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
        if not isinstance(json.loads(decoded), dict):
            raise ValueError("claims are not a JSON object")
    except ValueError:
        log.warning(
            "Graph sent an insufficient_claims challenge whose claims are not a JSON object"
        )
        return None
    return decoded


@contextmanager
def recording_calls() -> Iterator[list[GraphCall]]:
    """Every Graph call sent inside is appended to the list this yields."""
    calls: list[GraphCall] = []
    token = _recorded_calls.set(calls)
    try:
        yield calls
    finally:
        _recorded_calls.reset(token)


@contextmanager
def page_deadline(seconds: float) -> Iterator[None]:
    """Every Graph call inside shares `seconds`: two slow calls do not add up."""
    token = _page_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _page_deadline.reset(token)


class GraphClient:
    """Calls Microsoft Graph under one endpoint (e.g. https://graph.microsoft.com/v1.0).

    Build one per process: it holds a connection pool. Paths are relative to the endpoint;
    a full URL (a nextLink) is accepted only if it lies under the endpoint, so the bearer token
    never goes anywhere else.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        user_agent: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        max_retries: int = 2,
        max_retry_after: float = 5.0,
        max_page_items: int = 100,
        cursor_key: str | bytes | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if (
            parts.scheme not in _DEFAULT_PORTS
            or not parts.hostname
            or parts.username is not None
            or parts.query
            or parts.fragment
        ):
            raise ValueError(f"Graph endpoint must be a plain http(s) URL, got {endpoint!r}")
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._host = parts.hostname
        self._port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._base_path = parts.path.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._max_page_items = max_page_items
        # Next links travel through the browser as cursors: signed, so a "more" link can
        # only name the next page of the collection it came from.
        self._cursors = URLSafeSerializer(cursor_key or secrets.token_bytes(32), "graph-cursor")

        retry = _FailFastRetry(
            total=max_retries,
            # A read timeout means Graph is slow: waiting again would only make the page hang.
            read=False,
            # TLS and proxy failures will not cure themselves within a second.
            other=0,
            status_forcelist=RETRY_STATUSES,
            # We only POST read-only queries (/search/query), so a POST is as safe to repeat
            # as a GET.
            allowed_methods=frozenset({"GET", "POST"}),
            respect_retry_after_header=True,
            retry_after_max=max_retry_after,
            backoff_factor=BACKOFF_FACTOR,
            backoff_max=max_retry_after,
            # Hand the last 429/503/504 back so it becomes GraphBusy with its Retry-After.
            raise_on_status=False,
        )
        self._session = requests.Session()
        self._session.mount(f"{self._scheme}://", HTTPAdapter(max_retries=retry))
        # The proxy and CA bundle variables, read once for the one host this client calls:
        # requests would otherwise scan the whole environment on every call (trust_env).
        self._session.trust_env = False
        self._session.proxies = requests.utils.get_environ_proxies(endpoint)
        self._session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        # The session serves every user of the process, so it must not carry cookies between them.
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    def get(
        self,
        token: str,
        path: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> dict:
        """GET a JSON object, e.g. get(token, "/me")."""
        return _json_object(self._send("GET", token, path, params=params, headers=headers))

    def post_query(self, token: str, path: str, body: dict) -> dict:
        """POST a read-only query such as /search/query; retried like a GET."""
        return _json_object(self._send("POST", token, path, json_body=body))

    def page(
        self,
        token: str,
        path: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> Page:
        """The first page of a collection.

        Unless the caller sets $top, asks Graph for at most max_page_items rows, a cap that
        keeps views small; nothing is cut off here. Pass {"$top": None} for collections that
        reject $top.
        """
        params = dict(params or {})
        params.setdefault("$top", self._max_page_items)
        return self._page(path, self._send("GET", token, path, params=params, headers=headers))

    def next_page(self, token: str, path: str, cursor: str, *, headers: dict | None = None) -> Page:
        """The page after one of `path`, named by that page's next_cursor.

        Raises ValueError, before sending anything, for a cursor this client did not make
        for `path`.
        """
        try:
            next_link = self._cursors.loads(cursor, salt=path)
        except BadSignature:
            raise ValueError("not a cursor for this collection") from None
        return self._page(path, self._send("GET", token, next_link, headers=headers))

    def _page(self, path: str, response: requests.Response) -> Page:
        body = _json_object(response)
        items = body.get("value")
        if not isinstance(items, list):
            raise _unusable(response, "Microsoft Graph sent a collection without a value list.")
        next_link = body.get("@odata.nextLink")
        cursor = None
        if next_link is not None:
            if not self._is_next_link(next_link):
                message = "Microsoft Graph sent a next page link outside its endpoint."
                raise _unusable(response, message)
            cursor = self._cursors.dumps(next_link, salt=path)
        return Page(items=items, next_cursor=cursor)

    def get_bytes(self, token: str, path: str) -> tuple[bytes, str] | None:
        """GET raw content such as /me/photo/$value as (data, content_type); None on 404."""
        try:
            response = self._send("GET", token, path, accept="*/*")
        except GraphError as error:
            if error.status == 404:
                return None
            raise
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    def close(self) -> None:
        self._session.close()

    def _is_next_link(self, link: object) -> bool:
        """Whether Graph's nextLink is an absolute URL under the endpoint."""
        if not isinstance(link, str) or not urlsplit(link).netloc:
            return False
        try:
            self._url(link)
        except ValueError:
            return False
        return True

    def _url(self, path: str) -> str:
        """The absolute URL for a path or full URL, or ValueError if it leaves the endpoint."""
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
            raise ValueError("Graph path contains control characters")
        parts = urlsplit(path)
        if parts.scheme or parts.netloc:
            base = self._base_path
            under_base = parts.path == base or parts.path.startswith(f"{base}/")
            if (
                parts.scheme != self._scheme
                or parts.hostname != self._host
                or (parts.port or _DEFAULT_PORTS.get(parts.scheme)) != self._port
                or parts.username is not None
                or not under_base
            ):
                raise ValueError(f"refusing to send the Graph token outside the endpoint: {path!r}")
            full_path = parts.path
        else:
            full_path = f"{self._base_path}/{parts.path.lstrip('/')}"
        # urllib3 resolves "..", which could climb out of the endpoint's path.
        if any(unquote(segment) in (".", "..") for segment in full_path.split("/")):
            raise ValueError(f"Graph path must not contain dot segments: {path!r}")
        # Rebuilt on our own scheme and host, so what is sent is exactly what was checked.
        return urlunsplit((self._scheme, self._netloc, full_path, parts.query, ""))

    def _send(
        self,
        method: str,
        token: str,
        path: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        json_body: dict | None = None,
        accept: str | None = None,
    ) -> requests.Response:
        url = self._url(path)
        client_request_id = str(uuid.uuid4())
        timeout = self._timeout
        deadline = _page_deadline.get()
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                message = "This page ran out of time waiting for Microsoft Graph."
                raise GraphUnavailable(
                    504, "page_deadline", message, client_request_id=client_request_id
                )
            timeout = (min(timeout[0], left), min(timeout[1], left))
        request_headers = dict(headers or {})
        if accept:
            request_headers["Accept"] = accept
        request_headers["client-request-id"] = client_request_id
        call = _LogLine(method, url, params, client_request_id, self._base_path)
        try:
            # Session.request (not send), so the session's proxies and CA bundle apply.
            response = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=request_headers,
                auth=_BearerAuth(token),
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            call.write(f"failed ({type(exc).__name__})")
            what = "timed out" if isinstance(exc, requests.Timeout) else "failed"
            raise GraphUnavailable(
                504,
                "network_error",
                f"Microsoft Graph could not be reached: the request {what}.",
                client_request_id=client_request_id,
            ) from exc
        call.write(str(response.status_code), response)
        if response.status_code >= 300:
            raise _error_for(response, client_request_id)
        return response


class _LogLine:
    """One INFO line per call: no token, no query values (they can hold personal data)."""

    def __init__(
        self,
        method: str,
        url: str,
        params: dict | None,
        client_request_id: str,
        base_path: str = "",
    ) -> None:
        parts = urlsplit(url)
        names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
        names += [name for name, value in (params or {}).items() if value is not None]
        self.method = method
        self.path = parts.path + (f" params={','.join(names)}" if names else "")
        self.client_request_id = client_request_id
        self.started = time.monotonic()
        self._sent = (parts, params, base_path)

    def write(self, outcome: str, response: requests.Response | None = None) -> None:
        elapsed_ms = (time.monotonic() - self.started) * 1000
        retry = getattr(response.raw, "retries", None) if response is not None else None
        log.info(
            "Graph %s %s -> %s in %.0f ms, retries %d, request-id %s, client-request-id %s",
            self.method,
            self.path,
            outcome,
            elapsed_ms,
            len(retry.history) if retry is not None else 0,
            response.headers.get("request-id") if response is not None else None,
            self.client_request_id,
        )
        recorded = _recorded_calls.get()
        if recorded is not None:  # developer panels are on
            recorded.append(self._as_call(outcome, response, elapsed_ms, retry))

    def _as_call(
        self,
        outcome: str,
        response: requests.Response | None,
        elapsed_ms: float,
        retry: Retry | None,
    ) -> GraphCall:
        parts, params, base_path = self._sent
        query = parse_qsl(parts.query, keep_blank_values=True)
        query += [(name, str(value)) for name, value in (params or {}).items() if value is not None]
        # Decoded for reading; only the user who asked sees it, on their own page, never a log.
        path = unquote(parts.path.removeprefix(base_path) or "/")
        if query:
            path += "?" + "&".join(f"{name}={value}" for name, value in query)
        return GraphCall(
            method=self.method,
            path=path,
            status=response.status_code if response is not None else None,
            duration_ms=round(elapsed_ms),
            request_id=response.headers.get("request-id") if response is not None else None,
            client_request_id=self.client_request_id,
            retried=tuple(a.status for a in retry.history) if retry is not None else (),
            failure=None if response is not None else outcome,
        )


def _json_object(response: requests.Response) -> dict:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        raise _unusable(response, "Microsoft Graph sent a response that is not JSON.") from None
    if not isinstance(body, dict):
        raise _unusable(response, "Microsoft Graph sent JSON that is not an object.")
    return body


def _unusable(response: requests.Response, message: str) -> GraphError:
    return GraphError(
        502,
        "invalid_response",
        message,
        response.headers.get("request-id"),
        client_request_id=response.request.headers.get("client-request-id", ""),
    )


def _error_for(response: requests.Response, client_request_id: str) -> GraphError:
    """The exception for a 3xx, 4xx or 5xx answer."""
    status = response.status_code
    code, message = "http_error", response.reason or f"HTTP {status}"
    request_id = response.headers.get("request-id")
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        inner = error.get("innerError") or error.get("innererror")
        if not request_id and isinstance(inner, dict):
            request_id = inner.get("request-id")
    details = dict(request_id=request_id, client_request_id=client_request_id)

    if 300 <= status < 400:
        message = "Microsoft Graph answered with a redirect, which is not followed."
        return GraphError(status, "unexpected_redirect", message, **details)
    if status in (401, 403):
        # CAE answers 401; Conditional Access sometimes answers 403 with the same challenge.
        claims = _claims_from_challenge(response.headers.get("WWW-Authenticate", ""))
        if claims is not None:
            return GraphClaimsChallenge(status, code, message, claims=claims, **details)
    if status == 403:
        return GraphAccessDenied(status, code, message, **details)
    if status == 404:
        return GraphNotFound(status, code, message, **details)
    if status in RETRY_STATUSES:
        wait = retry_after_seconds(response.headers.get("Retry-After", ""))
        retry_after = DEFAULT_RETRY_AFTER if wait is None else math.ceil(wait)
        return GraphBusy(status, code, message, retry_after=retry_after, **details)
    return GraphError(status, code, message, **details)
