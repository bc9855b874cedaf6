"""The transport to Microsoft Graph: the only code that sends HTTP requests to it.

One pooled session per process, a timeout on every call, urllib3 retries for throttling,
paging, JSON batching (several GETs in one POST /$batch, each answer read and retried on
its own), and Graph's error bodies turned into a few exception types the pages can show.
Methods take the user's access token and return plain data; nothing here knows Flask or MSAL.
What to ask Graph for (paths, OData options, JSON shapes) lives in `graph.resources`.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import requests
from itsdangerous import BadSignature, URLSafeSerializer
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
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
# Graph answers at most this many requests in one $batch (json-batching).
MAX_BATCH_REQUESTS = 20

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
class BatchedCall:
    """One request inside a $batch, as sent and answered, for the developer panel."""

    method: str
    # Relative to the endpoint, decoded, with its query, as in GraphCall.
    path: str
    status: int


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
    # For a POST /$batch: the requests it carried and what each was answered.
    batched: tuple[BatchedCall, ...] = ()


# Where the calls of the page being served are recorded, while developer panels are on.
_recorded_calls: ContextVar[list[GraphCall] | None] = ContextVar("graph_calls", default=None)


@dataclass(frozen=True)
class Page:
    items: list[dict]
    # Graph's @odata.nextLink, verified to be under the endpoint, sealed into an opaque
    # cursor that only this client's next_page accepts, for the same collection.
    next_cursor: str | None


@dataclass(frozen=True)
class Content:
    """Raw content such as a photo, as Graph sent it."""

    data: bytes
    content_type: str
    etag: str | None = None
    # Graph answered 304 to If-None-Match: the caller's copy is current, `data` is empty.
    not_modified: bool = False


@dataclass(frozen=True)
class GetRequest:
    """One GET, to send alone (get_page) or in a $batch: a path under the endpoint (or a
    next link), its query and headers.

    Build pages with GraphClient.page_request, which also turns a cursor into its next link.
    """

    path: str
    params: Mapping[str, object] | None = None
    headers: Mapping[str, str] | None = None
    # For a page of a collection: the collection's path, which its next cursor is signed for.
    collection: str | None = None


@dataclass(frozen=True)
class _SubResponse:
    status: int
    headers: CaseInsensitiveDict
    body: object
    # The batch's own ids: Graph's sub-responses may carry no request-id of their own.
    request_id: str | None
    client_request_id: str


class BatchAnswers:
    """What Graph answered each request of one $batch, by the caller's names.

    Each answer is read on its own and raises its own GraphError (GraphNotFound,
    GraphAccessDenied, GraphClaimsChallenge, GraphBusy...), as the same GET would have.
    """

    def __init__(
        self,
        client: GraphClient,
        requests_: Mapping[str, GetRequest],
        answers: Mapping[str, _SubResponse],
    ) -> None:
        self._client = client
        self._requests = requests_
        self._answers = answers

    def json(self, name: str) -> dict:
        """The JSON object answered to the request called `name`."""
        answer = self._answer(name)
        if answer.status == 204 or answer.body is None:
            return {}
        if not isinstance(answer.body, dict):
            message = "Microsoft Graph sent JSON that is not an object."
            raise _unusable_answer(message, answer.request_id, answer.client_request_id)
        return answer.body

    def page(self, name: str) -> Page:
        """The page of a collection answered to the request called `name`."""
        body = self.json(name)
        request, answer = self._requests[name], self._answers[name]
        collection = request.collection or request.path
        return self._client._page_of(collection, body, answer.request_id, answer.client_request_id)

    def _answer(self, name: str) -> _SubResponse:
        answer = self._answers[name]
        if answer.status >= 300:
            raise _error_from(
                answer.status,
                _reason(answer.status),
                answer.headers,
                answer.body,
                answer.client_request_id,
                fallback_request_id=answer.request_id,
            )
        return answer


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
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
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
            # We only POST read-only queries (/search/query, a $batch of GETs), so a POST is
            # as safe to repeat as a GET.
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
        return self.get_page(token, self.page_request(path, params=params, headers=headers))

    def next_page(self, token: str, path: str, cursor: str, *, headers: dict | None = None) -> Page:
        """The page after one of `path`, named by that page's next_cursor.

        Raises ValueError, before sending anything, for a cursor this client did not make
        for `path`.
        """
        return self.get_page(token, self.page_request(path, headers=headers, cursor=cursor))

    def get_page(self, token: str, request: GetRequest) -> Page:
        """The page a page_request names, as one plain GET."""
        response = self._send(
            "GET", token, request.path, params=request.params, headers=request.headers
        )
        return self._page(request.collection or request.path, response)

    def page_request(
        self,
        path: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        cursor: str | None = None,
    ) -> GetRequest:
        """The request for a page of `path`: the first page (capped as by page()), or the
        one a next_cursor names (ValueError, before anything is sent, if not for `path`)."""
        if cursor is not None:
            return GetRequest(self._next_link(path, cursor), headers=headers, collection=path)
        params = dict(params or {})
        params.setdefault("$top", self._max_page_items)
        return GetRequest(path, params, headers, collection=path)

    def batch(self, token: str, requests_: Mapping[str, GetRequest]) -> BatchAnswers:
        """Send GETs together as one POST /$batch; their answers come back by name.

        Graph throttles each request of a batch on its own: the ones answered 429, 503 or
        504 are sent again, alone, after their Retry-After (as urllib3 does for a plain
        call: up to max_retries times, none longer than max_retry_after, within the page's
        deadline); an answer still throttled then raises GraphBusy when it is read.
        """
        if not 0 < len(requests_) <= MAX_BATCH_REQUESTS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_REQUESTS} requests")
        answers: dict[str, _SubResponse] = {}
        pending = list(requests_)
        for attempt in range(self._max_retries + 1):
            answers |= self._send_batch(token, {name: requests_[name] for name in pending})
            pending = [name for name in pending if answers[name].status in RETRY_STATUSES]
            if not pending or attempt == self._max_retries:
                break
            wait = self._throttled_wait([answers[name] for name in pending], attempt)
            if wait is None:
                break
            time.sleep(wait)
        return BatchAnswers(self, requests_, answers)

    def _send_batch(
        self, token: str, requests_: Mapping[str, GetRequest]
    ) -> dict[str, _SubResponse]:
        # Our own ids: Graph compares them without case, the caller's names need not be.
        names = {str(number): name for number, name in enumerate(requests_, 1)}
        urls = {name: self._relative_url(requests_[name]) for name in requests_}
        body = {
            "requests": [
                {"id": key, "method": "GET", "url": urls[name]}
                | ({"headers": dict(requests_[name].headers)} if requests_[name].headers else {})
                for key, name in names.items()
            ]
        }
        response, call = self._request("POST", token, "/$batch", json_body=body)
        if response.status_code >= 300:
            call.write(str(response.status_code), response)
            raise _error_for(response, call.client_request_id)
        try:
            answers = _sub_responses(response, names, call.client_request_id)
        except GraphError:
            call.write(str(response.status_code), response)
            raise
        batched = tuple(
            BatchedCall("GET", _display_path(urls[name]), answers[name].status) for name in urls
        )
        logged = tuple(f"GET {_log_path(urls[name])} -> {answers[name].status}" for name in urls)
        call.write(str(response.status_code), response, batched=batched, batched_log=logged)
        return answers

    def _throttled_wait(self, throttled: list[_SubResponse], attempt: int) -> float | None:
        """Seconds to wait before sending throttled requests again; None to give up now."""
        # urllib3's backoff for answers without Retry-After: 0 s, then 0.4 s.
        wait = BACKOFF_FACTOR * 2**attempt if attempt else 0.0
        for answer in throttled:
            header = answer.headers.get("Retry-After")
            if header is not None:
                asked = retry_after_seconds(header)
                if asked is None or asked > self._max_retry_after:
                    return None
                wait = max(wait, asked)
        wait = min(wait, self._max_retry_after)
        deadline = _page_deadline.get()
        if deadline is not None and time.monotonic() + wait >= deadline:
            return None
        return wait

    def _next_link(self, path: str, cursor: str) -> str:
        try:
            return self._cursors.loads(cursor, salt=path)
        except BadSignature:
            raise ValueError("not a cursor for this collection") from None

    def _page(self, path: str, response: requests.Response) -> Page:
        return self._page_of(
            path,
            _json_object(response),
            response.headers.get("request-id"),
            response.request.headers.get("client-request-id", ""),
        )

    def _page_of(
        self, path: str, body: dict, request_id: str | None, client_request_id: str
    ) -> Page:
        items = body.get("value")
        if not isinstance(items, list):
            message = "Microsoft Graph sent a collection without a value list."
            raise _unusable_answer(message, request_id, client_request_id)
        next_link = body.get("@odata.nextLink")
        cursor = None
        if next_link is not None:
            if not self._is_next_link(next_link):
                message = "Microsoft Graph sent a next page link outside its endpoint."
                raise _unusable_answer(message, request_id, client_request_id)
            cursor = self._cursors.dumps(next_link, salt=path)
        return Page(items=items, next_cursor=cursor)

    def get_bytes(self, token: str, path: str, *, etag: str | None = None) -> Content | None:
        """GET raw content such as /me/photo/$value; None on 404.

        With `etag` (the ETag of the caller's copy), Graph may answer 304: not_modified.
        """
        headers = {"If-None-Match": etag} if etag else None
        try:
            response = self._send(
                "GET", token, path, headers=headers, accept="*/*", not_modified_ok=bool(etag)
            )
        except GraphNotFound:
            return None
        found_etag = response.headers.get("ETag")
        if response.status_code == 304:
            return Content(b"", "", found_etag or etag, not_modified=True)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return Content(response.content, content_type, found_etag)

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

    def _relative_url(self, request: GetRequest) -> str:
        """A batched request's URL relative to the endpoint, checked as _url checks a path."""
        parts = urlsplit(self._url(request.path))
        pairs = [(name, v) for name, v in (request.params or {}).items() if v is not None]
        # %20 rather than "+" for spaces, and "$" and "," left as Graph's docs write them.
        added = urlencode(pairs, quote_via=quote, safe="$,")
        query = "&".join(q for q in (parts.query, added) if q)
        path = parts.path.removeprefix(self._base_path) or "/"
        return f"{path}?{query}" if query else path

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
        not_modified_ok: bool = False,
    ) -> requests.Response:
        response, call = self._request(
            method, token, path, params=params, headers=headers, json_body=json_body, accept=accept
        )
        call.write(str(response.status_code), response)
        if response.status_code >= 300 and not (not_modified_ok and response.status_code == 304):
            raise _error_for(response, call.client_request_id)
        return response

    def _request(
        self,
        method: str,
        token: str,
        path: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        json_body: dict | None = None,
        accept: str | None = None,
    ) -> tuple[requests.Response, _LogLine]:
        """Send one request; the caller writes its log line once it knows the outcome."""
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
        return response, call


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

    def write(
        self,
        outcome: str,
        response: requests.Response | None = None,
        *,
        batched: tuple[BatchedCall, ...] = (),
        batched_log: tuple[str, ...] = (),
    ) -> None:
        elapsed_ms = (time.monotonic() - self.started) * 1000
        retry = getattr(response.raw, "retries", None) if response is not None else None
        inside = "".join(f"; batched {line}" for line in batched_log)
        log.info(
            "Graph %s %s -> %s in %.0f ms, retries %d, request-id %s, client-request-id %s%s",
            self.method,
            self.path,
            outcome,
            elapsed_ms,
            len(retry.history) if retry is not None else 0,
            response.headers.get("request-id") if response is not None else None,
            self.client_request_id,
            inside,
        )
        recorded = _recorded_calls.get()
        if recorded is not None:  # developer panels are on
            recorded.append(self._as_call(outcome, response, elapsed_ms, retry, batched))

    def _as_call(
        self,
        outcome: str,
        response: requests.Response | None,
        elapsed_ms: float,
        retry: Retry | None,
        batched: tuple[BatchedCall, ...],
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
            batched=batched,
        )


