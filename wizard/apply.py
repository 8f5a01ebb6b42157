"""Apply a plan: identity -> role assignments (concurrently) -> one container app PATCH, each
write journaled with what it replaces; then verify. And roll back exactly what a run did.

The PATCH is built from a GET taken right before it and carries only `identity` and
`template.containers`: every container, variable, secretRef, probe and mount goes back as
Azure holds it, and only the target variable of the target container differs.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .azure.errors import GatewayError
from .azure.gateway import Gateway, assignment_name
from .journal import Journal, read_events
from .model import ContainerApp, Identity
from .plan import Plan
from .steps import Step, StepPlan, build_steps, read_live, union_type
from .verify import Check, verify_plan

T = TypeVar("T")


@dataclass
class StepResult:
    step_id: str
    status: str  # "done" | "unchanged" | "failed" | "not run"
    seconds: float = 0.0
    message: str = ""


@dataclass
class Progress:
    """What apply tells its caller as it goes (the TUI shows it live, the CLI prints it)."""

    step_id: str
    status: str  # "running" | "done" | "unchanged" | "failed" | "polling"
    message: str = ""
    seconds: float = 0.0


@dataclass
class ApplyOutcome:
    status: str  # "applied" | "nothing to do" | "failed" | "blocked"
    step_plan: StepPlan
    journal: Path | None
    results: dict[str, StepResult] = field(default_factory=dict)
    identity: Identity | None = None
    app: ContainerApp | None = None
    error: GatewayError | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "nothing to do") and not any(c.status == "problem" for c in self.checks)


Report = Callable[[Progress], None]


class Applier:
    def __init__(
        self,
        gateway: Gateway,
        *,
        journal_dir: Path | None = None,
        report: Report | None = None,
    ) -> None:
        # Transient faults are retried once, by the SDK's retry policy (wizard.azure.connection):
        # nothing here retries on top of it.
        self.gateway = gateway
        self.journal_dir = journal_dir
        self.report = report or (lambda _p: None)
        self.journal_path: Path | None = None  # the current run's journal, once it has one

    async def preview(self, plan: Plan) -> StepPlan:
        return build_steps(plan, await read_live(self.gateway, plan))

    async def apply(self, plan: Plan, step_plan: StepPlan | None = None, verify: bool = True) -> ApplyOutcome:
        step_plan = step_plan or await self.preview(plan)
        if step_plan.problems:
            return ApplyOutcome("blocked", step_plan, None)
        results = {s.id: StepResult(s.id, "unchanged") for s in step_plan.steps if not s.writes}
        for step_id in results:
            self.report(Progress(step_id, "unchanged"))
        if not step_plan.writes:
            outcome = ApplyOutcome(
                "nothing to do", step_plan, None, results, step_plan.live.identity, step_plan.live.app
            )
            if verify:
                outcome.checks = await verify_plan(self.gateway, plan)
            return outcome
        journal = Journal.new(plan.identity.name, self.journal_dir)
        self.journal_path = journal.path
        journal.write("start", plan=plan.to_toml(), steps=[[s.id, s.action, s.summary] for s in step_plan.steps])
        outcome = ApplyOutcome("applied", step_plan, journal.path, results)
        try:
            identity = await self._identity(plan, step_plan, journal, results)
            outcome.identity = identity
            # The app's read overlaps the role assignments, which take a round trip of their own:
            # it still lands right before the PATCH, and the PATCH does not wait for it.
            prefetch = self._prefetch_app(plan, step_plan)
            try:
                await self._roles(plan, step_plan, identity, journal, results)
            except BaseException:
                if prefetch is not None:
                    prefetch.cancel()
                raise
            outcome.app = await self._app(plan, step_plan, identity, journal, results, prefetch)
        except GatewayError as err:
            outcome.status, outcome.error = "failed", err
            for step in step_plan.steps:
                results.setdefault(step.id, StepResult(step.id, "not run"))
            journal.write("failed", code=err.code, message=err.message, status=err.status)
            return outcome
        journal.write("finished")
        if verify:
            outcome.checks = await verify_plan(self.gateway, plan, principal_hint=identity.principal_id)
        return outcome

    def _prefetch_app(self, plan: Plan, sp: StepPlan) -> asyncio.Task[dict[str, Any] | None] | None:
        if plan.container_app is None or not any(s.writes for s in sp.steps if s.kind in ("identity_link", "env_var")):
            return None
        return asyncio.create_task(self.gateway.container_app_raw(plan.container_app.id))

    # -- steps ----------------------------------------------------------------------------------
    async def _timed(self, step: Step, results: dict[str, StepResult], work: Callable[[], Awaitable[T]]) -> T:
        self.report(Progress(step.id, "running", step.summary))
        started = time.perf_counter()
        try:
            value = await work()
        except GatewayError as err:
            seconds = time.perf_counter() - started
            results[step.id] = StepResult(step.id, "failed", seconds, err.plain())
            self.report(Progress(step.id, "failed", err.plain(), seconds))
            raise
        seconds = time.perf_counter() - started
        results[step.id] = StepResult(step.id, "done", seconds)
        self.report(Progress(step.id, "done", step.summary, seconds))
        return value

    async def _identity(self, plan: Plan, sp: StepPlan, journal: Journal, results: dict[str, StepResult]) -> Identity:
        step = sp.step("identity")
        assert step is not None
        spec = plan.identity
        if not step.writes:
            assert sp.live.identity is not None
            return sp.live.identity
        target = plan.identity_id
        if step.action == "create":
            journal.write("begin", step=step.id, action="create", target=target)

            async def create() -> Identity:
                return await self.gateway.create_identity(
                    plan.subscription, spec.resource_group, spec.name, step.data["location"], step.data["tags"]
                )

            identity = await self._timed(step, results, create)
            journal.write(
                "done",
                step=step.id,
                action="create",
                target=identity.id,
                client_id=identity.client_id,
                principal_id=identity.principal_id,
            )
            return identity
        current = sp.live.identity
        assert current is not None
        journal.write("begin", step=step.id, action="update", target=target, old_tags=step.data["old_tags"])

        async def tag() -> Identity:
            return await self.gateway.create_identity(
                plan.subscription, spec.resource_group, spec.name, current.location, step.data["tags"]
            )

        identity = await self._timed(step, results, tag)
        journal.write("done", step=step.id, action="update", target=identity.id, old_tags=step.data["old_tags"])
        return identity

    async def _roles(
        self, plan: Plan, sp: StepPlan, identity: Identity, journal: Journal, results: dict[str, StepResult]
    ) -> None:
        pending = [s for s in sp.steps if s.kind == "role_assignment" and s.writes]

        async def one(step: Step) -> None:
            scope, role = step.data["scope"], step.data["role"]
            name = assignment_name(scope, identity.principal_id, role.guid)
            target = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
            journal.write("begin", step=step.id, action="create", target=target, role=role.guid, scope=scope)

            async def assign() -> Any:
                return await self.gateway.create_role_assignment(scope, role, identity.principal_id, name)

            made = await self._timed(step, results, assign)
            # An equal assignment under another name was already there: it is not ours to roll back.
            ours = made.name.lower() == name.lower()
            journal.write(
                "done",
                step=step.id,
                action="create" if ours else "existing",
                target=made.id,
                role=role.guid,
                scope=scope,
            )

        outcomes = await asyncio.gather(*(one(s) for s in pending), return_exceptions=True)
        for failure in outcomes:
            if isinstance(failure, BaseException):
                raise failure

    async def _app(
        self,
        plan: Plan,
        sp: StepPlan,
        identity: Identity,
        journal: Journal,
        results: dict[str, StepResult],
        prefetch: asyncio.Task[dict[str, Any] | None] | None = None,
    ) -> ContainerApp | None:
        target = plan.container_app
        link, env = sp.step("link"), sp.step("env")
        if target is None or link is None or env is None:
            return sp.live.app
        if not link.writes and not env.writes:
            return sp.live.app
        combined = Step("app", "container_app", "update", f"update {target.id.rsplit('/', 1)[-1]}")
        container = env.data["container"]
        pre: dict[str, Any] = {}

        async def patch() -> ContainerApp:
            # A fresh read right before the write: anything changed since the plan was made is kept.
            nonlocal prefetch
            if prefetch is not None:
                raw, prefetch = await prefetch, None
            else:
                raw = await self.gateway.container_app_raw(target.id)
            if raw is None:
                raise GatewayError(f"update {target.id}", "ResourceNotFound", "the container app no longer exists", 404)
            body, before = app_patch(raw, identity, container, target.env_var)
            if not pre:
                pre.update(before)
                journal.write(
                    "begin",
                    step="app",
                    action="update",
                    target=target.id,
                    pre_image=before,
                    identity=identity.id,
                    value=identity.client_id,
                    steps=[s.id for s in (link, env) if s.writes],
                )
            if not body:
                # An earlier attempt's PATCH landed but its poller was lost: wait for the app instead.
                return await self.gateway.settled_app(target.id)
            return await self.gateway.patch_container_app(target.id, body, on_status=operation_status)

        def operation_status(status: str) -> None:
            # The long-running operation's status as Azure reports it, for a caller that shows the wait.
            for step in (link, env):
                if step.writes:
                    self.report(Progress(step.id, "polling", f"Azure: {status}"))

        for step in (link, env):
            if step.writes:
                self.report(Progress(step.id, "running", step.summary))
        try:
            app = await self._timed(combined, results, patch)
        except GatewayError as err:
            for step in (link, env):
                if step.writes:
                    results[step.id] = StepResult(step.id, "failed", 0.0, err.plain())
                    self.report(Progress(step.id, "failed", err.plain()))
            raise
        for step in (link, env):
            if step.writes:
                results[step.id] = StepResult(step.id, "done", results["app"].seconds)
                self.report(Progress(step.id, "done", step.summary, results["app"].seconds))
        journal.write(
            "done",
            step="app",
            action="update",
            target=target.id,
            revision=app.latest_revision,
            identity=identity.id,
            container=container,
            env_var=target.env_var,
            value=identity.client_id,
        )
        return app


def app_patch(
    raw: dict[str, Any], identity: Identity, container: str, env_var: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The merge-patch body that links `identity` and sets `env_var`, and the pre-image it changes."""
    props = raw.get("properties") or {}
    template = props.get("template") or {}
    containers = copy.deepcopy(template.get("containers") or [])
    current_identity = raw.get("identity") or {}
    current_type = str(current_identity.get("type") or "None")
    user_ids = list((current_identity.get("userAssignedIdentities") or {}).keys())
    before: dict[str, Any] = {
        "identity_type": current_type,
        "user_identities": user_ids,
        "container": container,
        "env_var": env_var,
        "previous": None,
        "revision": props.get("latestRevisionName"),
    }
    body: dict[str, Any] = {}
    if not any(u.lower() == identity.id.lower() for u in user_ids):
        # Send the whole set, existing identities included: the union keeps them whether ARM
        # merges this map or replaces it, and the type keeps a system-assigned identity alive.
        body["identity"] = {
            "type": union_type(current_type),
            "userAssignedIdentities": {**{u: {} for u in user_ids}, identity.id: {}},
        }
    for entry in containers:
        if entry.get("name") != container:
            continue
        env = entry.setdefault("env", [])
        for var in env:
            if var.get("name") == env_var:
                before["previous"] = _public(var)
                if var.get("value") == identity.client_id and not var.get("secretRef"):
                    break
                var.pop("secretRef", None)
                var["value"] = identity.client_id
                body.setdefault("properties", {})["template"] = {"containers": containers}
                break
        else:
            env.append({"name": env_var, "value": identity.client_id})
            body.setdefault("properties", {})["template"] = {"containers": containers}
    if "properties" in body and template.get("revisionSuffix"):
        # A fixed suffix would name the new revision like the current one, which Azure refuses.
        body["properties"]["template"]["revisionSuffix"] = f"ri-{secrets.token_hex(3)}"
    return body, before


