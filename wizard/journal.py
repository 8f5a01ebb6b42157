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

import errno
import itertools
import json
import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO


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
    return _read(path)[0]


# No run's journal comes near these: a record is a few KiB, the `start` record holds the plan (at most
# 1 MiB, up to 6 bytes a character once JSON-escaped), and a run is a few dozen records per attempt.
MAX_RECORD_BYTES = 8 << 20
MAX_JOURNAL_BYTES = 64 << 20


def _read(path: Path) -> tuple[list[dict[str, Any]], list[int], list[str]]:
    """(records, the line number of each, problems): a line that is not a record is a problem unless
    it is the last one (a torn write), since what follows it could not be trusted to be complete. A
    line longer than MAX_RECORD_BYTES or a file past MAX_JOURNAL_BYTES is read no further."""
    events: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: int | None = None
    problems: list[str] = []
    size = 0
    with _open_regular(path) as fh:
        for number in itertools.count(1):
            line = fh.readline(MAX_RECORD_BYTES + 1)
            if not line:
                break
            size += len(line)
            if size > MAX_JOURNAL_BYTES:
                problems.append(f"it is larger than {MAX_JOURNAL_BYTES >> 20} MiB: no run's journal is")
                break
            line = line.strip()
            if not line:
                continue
            if bad is not None:
                problems.append(
                    f"line {bad} is not a journal record, yet more follow it: the journal was edited or damaged, "
                    "so what the run wrote cannot be known"
                )
                break
            try:
                record = json.loads(line) if len(line) <= MAX_RECORD_BYTES else None
            except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("event"), str):
                bad = number
                continue
            events.append(record)
            numbers.append(number)
    return events, numbers, problems


def _open_regular(path: Path) -> TextIO:
    """`path` opened for reading as UTF-8 text, if it is a regular file. A FIFO or a device named like a
    journal would block a plain open or read forever (or never end): OSError "not a regular file"."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO without a writer would block the open itself
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return open(fd, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


class JournalError(ValueError):
    """A file that is not a runner-identity journal (or cannot be read as one)."""


@dataclass
class Run:
    """One run as its journal tells it: every attempt, every write, every rollback. `problems` says
    what in the file is not as runner-identity writes it (a journal edited by hand, damaged, or from
    a version that writes other records): such a run is never continued, and rollback refuses it."""

    path: Path
    events: list[dict[str, Any]]
    lines: list[int] = field(default_factory=list)  # each event's line number in the file
    problems: list[str] = field(default_factory=list)

    def line(self, event: dict[str, Any]) -> int:
        """The line number of one of this run's events (1 when unknown)."""
        for index, found in enumerate(self.events):
            if found is event:
                return self.lines[index] if index < len(self.lines) else index + 1
        return 1

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
        time_ = self.start.get("time")
        return float(time_) if _number(time_) else 0.0

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
        if self.rolled_back_once or self.problems:
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
    """The run journaled at `path`; what in it is not as runner-identity writes it is in `problems`.

    Raises OSError when the file cannot be read, UnicodeDecodeError when it is not text, JournalError
    when it is not a runner-identity journal (no `start` event first)."""
    events, numbers, problems = _read(path)
    if not events or events[0].get("event") != "start":
        raise JournalError(f"{path} is not a runner-identity journal")
    for event, number in zip(events, numbers, strict=True):
        problems += [f"line {number}: {p}" for p in event_problems(event)]
    return Run(path, events, numbers, problems)


# -- what each record may hold --------------------------------------------------------------------
def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _variable(value: Any) -> bool:
    """A variable as the journal keeps it: {name, value} or {name, secretRef} (public_var), or none."""
    if value is None:
        return True
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("name"), str)
        or set(value) - {"name", "value", "secretRef"}
    ):
        return False
    if "secretRef" in value:
        return isinstance(value["secretRef"], str) and "value" not in value
    return value.get("value") is None or isinstance(value.get("value"), str)


def _pre_image(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("identity_type"), str)
        and _texts(value.get("user_identities"))
        and isinstance(value.get("container"), str)
        and isinstance(value.get("env_var"), str)
        and _variable(value.get("previous", "missing"))
        and (value.get("revision") is None or isinstance(value.get("revision"), str))
    )


def _steps(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) or _texts(s) for s in value)


_TEXT = ("a string", lambda v: isinstance(v, str))
_OPTIONAL_TEXT = ("a string or null", lambda v: v is None or isinstance(v, str))
# Every field runner-identity writes, with the shape it writes it in (fields it never writes are left alone).
FIELDS: dict[str, tuple[str, Any]] = {
    **{
        k: _TEXT
        for k in (
            "event",
            "run",
            "plan",
            "step",
            "action",
            "target",
            "client_id",
            "principal_id",
            "role",
            "role_name",
            "scope",
            "identity",
            "value",
            "container",
            "env_var",
            "key",
            "result",
            "reason",
        )
    },
    "code": _OPTIONAL_TEXT,
    "message": _OPTIONAL_TEXT,
    "revision": _OPTIONAL_TEXT,
    "time": ("a number", _number),
    # an HTTP status in a `failed` record, a rollback's outcome in `rollback-finished`
    "status": ("a number, a string or null", lambda v: v is None or isinstance(v, str) or _number(v)),
    "ok": ("true or false", lambda v: isinstance(v, bool)),
    "remaining": ("a list of strings", _texts),
    "changes": ("a list of strings", _texts),
    "assignments": ("a list of strings", _texts),
    "dropped": ("a list of strings", _texts),
    "old_tags": ("a table of strings", _text_map),
    "tags": ("a table of strings", _text_map),
    "steps": ("a list", _steps),
    "pre_image": ("the app's pre-image (identity_type, user_identities, container, env_var, previous)", _pre_image),
}
# What each kind of record cannot do without.
REQUIRED = {
    "start": ("plan", "time"),
    "attempt": (),
    "begin": ("step", "action", "target"),
    "done": ("step", "action", "target"),
    "rollback-finished": ("remaining",),
}


def event_problems(event: dict[str, Any]) -> list[str]:
    """What in one record is not as runner-identity writes it: a field of the wrong shape, or a field
    its kind of record needs that is missing. Empty for a good record."""
    problems = [
        f"'{key}' must be {what}, not {json.dumps(event[key])[:60]}"
        for key, (what, fits) in FIELDS.items()
        if key in event and not fits(event[key])
    ]
    problems += [
        f"a '{event['event']}' record needs '{key}'"
        for key in REQUIRED.get(str(event.get("event")), ())
        if key not in event
    ]
    if event.get("event") == "begin" and event.get("step") == "app" and "pre_image" not in event:
        problems.append("the app's 'begin' record needs 'pre_image'")
    return problems


def runs_in(directory: Path) -> list[Run]:
    """Every readable run journaled in `directory`, oldest first (files that are not journals are skipped)."""
    runs = []
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        try:
            runs.append(read_run(path))
        except (OSError, UnicodeDecodeError, JournalError):
            continue  # not a journal (a damaged journal is one, with its problems)
    return sorted(runs, key=lambda r: (r.started, r.path.name))


def open_run(directory: Path | None, plan_text: str) -> Path | None:
    """The newest unfinished run of exactly this plan in `directory`'s journals, to continue."""
    for run in reversed(runs_in(journals_dir(directory))):
        if run.plan_text == plan_text and run.open:
            return run.path
    return None
