"""Deterministic fault schedules for Graph and the token endpoint.

A schedule is a seed and an ordered list of rules. Each rule has its own random
generator seeded from (seed, rule position), and draws the same three numbers for every
request it evaluates, so the same seed and the same request sequence give the same
outcomes, whatever the other rules do.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import dataclass, field

from .clock import Clock

TARGETS = ("graph", "token")
STATUSES = (429, 500, 502, 503, 504)

# Graph's documented codes (errors.md): TooManyRequests as Graph sends it, serviceNotAvailable,
# and generalException ("an unspecified error") where Graph documents nothing more specific.
GRAPH_ERRORS = {
    429: ("TooManyRequests", "Too many requests"),
    500: ("generalException", "An unspecified error has occurred."),
    502: ("generalException", "The gateway received an invalid response from the service."),
    503: ("serviceNotAvailable", "The service is not available. Try the request again later."),
    504: ("generalException", "The gateway timed out waiting for the service."),
}
# Entra's OAuth error and AADSTS description per status (reference-error-codes); which code
# goes with which status is the emulator's choice, the docs do not pair them.
_TRANSIENT = (
    "temporarily_unavailable",
    "AADSTS90033: MsodsServiceUnavailable - The Microsoft Online Directory Service (MSODS) "
    "isn't available.",
)
TOKEN_ERRORS = {
    429: (
        "temporarily_unavailable",
        "AADSTS90024: RequestBudgetExceededError - A transient error has occurred. Try again.",
    ),
    500: (
        "server_error",
        "AADSTS50000: TokenIssuanceError - There's an issue with the sign-in service.",
    ),
    502: _TRANSIENT,
    503: _TRANSIENT,
    504: _TRANSIENT,
}


class FaultRuleError(ValueError):
    """A rule or schedule the control API cannot accept; the message says which field."""


@dataclass(frozen=True)
class FaultRule:
    """Which requests a rule matches and what it does to the ones it selects."""

    name: str
    target: str = "graph"
    methods: frozenset[str] | None = None  # None: any method
    path: str = "*"  # glob (fnmatch) over the path, or a regex when path_is_regex
    path_is_regex: bool = False
    statuses: tuple[int, ...] = ()  # empty: latency only
    rate: float = 1.0
    nth: frozenset[int] | None = None  # 1-based positions among the requests evaluated
    count: int | None = None  # at most this many selections
    retry_after: int | None = None
    latency: tuple[float, float] | None = None
    throttle_early_retries: bool = False

    def matches(self, target: str, method: str, path: str) -> bool:
        if target != self.target or (self.methods and method.upper() not in self.methods):
            return False
        if self.path_is_regex:
            return re.fullmatch(self.path, path) is not None
        return fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "target": self.target,
            "method": sorted(self.methods) if self.methods else None,
            "path_regex" if self.path_is_regex else "path": self.path,
            "status": list(self.statuses),
            "rate": self.rate,
            "nth": sorted(self.nth) if self.nth else None,
            "count": self.count,
            "retry_after": self.retry_after,
            "latency": list(self.latency) if self.latency else None,
            "throttle_early_retries": self.throttle_early_retries,
        }


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: sleep `delay` seconds, then fail with `status` if set."""

    rule: str
    delay: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    early_retry: bool = False  # the caller came back before Retry-After had passed


@dataclass
class _Live:
    rng: random.Random
    evaluated: int = 0
    fired: int = 0
    blocked: dict[str, tuple[float, int]] = field(default_factory=dict)  # caller -> (until, status)


class FaultSchedule:
    """The active rules and their counters; thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.seed = 0
        self._rules: list[tuple[FaultRule, _Live]] = []

    def set_rules(self, rules: list[FaultRule], seed: int = 0) -> None:
        """Replace the schedule; counters and random draws start again from the seed."""
        with self._lock:
            self.seed = seed
            # Reproducible on purpose (S311: not for secrets); random hashes a string seed with
            # SHA-512, so the draws are the same in every process.
            self._rules = [
                (r, _Live(random.Random(f"{seed}:{i}")))  # noqa: S311
                for i, r in enumerate(rules)
            ]

    def clear(self) -> None:
        self.set_rules([], 0)

    def snapshot(self) -> dict:
        with self._lock:
            rules = [
                {**rule.to_json(), "evaluated": live.evaluated, "fired": live.fired}
                for rule, live in self._rules
            ]
            return {"seed": self.seed, "rules": rules}

    def decide(self, target: str, method: str, path: str, caller: str) -> FaultDecision | None:
        """Evaluate the rules in order for one request; None when nothing happens to it."""
        now = self._clock.now()
        delay, last_rule = 0.0, ""
        with self._lock:
            for rule, live in self._rules:
                if not rule.matches(target, method, path):
                    continue
                blocked = live.blocked.pop(caller, None)
                if blocked and now < blocked[0]:
                    # Graph keeps counting usage while it throttles: the wait starts again.
                    live.blocked[caller] = (now + rule.retry_after, blocked[1])
                    return FaultDecision(rule.name, delay, blocked[1], rule.retry_after, True)
                live.evaluated += 1
                draw_rate, draw_status, draw_latency = (live.rng.random() for _ in range(3))
                if not self._selected(rule, live, draw_rate):
                    continue
                live.fired += 1
                last_rule = rule.name
                if rule.latency:
                    low, high = rule.latency
                    delay += low + (high - low) * draw_latency
                if rule.statuses:
                    status = rule.statuses[int(draw_status * len(rule.statuses))]
                    if rule.throttle_early_retries and rule.retry_after:
                        live.blocked[caller] = (now + rule.retry_after, status)
                    return FaultDecision(rule.name, delay, status, rule.retry_after)
        return FaultDecision(last_rule, delay) if last_rule else None

    @staticmethod
    def _selected(rule: FaultRule, live: _Live, draw: float) -> bool:
        if rule.nth is not None and live.evaluated not in rule.nth:
            return False
        if rule.count is not None and live.fired >= rule.count:
            return False
        return draw < rule.rate
