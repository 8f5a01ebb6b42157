"""The apply journal: one JSON object per line, appended and flushed before and after every write,
so a run that dies part-way still says what it did, and `rollback` knows exactly what to undo.

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
    """Where journals live: $RUNNER_IDENTITY_STATE_DIR, else $XDG_STATE_HOME/runner-identity."""
    override = os.environ.get("RUNNER_IDENTITY_STATE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "runner-identity"


@dataclass
class Journal:
    path: Path

    @classmethod
    def new(cls, label: str, directory: Path | None = None) -> Journal:
        where = (directory or state_dir()) / "journals"
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
    events = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError:
                # A run killed mid-write leaves at most one torn last line; everything before it stands.
                break
    return events
