"""Injected faults: what a real tenant does on a bad day, made bounded and repeatable.

A spec is `KIND[,key=value]...`:

    KIND      429 | 500 | 503 | drop | latency | lro-fail | busy
    route=RE  only requests whose "METHOD /path" or handler name matches RE (case-insensitive)
    method=M  only this HTTP method
    every=N   hit every Nth matching request (default 1)
    after=N   let the first N matching requests through
    times=N   stop after N hits (default 3 for errors and drops, unlimited for latency)
    p=F       hit with probability F instead of every Nth, from a seeded generator
    ms=N      latency to add (latency); how long an app stays busy (busy, instead of times)
    retry_after=S   the Retry-After of a 429 or 503 (default 1)

`busy` is someone else's update in progress on a container app: the requests to an app that match
(a read, a write) find it `InProgress`, and a PUT, PATCH or DELETE is refused with 409
`ContainerAppOperationInProgress`, for `times` such requests (default 3) or for `ms` milliseconds
from the first; then that update ends and the app is free again.

Examples: `429,route=roleAssignments,every=2`, `drop,method=PATCH,times=1`, `lro-fail,times=1`,
`busy,route=maia-runner,times=2`, `busy,route=maia-runner,ms=5000`.
The token endpoint is only faulted when a route names it.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field

KINDS = ("429", "500", "503", "drop", "latency", "lro-fail", "busy")
# Kinds a provider asks about itself, at the point of its own work, instead of the request pipeline.
_PROVIDER_KINDS = ("lro-fail", "busy")
_INT_KEYS = ("every", "after", "times", "ms")
_FLOAT_KEYS = ("p", "retry_after")


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    kind: str
    route: re.Pattern[str] | None = None
    method: str | None = None
    every: int = 1
    after: int = 0
    times: int | None = None
    p: float | None = None
    ms: int = 0
    retry_after: float = 1.0
    seen: int = 0
    hits: int = 0
    spec: str = ""
    first_hit_at: float | None = None  # monotonic seconds of the first hit (busy with ms=)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def matches(self, method: str, path: str, handler: str) -> bool:
        if self.method and self.method != method.upper():
            return False
        if self.route is None:
            return "/msi/token" not in path.lower()
        return bool(self.route.search(f"{method.upper()} {path}") or self.route.search(handler))

    def fire(self, method: str, path: str, handler: str) -> bool:
        """Count this request against the fault and say whether it is hit."""
        if not self.matches(method, path, handler):
            return False
        if self.exhausted():
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        hit = self._rng.random() < self.p if self.p is not None else (self.seen - self.after) % self.every == 0
        if hit:
            self.hits += 1
            if self.first_hit_at is None:
                self.first_hit_at = time.monotonic()
        return hit

    def exhausted(self) -> bool:
        """Whether the fault has done all it was asked to: its `times` hits, or (busy) its `ms` window."""
        if self.times is not None and self.hits >= self.times:
            return True
        if self.kind == "busy" and self.ms and self.first_hit_at is not None:
            return time.monotonic() - self.first_hit_at >= self.ms / 1000
        return False


def parse_fault(spec: str, seed: int = 0) -> Fault:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or parts[0].lower() not in KINDS:
        raise FaultSpecError(f"fault {spec!r}: the kind must be one of {', '.join(KINDS)}")
    fault = Fault(kind=parts[0].lower(), spec=spec, _rng=random.Random(f"{seed}:{spec}"))
    if fault.kind != "latency":
        fault.times = 3
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep:
            raise FaultSpecError(f"fault {spec!r}: {part!r} is not key=value")
        try:
            if key == "route":
                fault.route = re.compile(value, re.IGNORECASE)
            elif key == "method":
                fault.method = value.upper()
            elif key in _INT_KEYS:
                number = int(value)
                if number < 0 or (key == "every" and number < 1):
                    raise ValueError
                setattr(fault, key, number)
            elif key in _FLOAT_KEYS:
                number = float(value)
                if number < 0 or (key == "p" and number > 1):
                    raise ValueError
                setattr(fault, key, number)
            else:
                raise FaultSpecError(f"fault {spec!r}: unknown key {key!r}")
        except re.error as exc:
            raise FaultSpecError(f"fault {spec!r}: route is not a valid regular expression ({exc})") from exc
        except ValueError as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"fault {spec!r}: {key} must be a non-negative number, not {value!r}") from exc
    if fault.kind == "latency" and fault.ms <= 0:
        raise FaultSpecError(f"fault {spec!r}: latency needs ms=N")
    if fault.kind == "busy" and fault.ms and not any(p.split("=")[0].strip().lower() == "times" for p in parts[1:]):
        fault.times = None  # a busy window is bounded by its duration, not a count
    return fault


class FaultPlan:
    """All the faults of a sandbox; asked once per request, in the order they were given."""

    def __init__(self, specs: list[str] | tuple[str, ...] = (), seed: int = 0) -> None:
        self.faults = [parse_fault(s, seed) for s in specs]

    def add(self, spec: str, seed: int = 0) -> Fault:
        fault = parse_fault(spec, seed)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def hits(self, method: str, path: str, handler: str) -> list[Fault]:
        """The pipeline's faults (errors, drops, latency) this request runs into."""
        return [f for f in self.faults if f.kind not in _PROVIDER_KINDS and f.fire(method, path, handler)]

    def lro_should_fail(self, method: str, path: str, handler: str) -> bool:
        return any(f.fire(method, path, handler) for f in self.faults if f.kind == "lro-fail")

    def busy(self, method: str, path: str, handler: str) -> Fault | None:
        """The `busy` fault this request to a container app finds the app held by, if any."""
        return next((f for f in self.faults if f.kind == "busy" and f.fire(method, path, handler)), None)