def _public(var: dict[str, Any]) -> dict[str, Any]:
    """A variable as the journal may keep it: a secretRef by name, never a secret's value."""
    if var.get("secretRef"):
        return {"name": var["name"], "secretRef": var["secretRef"]}
    return {"name": var["name"], "value": var.get("value")}


# -- rollback -------------------------------------------------------------------------------------
@dataclass
class RollbackOutcome:
    undone: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed by someone else since: left alone, with why
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


async def rollback(gateway: Gateway, journal_path: Path) -> RollbackOutcome:
    """Undo what the journal's run created or changed, newest first, and nothing else."""
    events = read_events(journal_path)
    journal = Journal(journal_path)
    outcome = RollbackOutcome()
    begun = {(e.get("step"), e.get("target")): e for e in events if e["event"] == "begin"}
    # A done event carries what the write produced; its begin event carries the pre-image.
    done = [{**begun.get((e.get("step"), e.get("target")), {}), **e} for e in events if e["event"] == "done"]
    # A write that began but never reported done may have landed: undo it if it is there.
    finished = {(e.get("step"), e.get("target")) for e in done}
    maybe = [e for key, e in begun.items() if key not in finished]
    journal.write("rollback-start")
    for event in reversed(done + maybe):
        what = f"{event.get('step')} {event.get('target')}"
        try:
            note = await _undo(gateway, event)
        except GatewayError as err:
            outcome.failed.append(f"{what}: {err.plain()}")
            journal.write("rollback-failed", step=event.get("step"), target=event.get("target"), code=err.code)
            continue
        if note:
            outcome.kept.append(f"{what}: {note}")
        else:
            outcome.undone.append(what)
        journal.write(
            "rollback-done" if not note else "rollback-kept",
            step=event.get("step"),
            target=event.get("target"),
            note=note,
        )
    journal.write("rollback-finished", ok=outcome.ok)
    return outcome