def _display_path(relative_url: str) -> str:
    """A relative URL decoded for reading, as GraphCall.path shows it."""
    path, _, query = relative_url.partition("?")
    shown = unquote(path)
    pairs = parse_qsl(query, keep_blank_values=True)
    return shown + ("?" + "&".join(f"{name}={value}" for name, value in pairs) if pairs else "")


def _log_path(relative_url: str) -> str:
    """A batched request as a log shows it: its path and its parameters' names, no values."""
    path, _, query = relative_url.partition("?")
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    return path + (f" params={','.join(names)}" if names else "")


def _sub_responses(
    response: requests.Response, names: Mapping[str, str], client_request_id: str
) -> dict[str, _SubResponse]:
    """The sub-responses of a $batch answer, by the caller's names; every one must be there."""
    body = _json_object(response)
    batch_request_id = response.headers.get("request-id")
    found: dict[str, _SubResponse] = {}
    for item in body.get("responses") or []:
        if not isinstance(item, dict) or str(item.get("id")) not in names:
            continue
        status, headers = item.get("status"), item.get("headers")
        if isinstance(status, bool) or not isinstance(status, int):
            continue
        found[names[str(item["id"])]] = _SubResponse(
            status,
            CaseInsensitiveDict(headers if isinstance(headers, dict) else {}),
            item.get("body"),
            batch_request_id,
            client_request_id,
        )
    if len(found) != len(names):
        raise _unusable(response, "Microsoft Graph's batch answer lacks some of its responses.")
    return found


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


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
    return _unusable_answer(
        message,
        response.headers.get("request-id"),
        response.request.headers.get("client-request-id", ""),
    )


