"""Apply a plan: identity -> role assignments (concurrently) -> one container app PATCH, each
write journaled with what it replaces; then verify. (Undoing a run is wizard/rollback.py.)

The PATCH is built from a GET taken right before it and carries only `identity` and
`template.containers`: every container, variable, secretRef, probe and mount goes back as
Azure holds it, and only the target variable of the target container differs.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .azure.errors import GatewayError
from .azure.gateway import Gateway, assignment_name
from .azure.retries import notify_retry, retry_listener
from .journal import Journal, open_run
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
    status: str  # "running" | "done" | "unchanged" | "failed" | "polling" | "retrying" (message: why, and when)
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
        attempts: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self.gateway = gateway
        self.journal_dir = journal_dir
        self.report = report or (lambda _p: None)
        # Our own bound on top of the SDK's retries: a write whose connection dropped is safe to
        # send again, because every write here is idempotent (PUT by name, PATCH of a merge).
        self.attempts = attempts
        self.backoff_s = backoff_s

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
        journal = self._journal(plan, step_plan)
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

    def _journal(self, plan: Plan, step_plan: StepPlan) -> Journal:
        """The run's journal: an unfinished run of this same plan is continued (a run is all its
        attempts, so rollback undoes them all), else a new run starts. Each attempt notes the
        identity's role assignments it found, so rollback can tell those made since by others."""
        steps = [[s.id, s.action, s.summary] for s in step_plan.steps]
        found = [a.id for a in step_plan.live.assignments]
        previous = open_run(self.journal_dir, plan.to_toml())
        if previous is not None:
            journal = Journal(previous)
            journal.write("attempt", steps=steps, assignments=found)
            return journal
        journal = Journal.new(plan.identity.name, self.journal_dir)
        journal.write("start", run=uuid.uuid4().hex, plan=plan.to_toml(), steps=steps, assignments=found)
        return journal

    def _prefetch_app(self, plan: Plan, sp: StepPlan) -> asyncio.Task[dict[str, Any] | None] | None:
        if plan.container_app is None or not any(s.writes for s in sp.steps if s.kind in ("identity_link", "env_var")):
            return None
        return asyncio.create_task(self.gateway.container_app_raw(plan.container_app.id))

    # -- steps ----------------------------------------------------------------------------------
    async def _timed(self, step: Step, results: dict[str, StepResult], work: Callable[[], Awaitable[T]]) -> T:
        self.report(Progress(step.id, "running", step.summary))
        started = time.perf_counter()

        def retrying(why: str, delay_s: float) -> None:
            self.report(Progress(step.id, "retrying", f"{why}; trying again in {delay_s:.0f} s"))

        listening = retry_listener.set(retrying)
        try:
            value = await self._retrying(work)
        except GatewayError as err:
            seconds = time.perf_counter() - started
            results[step.id] = StepResult(step.id, "failed", seconds, err.plain())
            self.report(Progress(step.id, "failed", err.plain(), seconds))
            raise
        finally:
            retry_listener.reset(listening)
        seconds = time.perf_counter() - started
        results[step.id] = StepResult(step.id, "done", seconds)
        self.report(Progress(step.id, "done", step.summary, seconds))
        return value

    async def _retrying(self, work: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.attempts):
            try:
                return await work()
            except GatewayError as err:
                if not err.transient or attempt == self.attempts - 1:
                    raise
                notify_retry(f"{err.code or 'no answer'} from Azure", self.backoff_s * (2**attempt))
                await asyncio.sleep(self.backoff_s * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

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
        journal.write(
            "begin",
            step=step.id,
            action="update",
            target=target,
            old_tags=step.data["old_tags"],
            tags=step.data["tags"],
        )

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
            journal.write(
                "begin",
                step=step.id,
                action="create",
                target=target,
                role=role.guid,
                role_name=role.name,
                scope=scope,
                principal_id=identity.principal_id,
            )

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
            # A retry reads again rather than reuse the prefetched copy.
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
                before["previous"] = public_var(var)
                if var.get("value") == identity.client_id and not var.get("secretRef"):
                    break
                var.pop("secretRef", None)
                var["value"] = identity.client_id
                body.setdefault("properties", {})["template"] = {"containers": containers}
                break
        else:
            env.append({"name": env_var, "value": identity.client_id})
            body.setdefault("properties", {})["template"] = {"containers": containers}
    if "properties" in body:
        suffix = fresh_revision_suffix(template)
        if suffix:
            body["properties"]["template"]["revisionSuffix"] = suffix
    return body, before


def fresh_revision_suffix(template: dict[str, Any]) -> str | None:
    """A new `revisionSuffix` for a template change, when the app pins one; None when it does not.

    A revision is named `<app>--<suffix>`: a fixed suffix would name the new revision like the
    current one, which Azure refuses (ContainerAppRevisionAlreadyExists), so it gets a random one.
    """
    if not template.get("revisionSuffix"):
        return None
    return f"ri-{secrets.token_hex(3)}"


def public_var(var: dict[str, Any]) -> dict[str, Any]:
    """A variable as the journal may keep it: a secretRef by name, never a secret's value."""
    if var.get("secretRef"):
        return {"name": var["name"], "secretRef": var["secretRef"]}
    return {"name": var["name"], "value": var.get("value")}
