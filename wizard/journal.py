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
    """Where journals and error logs live: $RUNNER_IDENTITY_STATE_DIR, else the platform's user
    state directory (platformdirs: $XDG_STATE_HOME/runner-identity, ~/.local/state/runner-identity
    on Linux; ~/Library/Application Support/runner-identity on macOS; %LOCALAPPDATA% on Windows)."""
    override = os.environ.get("RUNNER_IDENTITY_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path("runner-identity", appauthor=False)


@dataclass
class Journal:
    path: Path

    @classmethod
    def new(cls, label: str, directory: Path | None = None) -> Journal:
        where = (directory or state_dir()) / "journals"
        where.mkdir(parents=True, exist_ok=True)
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
        with self.path.open("a", encoding="utf-8") as fh:
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