def _unusable_answer(message: str, request_id: str | None, client_request_id: str) -> GraphError:
    return GraphError(
        502, "invalid_response", message, request_id, client_request_id=client_request_id
    )


def _error_for(response: requests.Response, client_request_id: str) -> GraphError:
    """The exception for a 3xx, 4xx or 5xx answer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return _error_from(
        response.status_code, response.reason, response.headers, body, client_request_id
    )


def _error_from(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    body: object,
    client_request_id: str,
    *,
    fallback_request_id: str | None = None,
) -> GraphError:
    """The exception for a 3xx, 4xx or 5xx answer, a whole response's or a batched one's."""
    code, message = "http_error", reason or f"HTTP {status}"
    request_id = headers.get("request-id")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        inner = error.get("innerError") or error.get("innererror")
        if not request_id and isinstance(inner, dict):
            request_id = inner.get("request-id")
    request_id = request_id or fallback_request_id
    details = dict(request_id=request_id, client_request_id=client_request_id)

    if 300 <= status < 400:
        message = "Microsoft Graph answered with a redirect, which is not followed."
        return GraphError(status, "unexpected_redirect", message, **details)
    if status in (401, 403):
        # CAE answers 401; Conditional Access sometimes answers 403 with the same challenge.
        claims = _claims_from_challenge(headers.get("WWW-Authenticate", ""))
        if claims is not None:
            return GraphClaimsChallenge(status, code, message, claims=claims, **details)
    if status == 403:
        return GraphAccessDenied(status, code, message, **details)
    if status == 404:
        return GraphNotFound(status, code, message, **details)
    if status in RETRY_STATUSES:
        wait = retry_after_seconds(headers.get("Retry-After", ""))
        retry_after = DEFAULT_RETRY_AFTER if wait is None else math.ceil(wait)
        return GraphBusy(status, code, message, retry_after=retry_after, **details)
    return GraphError(status, code, message, **details)
