"""Graph's JSON batching in front of a test's scripted GETs (`responses`).

`answer_batches_from_gets(http_mock)` makes POST {GRAPH}/$batch answer as Graph does: each
request in it is answered exactly as the same GET would be, by sending that GET through the
same mock (so its registrations, query matchers and call counts apply), and the batch is a
200 carrying each answer's status, headers and body. Those inner GETs carry a marker header:
`outbound` leaves them out, so what remains is what the app itself sent.
"""

from __future__ import annotations

import base64
import json

import requests
import responses

GRAPH = "https://graph.microsoft.com/v1.0"
BATCHED = "X-Test-Batched-Request"  # marks a GET that stands for a request inside a batch
UNSCRIPTED = {"error": {"code": "unscripted", "message": "The test scripted no answer."}}


def answer_batches_from_gets(http_mock: responses.RequestsMock, graph: str = GRAPH) -> None:
    def answer(request):
        body = json.loads(request.body)
        inner = requests.Session()
        answers = []
        for sub in body["requests"]:
            headers = {**sub.get("headers", {}), BATCHED: sub["id"]}
            headers["Authorization"] = request.headers["Authorization"]
            try:
                got = inner.get(f"{graph}{sub['url']}", headers=headers, timeout=5)
            except requests.ConnectionError:  # no registration matched
                answers.append({"id": sub["id"], "status": 500, "body": UNSCRIPTED})
                continue
            answer = {"id": sub["id"], "status": got.status_code, "headers": dict(got.headers)}
            if got.content:
                is_json = got.headers.get("Content-Type", "").startswith("application/json")
                answer["body"] = got.json() if is_json else base64.b64encode(got.content).decode()
            answers.append(answer)
        return 200, {"Content-Type": "application/json"}, json.dumps({"responses": answers})

    http_mock.add_callback(responses.POST, f"{graph}/$batch", callback=answer)


def outbound(calls) -> list:
    """The requests among `calls` (http_mock.calls) that the app sent itself."""
    return [c.request for c in calls if BATCHED not in c.request.headers]


def batched(calls) -> list:
    """The GETs among `calls` that stood for requests inside a batch, in batch order."""
    return [c.request for c in calls if BATCHED in c.request.headers]