async def _undo(gateway: Gateway, event: dict[str, Any]) -> str:
    step, action, target = str(event.get("step")), event.get("action"), str(event.get("target"))
    if step == "identity" and action == "create":
        await gateway.delete_identity(target)
        return ""
    if step == "identity" and action == "update":
        parts = target.split("/")
        identity = await gateway.identity(parts[2], parts[4], parts[-1])
        if identity is not None:
            await gateway.create_identity(parts[2], parts[4], parts[-1], identity.location, event["old_tags"])
        return ""
    if step.startswith("role:"):
        if action == "create":
            await gateway.delete_role_assignment(target)
            return ""
        return "an equal assignment existed before this run"
    if step == "app":
        return await _undo_app(gateway, event)
    return ""


async def _undo_app(gateway: Gateway, event: dict[str, Any]) -> str:
    raw = await gateway.container_app_raw(event["target"])
    if raw is None:
        return "the container app no longer exists"
    begin = event.get("pre_image") or {}
    if not begin:
        return "no pre-image was journaled"
    identity_id = str(event.get("identity", ""))
    container, env_var = begin["container"], begin["env_var"]
    previous = begin.get("previous")
    body: dict[str, Any] = {}
    notes = []
    current_identity = raw.get("identity") or {}
    linked = {k.lower(): k for k in (current_identity.get("userAssignedIdentities") or {})}
    was_linked = any(u.lower() == identity_id.lower() for u in begin["user_identities"])
    ours = identity_id.lower()
    if identity_id and not was_linked and ours in linked:
        system = "systemassigned" in str(current_identity.get("type", "")).replace(" ", "").lower().split(",")
        if len(linked) > 1:
            # null removes just our entry from the map (JSON merge patch); the others stay linked.
            body["identity"] = {
                "type": union_type("SystemAssigned" if system else "None"),
                "userAssignedIdentities": {linked[ours]: None},
            }
        else:
            body["identity"] = {"type": "SystemAssigned" if system else "None"}
    containers = copy.deepcopy(((raw.get("properties") or {}).get("template") or {}).get("containers") or [])
    for entry in containers:
        if entry.get("name") != container:
            continue
        env = entry.get("env") or []
        index = next((i for i, var in enumerate(env) if var.get("name") == env_var), None)
        current = env[index] if index is not None else None
        if current == previous or (current is not None and previous is not None and _public(current) == previous):
            break  # our write never landed, or was already undone
        if current is None or current.get("secretRef") or current.get("value") != event.get("value"):
            notes.append(f"{env_var} was changed after this run; left as it is")
            break
        if previous is None:
            del env[index]  # type: ignore[arg-type]
        else:
            env[index] = dict(previous)  # type: ignore[index]
        body.setdefault("properties", {})["template"] = {"containers": containers}
    if body:
        await gateway.patch_container_app(event["target"], body)
    return "; ".join(notes)
