"""Apply a plan: provider registrations the admin confirmed -> identity -> role assignments
(concurrently) -> one container app PATCH, each write journaled with what it replaces; then verify.
(Undoing a run is wizard/rollback/.)

The PATCH is built from a GET taken right before it (after any update already running on the app
has ended) and carries only `identity` and `template.containers`: every container, variable,
secretRef, probe and mount goes back as Azure holds it, and only the target variable of the target
container differs. After the operation the app is compared with that read plus this change, so a
write someone else made in between is reported (Container Apps have no ETag to prevent it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .app_write import AppChanged, app_patch, foreign_changes, identity_block, overwritten_revisions
from .azure.errors import GatewayError
from .azure.gateway import IN_PROGRESS, Gateway, app_from_json, assignment_name
from .azure.retries import retry_listener
from .journal import Journal, open_run
from .model import ContainerApp, Identity, LinkedIdentity
from .plan import Plan
from .steps import SETTLE_TIMEOUT_S, Step, StepPlan, build_steps, merged_tags, read_live
from .text import for_terminal
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
    # "running" | "done" | "unchanged" | "failed" | "polling" (Azure's operation status) |
    # "waiting" (for someone else's update of the app, or a provider's registration: message says why) |
    # "retrying" (a transient answer: message says why, and when the next try goes)
    status: str
    message: str = ""
    seconds: float = 0.0
    label: str = ""  # what the step does, in words (its summary): show this, not step_id


SENDING = "sending the update"  # the message of the report right before the app's PATCH goes out


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
    # Writes someone else made to the app between apply's read and its operation's end (see app_write).
    conflicts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.status in ("applied", "nothing to do")
            and not self.conflicts
            and not any(c.status == "problem" for c in self.checks)
        )

    def labels(self, *statuses: str) -> list[str]:
        """The summaries of the steps whose result has one of `statuses` ("done", "failed", "not run"), in
        plan order: what to tell an admin instead of internal step ids."""
        return [
            s.summary for s in self.step_plan.steps if s.id in self.results and self.results[s.id].status in statuses
        ]


Report = Callable[[Progress], None]


class Applier:
    def __init__(
        self,
        gateway: Gateway,
        *,
        journal_dir: Path | None = None,
        report: Report | None = None,
        settle_timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        # Transient faults are retried once, by the SDK's retry policy (wizard.azure.connection):
        # nothing here retries on top of it.
        self.gateway = gateway
        self.journal_dir = journal_dir
        self._listener: Report = report or (lambda _p: None)
        self._labels: dict[str, str] = {}  # step id -> its summary, for reports that carry no label
        self.journal_path: Path | None = None  # the current run's journal, once it has one
        # Seconds apply waits for someone else's update of the app (or a provider's registration) to end.
        self.settle_timeout_s = settle_timeout_s

    async def preview(self, plan: Plan) -> StepPlan:
        return build_steps(plan, await read_live(self.gateway, plan))

    def report(self, progress: Progress) -> None:
        """Tell the caller, with the step's summary as its label (a caller shows that, never the id).
        Label and message may carry Azure's text (a role's name, an operation's status): both go out
        with their control characters escaped (`text.for_terminal`), so every caller may print them."""
        label = progress.label or self._labels.get(progress.step_id, progress.step_id)
        lines = progress.message.split("\n")
        message = "\n".join(for_terminal(line) for line in lines)
        self._listener(dataclasses.replace(progress, label=for_terminal(label), message=message))

    async def apply(self, plan: Plan, step_plan: StepPlan | None = None, verify: bool = True) -> ApplyOutcome:
        step_plan = step_plan or await self.preview(plan)
        self._labels = {s.id: s.summary for s in step_plan.steps}
        if plan.container_app is not None:
            self._labels["app"] = f"update {plan.container_app.id.rsplit('/', 1)[-1]}"
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
        self.journal_path = journal.path
        outcome = ApplyOutcome("applied", step_plan, journal.path, results)
        written: dict[str, Any] = {}  # the app's PATCH: what was read, sent and found after
        try:
            await self._providers(step_plan, journal, results)
            identity = await self._identity(plan, step_plan, journal, results)
            outcome.identity = identity
            await self._roles(plan, step_plan, identity, journal, results)
            # The app is read only now, right before its PATCH: the shortest window for another write.
            outcome.app = await self._app(plan, step_plan, identity, journal, results, written)
        except GatewayError as err:
            outcome.status, outcome.error = "failed", err
            for step in step_plan.steps:
                results.setdefault(step.id, StepResult(step.id, "not run"))
            journal.write("failed", code=err.code, message=err.message, status=err.status)
            return outcome
        journal.write("finished")

        async def checks() -> list[Check]:
            return await verify_plan(self.gateway, plan, principal_hint=identity.principal_id) if verify else []

        async def conflicts() -> list[str]:
            return await foreign_writes(self.gateway, **written) if written else []

        outcome.checks, outcome.conflicts = await asyncio.gather(checks(), conflicts())
        if outcome.conflicts and outcome.app is not None:
            journal.write("conflict", target=outcome.app.id, changes=outcome.conflicts)
            outcome.checks.insert(
                0,
                Check(
                    "problem",
                    f"no one else changed {outcome.app.name} while apply wrote it",
                    "; ".join(outcome.conflicts)
                    + ". Container Apps have no ETag, so such a write cannot be held off; apply changed nothing "
                    "more: review these in the portal (the app's Activity log)",
                ),
            )
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

    # -- steps ----------------------------------------------------------------------------------
    async def _timed(self, step: Step, results: dict[str, StepResult], work: Callable[[], Awaitable[T]]) -> T:
        self.report(Progress(step.id, "running", step.summary))
        started = time.perf_counter()

        def retrying(why: str, delay_s: float) -> None:
            self.report(Progress(step.id, "retrying", f"{why}; trying again in {delay_s:.0f} s", label=step.summary))

        listening = retry_listener.set(retrying)
        try:
            value = await work()
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

    def _waiting(self, steps: list[Step], why: str, waited: float) -> None:
        """Say that apply is waiting, why, and for how long so far (seconds), for each of `steps`."""
        text = f"waiting: {why} ({waited:.0f} s so far, at most {self.settle_timeout_s:.0f} s)"
        for step in steps:
            self.report(Progress(step.id, "waiting", text, waited, step.summary))

    async def _providers(self, sp: StepPlan, journal: Journal, results: dict[str, StepResult]) -> None:
        """Register the resource providers the admin confirmed, and wait (bounded) until Azure says Registered."""
        for step in (s for s in sp.steps if s.kind == "provider_registration" and s.writes):
            namespace, subscription = step.data["namespace"], step.data["subscription"]
            target = f"/subscriptions/{subscription}/providers/{namespace}"
            journal.write("begin", step=step.id, action="register", target=target)

            async def register(step: Step = step, namespace: str = namespace, subscription: str = subscription) -> str:
                state = await self.gateway.register_provider(subscription, namespace)
                started = time.monotonic()
                while state.lower() != "registered":
                    waited = time.monotonic() - started
                    if waited > self.settle_timeout_s:
                        raise GatewayError(
                            f"register the resource provider {namespace}",
                            "MissingSubscriptionRegistration",
                            f"Azure still says {state} after {waited:.0f} s; nothing else was written. Apply again "
                            f"once `az provider show --namespace {namespace}` says Registered",
                            None,
                        )
                    self._waiting([step], f"Azure is registering {namespace} ({state})", waited)
                    await asyncio.sleep(self.gateway.connection.poll_interval)
                    state = await self.gateway.provider_state(subscription, namespace)
                return state

            await self._timed(step, results, register)
            # Registration is subscription-wide and other deployments may rely on it: rollback keeps it.
            journal.write("done", step=step.id, action="register", target=target)

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
        written: dict[str, dict[str, str]] = {}  # the tags before and after, as the first attempt read them

        async def tag() -> Identity:
            # Read again right before the write: a tag someone added since the preview is kept. The write
            # replaces the whole set (a PUT); ARM's Tags API could merge instead, but a merge keeps a
            # tag's first-written name, so it cannot rename `owner` to `Owner`.
            current = await self.gateway.identity(plan.subscription, spec.resource_group, spec.name)
            if current is None:
                raise AppChanged(
                    f"tag identity {spec.name}",
                    "it no longer exists; nothing was written. Run apply again to see the diff as Azure is now",
                )
            tags = merged_tags(current.tags, spec.tags)
            if not written:  # a retry may read this run's own write: the first read is the pre-image
                written.update(old=dict(current.tags), new=tags)
                journal.write("begin", step=step.id, action="update", target=target, old_tags=written["old"], tags=tags)
            return await self.gateway.create_identity(
                plan.subscription, spec.resource_group, spec.name, current.location, tags
            )

        identity = await self._timed(step, results, tag)
        journal.write(
            "done", step=step.id, action="update", target=identity.id, old_tags=written["old"], tags=written["new"]
        )
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
        written: dict[str, Any],
    ) -> ContainerApp | None:
        """Link the identity and set the variable in one PATCH of the app as it is right before it;
        `written` receives what was read, sent and found after (for `_conflicts`)."""
        target = plan.container_app
        link, env = sp.step("link"), sp.step("env")
        if target is None or link is None or env is None:
            return sp.live.app
        if not link.writes and not env.writes:
            return sp.live.app
        writing = [s for s in (link, env) if s.writes]
        name = target.id.rsplit("/", 1)[-1]
        what = f"update container app {name}"
        combined = Step("app", "container_app", "update", f"update {name}")
        container = env.data["container"]
        drop = list(link.data.get("drop") or []) if link.writes else []

        async def settled(deadline: float, started: float) -> dict[str, Any]:
            """The app read once no update is running on it (bounded by `deadline`)."""
            while True:
                raw = await self.gateway.container_app_raw(target.id)
                if raw is None:
                    raise AppChanged(what, "the container app no longer exists; nothing was written to it")
                state = str((raw.get("properties") or {}).get("provisioningState") or "")
                if state.lower() not in IN_PROGRESS:
                    return raw
                waited = time.monotonic() - started
                if time.monotonic() > deadline:
                    raise GatewayError(
                        what,
                        "ContainerAppOperationInProgress",
                        f"{name} was still {state} after {waited:.0f} s: another update is running on it. Nothing "
                        "was written to the app; apply again once that update has ended",
                        None,  # no answer of Azure's: apply's own bound
                    )
                self._waiting(writing, f"{name} is {state}: another update is running on it", waited)
                await asyncio.sleep(self.gateway.connection.poll_interval)

        def check_variable(raw: dict[str, Any]) -> None:
            """Stop if the variable is no longer what the confirmed diff showed (someone set it since)."""
            if not env.writes:
                return
            found = ((raw.get("properties") or {}).get("template") or {}).get("containers") or []
            entry = next((c for c in found if c.get("name") == container), None)
            now = [v for v in ((entry or {}).get("env") or []) if v.get("name") == target.env_var]
            current = _shape(now[-1]) if now else None
            shown = _shape(env.data.get("previous"))
            if current in (shown, (identity.client_id, None)) or entry is None:
                return  # as the diff showed, or already our value (a resume); a missing container: app_patch says
            raise AppChanged(
                what,
                f"{target.env_var} on container {container} changed since the diff you confirmed; nothing was written "
                "to the app. Run apply again to see the diff against the app as it is now",
            )

        async def patch() -> ContainerApp:
            started = time.monotonic()
            deadline = started + self.settle_timeout_s
            while True:
                try:
                    return await attempt(deadline, started)
                except GatewayError as err:
                    if err.code != "ContainerAppOperationInProgress" or err.status != 409:
                        raise
                    if time.monotonic() > deadline:
                        raise GatewayError(
                            what,
                            err.code,
                            f"another update of {name} was still running after {time.monotonic() - started:.0f} s "
                            "(Azure answered 409: an operation is in progress). Nothing was written to the app; "
                            "apply again once that update has ended",
                            409,
                        ) from err
                    # Someone else's update began between the read and the PATCH: wait for it, read again.
                    self._waiting(
                        writing,
                        f"Azure refused the write: another update of {name} is running",
                        time.monotonic() - started,
                    )
                    await asyncio.sleep(self.gateway.connection.poll_interval)

        async def attempt(deadline: float, started: float) -> ContainerApp:
            raw = await settled(deadline, started)
            entry = _linked_entry(raw, identity.id)
            if link.writes and entry is not None and not _holds(entry, identity):
                raw = await relink(raw, deadline, started)
            check_variable(raw)
            body, before = app_patch(
                raw, identity, container, target.env_var, link=link.writes, set_env=env.writes, drop=drop
            )
            # Journaled before every attempt: rollback undoes from the newest pre-image.
            journal.write(
                "begin",
                step="app",
                action="update",
                target=target.id,
                pre_image=before,
                identity=identity.id,
                value=identity.client_id,
                steps=[s.id for s in writing],
                # linked identities that no longer exist, which this write removes (rollback cannot put them back)
                dropped=_dropped(body, before, drop),
            )
            if not body:
                # An earlier attempt's PATCH landed but its poller was lost: wait for the app instead.
                return await self.gateway.settled_app(target.id)
            for step in writing:
                self.report(Progress(step.id, "running", SENDING, 0.0, step.summary))
            after = await self.gateway.update_container_app(target.id, body, on_status=operation_status)
            written.update(app_id=target.id, pre=raw, body=body, after=after)
            return app_from_json(after)

        async def relink(raw: dict[str, Any], deadline: float, started: float) -> dict[str, Any]:
            """Unlink the stale entry (an identity deleted and re-created under this name) so the link
            that follows holds the identity's current principal. Journaled as its own write."""
            body = {"identity": identity_block(raw.get("identity") or {}, None, [identity.id, *drop])}
            journal.write("begin", step="unlink", action="unlink", target=target.id, identity=identity.id)
            for step in writing:
                self.report(
                    Progress(step.id, "running", f"removing the stale entry of {identity.name}", 0.0, step.summary)
                )
            await self.gateway.update_container_app(target.id, body, on_status=operation_status)
            journal.write("done", step="unlink", action="unlink", target=target.id, identity=identity.id)
            return await settled(deadline, started)

        def operation_status(status: str) -> None:
            # The long-running operation's status as Azure reports it, for a caller that shows the wait.
            for step in writing:
                self.report(Progress(step.id, "polling", f"Azure: {status}", 0.0, step.summary))

        for step in writing:
            self.report(Progress(step.id, "running", step.summary, 0.0, step.summary))
        try:
            app = await self._timed(combined, results, patch)
        except GatewayError as err:
            for step in writing:
                results[step.id] = StepResult(step.id, "failed", 0.0, err.plain())
                self.report(Progress(step.id, "failed", err.plain(), 0.0, step.summary))
            raise
        for step in writing:
            results[step.id] = StepResult(step.id, "done", results["app"].seconds)
            self.report(Progress(step.id, "done", step.summary, results["app"].seconds, step.summary))
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


