"""Graph JSON batching: POST /v1.0/$batch, up to 20 sub-requests in one call (json-batching).

Each sub-request goes through the same Graph routes in-process, with the batch's
Authorization header, so scope checks, fault rules and the request log apply to each.
Responses come in execution order (dependsOn first), which may differ from request order.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import unquote

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.test import Client

from ..request_log import BATCH_ENVIRON_KEY
from .common import bad_request, error_body

MAX_REQUESTS = 20
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
DROPPED_HEADERS = frozenset({"content-length", "set-cookie"})


@dataclass(frozen=True)
class SubRequest:
    id: str
    method: str
    url: str  # below /v1.0/, with its query string
    headers: dict[str, str]
    body: object  # None when absent
    depends_on: tuple[str, ...]  # lower-cased ids: ids are not case-sensitive

    @property
    def key(self) -> str:
        return self.id.lower()


def batch() -> ResponseReturnValue:
    """Run the sub-requests; a failed dependency answers 424 for its dependants."""
    subs = _parse(request.get_json(silent=True))
    ids = {s.key: s.id for s in subs}
    statuses: dict[str, int] = {}
    responses = []
    for sub in _execution_order(subs):
        failed = next((d for d in sub.depends_on if statuses[d] >= 400), None)
        answer = _failed_dependency(sub, ids[failed]) if failed else _dispatch(sub)
        statuses[sub.key] = answer["status"]
        responses.append(answer)
    return {"responses": responses}


def _parse(body: object) -> list[SubRequest]:
    raw = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not raw:
        raise bad_request("Invalid batch payload format.")
    if len(raw) > MAX_REQUESTS:
        raise bad_request(f"Maximum number of requests in a batch is {MAX_REQUESTS}.")
    subs = [_sub_request(item, n) for n, item in enumerate(raw)]
    keys = [s.key for s in subs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise bad_request(f"Batch request ids must be unique: duplicate id '{duplicates[0]}'.")
    for sub in subs:
        unknown = [d for d in sub.depends_on if d not in keys]
        if unknown:
            raise bad_request(f"Request '{sub.id}' depends on unknown request id '{unknown[0]}'.")
    return subs


def _sub_request(item: object, position: int) -> SubRequest:
    if not isinstance(item, dict):
        raise bad_request(f"Request at position {position} must be an object.")
    for name in ("id", "method", "url"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise bad_request(f"Request at position {position} is missing '{name}'.")
    sub_id, method = item["id"], item["method"].upper()
    if method not in METHODS:
        raise bad_request(f"Request '{sub_id}' has an unsupported method '{item['method']}'.")
    headers = item.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise bad_request(f"Request '{sub_id}': 'headers' must map names to strings.")
    if "body" in item and "content-type" not in {k.lower() for k in headers}:
        raise bad_request(f"Write request id : {sub_id} does not contain Content-Type header.")
    depends_on = item.get("dependsOn", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise bad_request(f"Request '{sub_id}': 'dependsOn' must be a list of ids.")
    return SubRequest(
        sub_id,
        method,
        _relative_url(item["url"], sub_id),
        headers,
        item.get("body"),
        tuple(d.lower() for d in depends_on),
    )


def _relative_url(url: str, sub_id: str) -> str:
    """'/me' or 'users?$top=5': relative to /v1.0, never another host, never back out of it."""
    url = url.strip()
    if "://" in url or url.startswith("//"):
        raise bad_request(f"Request '{sub_id}': 'url' must be relative to /v1.0.")
    url = url.lstrip("/")
    path = unquote(url.partition("?")[0])
    segments = path.split("/")
    if ".." in segments or "." in segments:
        raise bad_request(f"Request '{sub_id}': 'url' may not contain '.' or '..' segments.")
    if segments[0].lower() == "$batch":
        raise bad_request(f"Request '{sub_id}': a batch cannot contain another batch.")
    return url.replace(" ", "%20")  # Graph's examples put raw spaces in $filter


def _execution_order(subs: list[SubRequest]) -> list[SubRequest]:
    """Request order, except that each request waits for the ones it depends on."""
    done: set[str] = set()
    order: list[SubRequest] = []
    pending = list(subs)
    while pending:
        ready = next((s for s in pending if set(s.depends_on) <= done), None)
        if ready is None:
            raise bad_request("The dependsOn references form a cycle.")
        pending.remove(ready)
        done.add(ready.key)
        order.append(ready)
    return order


def _dispatch(sub: SubRequest) -> dict:
    path, _, query = sub.url.partition("?")
    headers = dict(sub.headers)
    headers["Authorization"] = request.headers.get("Authorization", "")
    if "client-request-id" in request.headers:
        headers.setdefault("client-request-id", request.headers["client-request-id"])
    data = None if sub.body is None else json.dumps(sub.body)
    client = Client(current_app._get_current_object(), use_cookies=False)
    with client.open(
        path=f"/v1.0/{path}",
        query_string=query,
        method=sub.method,
        headers=headers,
        data=data,
        base_url=request.host_url,
        environ_base={"REMOTE_ADDR": request.remote_addr, BATCH_ENVIRON_KEY: True},
    ) as response:
        answer = {
            "id": sub.id,
            "status": response.status_code,
            "headers": {
                k: v for k, v in response.headers.items() if k.lower() not in DROPPED_HEADERS
            },
        }
        if response.is_json:
            answer["body"] = response.get_json()
        elif response.data:
            # Graph returns binary bodies (photos) base64-encoded inside the JSON.
            answer["body"] = base64.b64encode(response.data).decode()
    return answer


def _failed_dependency(sub: SubRequest, dependency: str) -> dict:
    return {
        "id": sub.id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": error_body("FailedDependency", f"Request '{dependency}' failed."),
    }


def install(bp: Blueprint) -> None:
    bp.add_url_rule("/$batch", "batch", batch, methods=["POST"])
