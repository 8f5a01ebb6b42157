"""Doing a rollback plan, and only it: read again right before writing, the app's one PATCH (waiting
while someone else's update runs on it), then role assignments, then the identity, each journaled.
Someone else's write to the app in between is found after the PATCH (`apply.foreign_writes`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..apply import SENDING, foreign_writes
from ..azure.errors import GatewayError
from ..azure.gateway import IN_PROGRESS, Gateway
from ..journal import Journal, read_run
from ..model import (
    resource_group_of,
    subscription_of,
)
from ..steps import SETTLE_TIMEOUT_S
from .arm import resource_name
from .outcome import RollbackOutcome, StepOutcome
from .plan import RollbackPlan, plan_rollback
from .revert import revert_body
from .step import RollbackStep
from .writes import run_writes


async def execute(
    gateway: Gateway,
    plan: RollbackPlan,
    settle_timeout_s: float = SETTLE_TIMEOUT_S,
    report: Callable[[str], None] | None = None,
) -> RollbackOutcome:
    """Do the plan's steps, and only those: the app first (one PATCH), then the role assignments,
    then the identity, each journaled. Right before writing it reads everything again; a step the
    fresh plan no longer has (or now keeps) is skipped with the reason, and nothing the app still
    needs is deleted when restoring the app fails. A plan with problems writes nothing.

    An app busy with someone else's update (a provisioningState that is not final, or a 409
    ContainerAppOperationInProgress on the PATCH) is waited for, at most `settle_timeout_s` seconds in
    all, each wait told to `report`; then everything is read again and the PATCH built from that.
    `report` also hears `apply.SENDING` right before the PATCH goes out. After it, the app is compared
    with that read plus the PATCH: someone else's write in between is in the outcome's `conflicts`
    (Container Apps have no ETag to prevent it), journaled, and the outcome is not ok.

    Returns the outcome per step key; raises GatewayError only when a fresh read fails (then nothing
    more has been written)."""
    shown = [s for s in plan.steps if s.writes]
    if plan.problems:
        return RollbackOutcome(plan, "refused")
    app_id = run_writes(plan.run).app_id if any(s.kind in ("env", "link") for s in shown) else None
    deadline = time.monotonic() + settle_timeout_s
    journal = Journal(plan.run.path)
    journal.write("rollback-start", steps=[[s.key, s.action, s.target] for s in plan.steps])
    conflicts: list[str] = []  # someone else's writes to the app while rollback wrote it
    while True:
        busy = await _settled(gateway, app_id, deadline, report) if app_id else ""
        fresh = await plan_rollback(gateway, read_run(plan.run.path), plan.journals)
        results: dict[str, StepOutcome] = {s.key: StepOutcome("kept", s.reason) for s in plan.steps if not s.writes}
        todo = _still_shown(fresh, shown, results)
        app_steps = [s for s in todo if s.kind in ("env", "link")]
        if busy:
            results.update({s.key: StepOutcome("failed", busy) for s in app_steps})
        elif await _do_app(gateway, app_id, fresh, app_steps, results, time.monotonic() < deadline, report, conflicts):
            if report:
                report(f"Azure refused the write: another update of {resource_name(app_id or '')} is running")
            await asyncio.sleep(gateway.connection.poll_interval)
            continue  # read again once it has ended: their update may have changed the app
        break
    ready = []
    for step in (s for s in todo if s.kind not in ("env", "link")):
        # Nothing the app may still need goes while the app has not let go of it.
        if any(results.get(k, StepOutcome("")).status != "done" for k in step.data.get("after", [])):
            results[step.key] = StepOutcome("not run", "the container app was not restored: it may still need this")
        else:
            ready.append(step)
    await asyncio.gather(*(_do(gateway, s, results) for s in ready if s.kind == "role"))
    for step in ready:
        if step.kind != "role":
            await _do(gateway, step, results)
    for step in plan.steps:
        journal.write(
            "rollback-step",
            key=step.key,
            action=step.action,
            target=step.target,
            result=results[step.key].status,
            reason=results[step.key].message or step.reason,
        )
    remaining = [
        s.key
        for s in fresh.steps
        if (s.writes and results.get(s.key, StepOutcome("")).status != "done") or (not s.writes and s.holds)
    ]
    statuses = {results[s.key].status for s in shown}
    if not shown:
        status = "nothing to undo"
    elif statuses == {"done"}:
        status = "rolled back"
    else:
        status = "failed" if "failed" in statuses else "incomplete"
    if conflicts:
        journal.write("conflict", target=app_id, changes=conflicts)
    journal.write(
        "rollback-finished", ok=status in ("rolled back", "nothing to undo"), status=status, remaining=remaining
    )
    return RollbackOutcome(plan, status, results, conflicts)


def _still_shown(fresh: RollbackPlan, shown: list[RollbackStep], results: dict[str, StepOutcome]) -> list[RollbackStep]:
    """The fresh plan's version of each step shown that still holds as shown; the others are recorded
    in `results` as skipped, with the reason."""
    if fresh.problems:
        results.update(
            {s.key: StepOutcome("skipped", f"changed since it was shown: {fresh.problems[0]}") for s in shown}
        )
        return []
    todo = []
    for step in shown:
        found = fresh.step(step.key)
        if found is None or found.action != step.action:
            why = found.reason if found else "already undone"
            results[step.key] = StepOutcome("skipped", f"changed since it was shown: {why}")
        else:
            todo.append(found)
    return todo


async def _settled(gateway: Gateway, app_id: str, deadline: float, on_wait: Callable[[str], None] | None) -> str:
    """Wait (until `deadline`, a time.monotonic() value) while someone else's update runs on the app.
    Returns "" once none does (or the app is gone), else the failure to report at the deadline."""
    started, name = time.monotonic(), resource_name(app_id)
    while True:
        raw = await gateway.container_app_raw(app_id)
        state = str(((raw or {}).get("properties") or {}).get("provisioningState") or "")
        if raw is None or state.lower() not in IN_PROGRESS:
            return ""
        waited = time.monotonic() - started
        if time.monotonic() > deadline:
            return (
                f"{name} was still {state} after {waited:.0f} s: another update is running on it. Nothing was "
                "written to the app; run rollback again once that update has ended"
            )
        if on_wait:
            on_wait(f"waiting: {name} is {state}: another update is running on it ({waited:.0f} s so far)")
        await asyncio.sleep(gateway.connection.poll_interval)


async def _do_app(
    gateway: Gateway,
    app_id: str | None,
    fresh: RollbackPlan,
    steps: list[RollbackStep],
    results: dict[str, StepOutcome],
    may_wait: bool,
    report: Callable[[str], None] | None,
    conflicts: list[str],
) -> bool:
    """The app's one PATCH to `app_id` (the journal's, checked against its plan: never the `id` an
    answer carries), from the fresh read; someone else's writes found after it go to `conflicts`.
    Returns True, recording nothing, when Azure answers 409 ContainerAppOperationInProgress and
    `may_wait`: the caller waits and reads again."""
    if not steps or not app_id or fresh.live.app_raw is None:
        return False
    env = next((s.data for s in steps if s.kind == "env"), None)
    link = next((s for s in steps if s.kind == "link"), None)
    unlink, drop = (link.data["identity"], link.data.get("drop") or []) if link else (None, [])
    raw = fresh.live.app_raw
    body = revert_body(raw, env, unlink, drop)
    if report:
        report(SENDING)
    try:
        after = await gateway.update_container_app(app_id, body)
    except GatewayError as err:
        if may_wait and err.status == 409 and err.code == "ContainerAppOperationInProgress":
            return True
        for step in steps:
            results[step.key] = StepOutcome("failed", err.plain())
        return False
    for step in steps:
        results[step.key] = StepOutcome("done")
    conflicts += await foreign_writes(gateway, app_id, raw, body, after)
    return False


async def _do(gateway: Gateway, step: RollbackStep, results: dict[str, StepOutcome]) -> None:
    try:
        if step.kind == "role":
            await gateway.delete_role_assignment(step.target)
        elif step.kind == "identity":
            await gateway.delete_identity(step.target)
        elif step.kind == "tags":
            await gateway.create_identity(
                subscription_of(step.target),
                resource_group_of(step.target),
                resource_name(step.target),
                step.data["location"],
                step.data["tags"],
            )
    except GatewayError as err:
        if err.status != 404:  # gone already is what a delete wants
            results[step.key] = StepOutcome("failed", err.plain())
            return
    results[step.key] = StepOutcome("done")
