"""The rollback plan: the run's writes diffed against the live state into steps, app first, then role
assignments and identity, each kept when something else uses it; refused when the journal cannot be
trusted, a later run on the same app is in force, or the caller lacks a permission."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..azure.gateway import Gateway
from ..journal import Run
from .app_steps import app_steps
from .arm import resource_name
from .identity_steps import identity_steps
from .journal_check import journal_problems
from .lasting_steps import lasting_steps
from .live import RollbackLive, read_live
from .preflight import preflight
from .role_steps import role_steps
from .step import RollbackStep
from .users import identity_users
from .writes import RunWrites, in_force, run_writes


@dataclass
class RollbackPlan:
    run: Run
    live: RollbackLive
    steps: list[RollbackStep]
    problems: list[str]  # anything that refuses the whole rollback before it writes
    journals: Path | None = None
    first: list[Path] = field(default_factory=list)  # later runs in force: their journals, to roll back first

    @property
    def writes(self) -> bool:
        return any(s.writes for s in self.steps)

    def step(self, key: str) -> RollbackStep | None:
        return next((s for s in self.steps if s.key == key), None)


async def plan_rollback(gateway: Gateway, run: Run, journals: Path | None = None) -> RollbackPlan:
    """Read the live state and diff it against the run: the steps that undo it, nothing written. A
    journal rollback cannot trust (`journal_problems`) is refused before anything is read."""
    problems = journal_problems(run)
    if problems:
        return RollbackPlan(run, RollbackLive(), [], problems, journals)
    plan = build_rollback(run, await read_live(gateway, run, journals))
    plan.journals = journals
    return plan


def build_rollback(run: Run, live: RollbackLive) -> RollbackPlan:
    """The steps that undo `run` given `live` (pure): the app first, then the role assignments and the
    identity, each kept instead when something else uses it. A journal rollback cannot trust
    (`journal_problems`) gives no steps, only its problems."""
    untrusted = journal_problems(run)
    if untrusted:
        return RollbackPlan(run, live, [], untrusted)
    writes = run_writes(run)
    others = [run_writes(o) for o in live.others]
    first = _later_in_force(writes, others, live.app_raw)
    problems = [
        f"a later run on {resource_name(writes.app_id or '')} is in force: {path}. Roll it back first, then this one."
        for path in first
    ]
    steps = app_steps(writes, live) if writes.app else []
    after = [s.key for s in steps if s.writes]  # the app lets go of the identity before it goes
    users, runs = identity_users(writes, live, others, steps)
    steps += role_steps(writes, live, others, users, after)
    steps += identity_steps(writes, live, users, runs, after)
    steps += lasting_steps(writes)
    problems += preflight(steps, live, writes.app_id)
    return RollbackPlan(run, live, steps, problems, first=first)


def _later_in_force(writes: RunWrites, others: list[RunWrites], raw: dict[str, Any] | None) -> list[Path]:
    """The journals of later runs on the same app that are still in force: each was built on this
    run's result, so undoing this one first would restore a value (or delete an identity) the later
    one's rollback needs. In force: not rolled back, and what it put on the app is there now."""
    app_id = writes.app_id
    if not app_id:
        return []
    later = []
    run = writes.run
    for theirs in others:
        other = theirs.run
        if (other.started, other.path.name) <= (run.started, run.path.name):
            continue
        if (theirs.app_id or "").lower() != app_id.lower() or not in_force(other, ("env", "link")):
            continue
        if not theirs.holds_app(raw):
            continue
        later.append(other.path)
    return later
