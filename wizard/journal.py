"""The apply journal: one JSON object per line, appended and flushed before and after every write,
so a run that dies part-way still says what it did, and `rollback` knows exactly what to undo.

One file is one *run*: its `start` event (a run id, the plan, the steps shown), then every attempt
at it (`apply` again on the same plan, the wizard's Retry, each opens with an `attempt` event), then
any rollbacks (`rollback-start`, `rollback-step`, `rollback-finished` with what is still in force).

It holds resource ids, role GUIDs, the identity's client and principal IDs and the previous
value of the one variable apply sets. Never tokens, never secret values (a `secretRef` is kept
by name only).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    """Where journals and error logs live: $RUNNER_IDENTITY_STATE_DIR, else the platform's user
    state directory (platformdirs: $XDG_STATE_HOME/runner-identity, ~/.local/state/runner-identity
    on Linux; ~/Library/Application Support/runner-identity on macOS; %LOCALAPPDATA% on Windows)."""
    override = os.environ.get("RUNNER_IDENTITY_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path("runner-identity", appauthor=False)


def journals_dir(directory: Path | None = None) -> Path:
    """Where the journals of `directory` (default: the state dir) live: its `journals` folder."""
    return (directory or state_dir()) / "journals"


@dataclass
class Journal:
    path: Path

    @classmethod
    def new(cls, label: str, directory: Path | None = None) -> Journal:
        where = journals_dir(directory)
        where.mkdir(parents=True, exist_ok=True)
        where.chmod(0o700)  # journals name the tenant's resources: for the user who ran apply only
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:60]
        path = where / f"{stamp}-{safe}.jsonl"
        n = 1
        while path.exists():
            n += 1
            path = where / f"{stamp}-{safe}-{n}.jsonl"
        return cls(path)

    def write(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.path)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The journal's records, in order, up to the first line that is not one (a run killed
    mid-write leaves at most one torn last line; everything before it stands).

    Raises OSError when the file cannot be read, UnicodeDecodeError when it is not text.
    """
    events = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                break
            if not isinstance(record, dict) or not isinstance(record.get("event"), str):
                break
            events.append(record)
    return events


class JournalError(ValueError):
    """A file that is not a runner-identity journal (or cannot be read as one)."""


@dataclass
class Run:
    """One run as its journal tells it: every attempt, every write, every rollback."""

    path: Path
    events: list[dict[str, Any]]

    @property
    def start(self) -> dict[str, Any]:
        return self.events[0]

    @property
    def run_id(self) -> str:
        return str(self.start.get("run") or self.path.stem)

    @property
    def plan_text(self) -> str:
        return str(self.start.get("plan") or "")

    @property
    def started(self) -> float:
        return float(self.start.get("time") or 0.0)

    @property
    def rolled_back_once(self) -> bool:
        return any(e.get("event") == "rollback-start" for e in self.events)

    def apply_events(self) -> list[dict[str, Any]]:
        """The events of the apply attempts, before any rollback."""
        out = []
        for event in self.events:
            if str(event.get("event", "")).startswith("rollback"):
                break
            out.append(event)
        return out

    @property
    def open(self) -> bool:
        """Whether `apply` of the same plan continues this run: its last attempt did not finish (it
        failed, or the process died) and no rollback has touched it."""
        if self.rolled_back_once:
            return False
        return not self.events or self.events[-1].get("event") != "finished"

    def remaining(self) -> list[str] | None:
        """What the last finished rollback left in force (step keys), or None if none finished:
        then everything the run wrote may still be in force."""
        for event in reversed(self.events):
            if event.get("event") == "rollback-finished":
                return [str(k) for k in event.get("remaining") or []]
        return None


def read_run(path: Path) -> Run:
    """The run journaled at `path`.

    Raises OSError when the file cannot be read, JournalError when it is not a runner-identity
    journal (no `start` event first)."""
    events = read_events(path)
    if not events or events[0].get("event") != "start":
        raise JournalError(f"{path} is not a runner-identity journal")
    return Run(path, events)


def runs_in(directory: Path) -> list[Run]:
    """Every readable run journaled in `directory`, oldest first (files that are not journals are skipped)."""
    runs = []
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        try:
            runs.append(read_run(path))
        except (OSError, JournalError):
            continue
    return sorted(runs, key=lambda r: (r.started, r.path.name))


def open_run(directory: Path | None, plan_text: str) -> Path | None:
    """The newest unfinished run of exactly this plan in `directory`'s journals, to continue."""
    for run in reversed(runs_in(journals_dir(directory))):
        if run.plan_text == plan_text and run.open:
            return run.path
    return None