async def foreign_writes(
    gateway: Gateway, app_id: str, pre: dict[str, Any], body: dict[str, Any], after: dict[str, Any]
) -> list[str]:
    """Someone else's writes to the app between a read of it (`pre`) and the end of the operation of a
    PATCH (`body`) built from that read (`after`: the operation's result): what changed that the PATCH
    did not change, and any revision made in between whose containers the PATCH replaced. Apply and
    rollback both write the app this way. Returns plain sentences, none when no one else wrote."""
    found = foreign_changes(pre, body, after)
    if "properties" not in body:
        return found  # the containers were not sent: a revision made in between still stands, and shows above
    ours = (after.get("properties") or {}).get("latestRevisionName")
    try:
        revisions = await gateway.revisions(app_id)
    except GatewayError:
        revisions = []  # the check above still stands; this one needs the revision list
    for name, parts in overwritten_revisions(pre, ours, revisions):
        what = f" ({', '.join(parts)})" if parts else ""
        found.append(
            f"revision {name} was made by someone else between the read of the app and the write, and the "
            f"write replaced its containers{what}: compare {name} with {ours or 'the latest revision'} and "
            "redo that change if it is still wanted"
        )
    return found


def _dropped(body: dict[str, Any], before: dict[str, Any], drop: list[str]) -> list[str]:
    """The ids in `drop` the app held when read (`before`, app_patch's pre-image) and this body unlinks."""
    if "identity" not in body:
        return []
    held = {u.lower() for u in before["user_identities"]}
    return [d for d in drop if d.lower() in held]


def _linked_entry(raw: dict[str, Any], identity_id: str) -> dict[str, Any] | None:
    for rid, entry in ((raw.get("identity") or {}).get("userAssignedIdentities") or {}).items():
        if rid.lower() == identity_id.lower():
            return dict(entry or {})
    return None


def _holds(entry: dict[str, Any], identity: Identity) -> bool:
    """Whether an app's entry for the identity holds its current principal (see LinkedIdentity.holds)."""
    return LinkedIdentity("", entry.get("principalId"), entry.get("clientId")).holds(identity)


def _shape(var: dict[str, Any] | None) -> tuple[Any, Any] | None:
    """A variable's (value, secretRef), unset parts as None: how the diff and a fresh read are compared."""
    if var is None:
        return None
    return (var.get("value") if not var.get("secretRef") else None, var.get("secretRef") or None)
