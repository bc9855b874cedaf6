"""Fault rules from JSON (the control API) into FaultRule records, each field checked once."""

from __future__ import annotations

import re

from .faults import STATUSES, TARGETS, FaultRule, FaultRuleError
from .parsing import json_int, json_number

MAX_LATENCY = 60.0  # seconds; a schedule must not hang a test run for longer
MAX_RETRY_AFTER = 86400
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
FIELDS = {
    "name",
    "target",
    "method",
    "path",
    "path_regex",
    "status",
    "rate",
    "nth",
    "count",
    "retry_after",
    "latency",
    "throttle_early_retries",
}


def parse_schedule(body: dict) -> tuple[list[FaultRule], int]:
    """`{"seed": 7, "rules": [...]}`; raises FaultRuleError naming the bad field."""
    seed = json_int(body.get("seed", 0))
    if seed is None:
        raise FaultRuleError("'seed' must be an integer")
    rules = body.get("rules")
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise FaultRuleError("'rules' must be a list of objects")
    return [parse_rule(r, i) for i, r in enumerate(rules)], seed


def parse_rule(raw: dict, index: int = 0) -> FaultRule:
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise FaultRuleError(f"rule {index}: unknown field(s) {', '.join(unknown)}")
    name = raw.get("name", f"rule-{index}")
    if not isinstance(name, str) or not name:
        raise FaultRuleError(f"rule {index}: 'name' must be a non-empty string")

    def fail(message: str) -> FaultRuleError:
        return FaultRuleError(f"rule {name!r}: {message}")

    target = raw.get("target", "graph")
    if target not in TARGETS:
        raise fail("'target' must be 'graph' or 'token'")
    methods = _strings(raw.get("method"))
    if methods is None or not set(methods) <= METHODS:
        raise fail(f"'method' must be one or a list of {', '.join(sorted(METHODS))}")
    if "path" in raw and "path_regex" in raw:
        raise fail("give 'path' (a glob) or 'path_regex', not both")
    path = raw.get("path_regex", raw.get("path", "*"))
    if not isinstance(path, str) or not path:
        raise fail("'path' and 'path_regex' must be non-empty strings")
    if "path_regex" in raw:
        try:
            re.compile(path)
        except re.error as error:
            raise fail(f"'path_regex' does not compile: {error}") from None
    statuses = _ints(raw.get("status"))
    if statuses is None or not set(statuses) <= set(STATUSES):
        raise fail("'status' must be one or a list of 429, 500, 502, 503, 504")
    rate = json_number(raw.get("rate", 1))
    if rate is None or not 0 <= rate <= 1:
        raise fail("'rate' must be a number from 0 to 1")
    nth = _ints(raw.get("nth"))
    if nth is None or any(n < 1 for n in nth):
        raise fail("'nth' must be a positive integer or a list of them")
    count = raw.get("count")
    if count is not None and (json_int(count) is None or count < 1):
        raise fail("'count' must be a positive integer")
    retry_after = raw.get("retry_after")
    if retry_after is not None and (
        json_int(retry_after) is None or not 0 <= retry_after <= MAX_RETRY_AFTER
    ):
        raise fail(f"'retry_after' must be an integer from 0 to {MAX_RETRY_AFTER}")
    latency = _latency(raw.get("latency"))
    if latency == ():
        raise fail(f"'latency' must be seconds or [low, high], each up to {MAX_LATENCY:g}")
    early = raw.get("throttle_early_retries", False)
    if not isinstance(early, bool):
        raise fail("'throttle_early_retries' must be true or false")
    if not statuses and not latency:
        raise fail("give 'status', 'latency' or both")
    if early and (not statuses or retry_after is None):
        raise fail("'throttle_early_retries' needs 'status' and 'retry_after'")
    return FaultRule(
        name=name,
        target=target,
        methods=frozenset(methods) or None,
        path=path,
        path_is_regex="path_regex" in raw,
        statuses=tuple(statuses),
        rate=rate,
        nth=frozenset(nth) or None,
        count=count,
        retry_after=retry_after,
        latency=latency or None,
        throttle_early_retries=early,
    )


def legacy_rule(body: dict) -> FaultRule:
    """The original `{"status", "count", "retry_after"}` or `{"delay", "count"}` fault."""
    count = json_int(body.get("count", 1))
    if count is None or count < 1:
        raise FaultRuleError("'count' must be a positive integer")
    if "delay" in body:
        delay = json_number(body["delay"])
        if delay is None or not 0 <= delay <= MAX_LATENCY:
            raise FaultRuleError(f"'delay' must be a number of seconds up to {MAX_LATENCY:g}")
        return FaultRule(name="fault", latency=(delay, delay), count=count)
    status = body.get("status")
    if isinstance(status, bool) or status not in STATUSES:
        raise FaultRuleError("give 'status' (429, 500, 502, 503 or 504) or 'delay', and 'count'")
    retry_after = body.get("retry_after")
    if retry_after is not None and (json_int(retry_after) is None or retry_after < 0):
        raise FaultRuleError("'retry_after' must be a non-negative integer")
    return FaultRule(name="fault", statuses=(status,), count=count, retry_after=retry_after)


def _strings(value: object) -> list[str] | None:
    """None or a string or a list of strings, as a list; None when malformed."""
    items = [] if value is None else [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        return None
    return [v.upper() for v in items]


def _ints(value: object) -> list[int] | None:
    items = [] if value is None else value if isinstance(value, list) else [value]
    numbers = [json_int(v) for v in items]
    return None if None in numbers else numbers


def _latency(value: object) -> tuple[float, ...] | None:
    """(low, high) seconds; None when absent, () when malformed."""
    if value is None:
        return None
    pair = value if isinstance(value, list) else [value, value]
    numbers = [json_number(v) for v in pair] if len(pair) == 2 else [None]
    if None in numbers or not 0 <= numbers[0] <= numbers[1] <= MAX_LATENCY:
        return ()
    return numbers[0], numbers[1]
