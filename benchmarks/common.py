"""What every benchmark shares: timing, medians, a sandbox with latency, a gateway on it."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.azure.connection import Connection
from wizard.sandbox.server import SandboxInfo, SandboxThread
from wizard.sandbox.state import SandboxConfig


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    goal: str = ""
    met: bool | None = None
    runs: list[float] = field(default_factory=list)
    note: str = ""

    def shown(self) -> str:
        if math.isnan(self.value):
            return "not measured"
        if self.unit == "s":
            return f"{self.value * 1000:.0f} ms" if self.value < 10 else f"{self.value:.1f} s"
        if self.unit == "MB":
            return f"{self.value:.0f} MB"
        if self.unit == "x":
            return f"{self.value:.2f}x"
        return f"{self.value:g} {self.unit}".strip()


def installed_bytecode() -> None:
    """Compile wizard/ to bytecode, as `pip install` does: a checkout run with PYTHONDONTWRITEBYTECODE
    (this machine sets it) would otherwise compile every module from source at each start."""
    import compileall

    import wizard

    compileall.compile_dir(str(Path(wizard.__file__).parent), quiet=1)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """The value below which a fraction `q` (0..1) of `values` lies (nearest rank); nan for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


@contextlib.contextmanager
def served_sandbox(*flags: str, retry_after: int | None = 0) -> Iterator[SandboxInfo]:
    """A sandbox in a process of its own, as Azure is: its work never competes with the client's.
    `retry_after`: its long-running operations' Retry-After in seconds (None: the sandbox's default)."""
    wait = [] if retry_after is None else ["--retry-after", str(retry_after)]
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard.cli", "sandbox", "serve", *wait, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = SandboxInfo(**json.loads(process.stdout.readline()))
        with info.exported():
            yield info
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def sandbox(**config: Any) -> Iterator[tuple[SandboxInfo, SandboxThread]]:
    """A sandbox on a thread of this process: for counting what a client sent (its request log)."""
    config.setdefault("retry_after_s", 0)
    thread = SandboxThread(SandboxConfig(**config))
    info = thread.start()
    try:
        with info.exported():
            yield info, thread
    finally:
        thread.stop()


def connection(info: SandboxInfo, poll_interval: float = 0.1) -> Connection:
    return Connection(
        arm_endpoint=info.arm_endpoint,
        ca_bundle=info.ca_bundle,
        managed_identity_only=True,
        poll_interval=poll_interval,
    )
