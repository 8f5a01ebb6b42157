"""Rollback as a plan of its own: read the run (every attempt in its journal) and the live state,
diff them into steps (`restore`, `unlink`, `delete`, or `keep` with the reason), show exactly
those, and after confirmation do exactly those, in dependency order, journaling each.

`read_live` reads and `build_rollback` is pure, as `steps.read_live`/`build_steps` are for apply.
`execute` reads again right before it writes and does a listed step only if the fresh plan still
has it, so a reference that appeared while the admin read the list stops a delete.

What a run wrote is never deleted or unlinked while something else uses it: another container app
that holds the identity, a registry or Key Vault secret of this app that names it, another
variable or an active older revision carrying its client ID, a role assignment someone else gave
it since, or another run journaled on this machine whose writes are still there. Those steps
become `keep`, with who uses it. A later run on the same app still in force refuses the rollback.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .app_write import fresh_revision_suffix, identity_block, public_var
from .apply import SENDING, foreign_writes
from .azure import ids
from .azure.errors import GatewayError
from .azure.gateway import IN_PROGRESS, Gateway, allows, app_from_json, assignment_name
from .journal import Journal, Run, journals_dir, read_run, runs_in
from .model import (
    ContainerApp,
    Identity,
    Permission,
    Revision,
    RoleAssignment,
    resource_group_of,
    subscription_of,
)
from .plan import Plan
from .rules import RuleError
from .steps import APP_WRITE, IDENTITY_WRITE, SETTLE_TIMEOUT_S, identity_exists
from .steps import _short as short_scope
from .text import for_terminal

__all__ = ["execute", "outcome_lines", "plan_lines", "plan_rollback", "read_run", "render_text", "to_json"]

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MARKS = {"restore": "~", "unlink": "-", "delete": "-", "keep": "="}


# -- what a run wrote -----------------------------------------------------------------------------
@dataclass
class RoleWrite:
    target: str  # the assignment's resource id (its deterministic name)
    scope: str
    role_guid: str
    role_name: str
    principal_id: str | None


@dataclass
class AppWrite:
    target: str  # the container app's resource id
    pre_image: dict[str, Any]  # from the run's first attempt: the app as it was before the run
    identity_id: str
    value: str  # the client ID the run wrote


@dataclass
class RunWrites:
    """What one run wrote, folded over all its attempts."""

    run: Run
    plan: Plan | None
    identity_id: str | None = None
    created_identity: bool = False
    client_id: str | None = None
    principal_id: str | None = None
    old_tags: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    roles: dict[str, RoleWrite] = field(default_factory=dict)  # lower-cased id -> write
    app: AppWrite | None = None
    known_assignments: set[str] = field(default_factory=set)  # the identity's, as the run found them (lower-cased)
    # Writes rollback leaves as they are: providers registered (target -> namespace), the app's stale
    # entry of the identity removed by a relink, linked identities that no longer existed removed from it.
    registered: dict[str, str] = field(default_factory=dict)
    unlinked_stale: bool = False
    dropped: list[str] = field(default_factory=list)

    @property
    def app_id(self) -> str | None:
        if self.plan is not None and self.plan.container_app is not None:
            return self.plan.container_app.id
        return self.app.target if self.app else None

    @property
    def principal(self) -> str | None:
        return self.principal_id or next((r.principal_id for r in self.roles.values() if r.principal_id), None)

    def uses(self, identity_id: str, live: Identity | None) -> bool:
        """Whether the run's plan is about this identity, and about this incarnation of it (`live`,
        when it exists): one deleted and created again under the same name (or a sandbox session's
        namesake) has another principal, and another run's writes to the old one are gone with it."""
        if self.plan is None or self.plan.identity_id.lower() != identity_id.lower():
            return False
        if live is None:
            return True
        if self.principal:
            return self.principal.lower() == live.principal_id.lower()
        client = self.client_id or (self.app.value if self.app else None)
        return not client or client.lower() == live.client_id.lower()

    def holds_app(self, raw: dict[str, Any] | None) -> bool:
        """Whether what this run put on its app is there now: its identity linked (the same principal)
        or its client ID in its variable."""
        if raw is None or not self.identity_id:
            return False
        linked = {
            k.lower(): v or {} for k, v in ((raw.get("identity") or {}).get("userAssignedIdentities") or {}).items()
        }
        entry = linked.get(self.identity_id.lower())
        if entry is not None and (
            not self.principal or str(entry.get("principalId", "")).lower() == self.principal.lower()
        ):
            return True
        if self.app is None:
            return False
        env = _container_env(raw, str(self.app.pre_image.get("container"))) or []
        current = _last(env, str(self.app.pre_image.get("env_var")))
        return current is not None and current.get("value") == self.app.value


def plan_of(run: Run) -> Plan | None:
    """The plan the run applied, or None when the journal's copy cannot be read or is not valid."""
    try:
        plan = Plan.from_toml(run.plan_text, source="plan")
    except RuleError:
        return None
    return None if plan.problems() else plan


_PROVIDER = re.compile(r"^/subscriptions/[0-9a-f-]{36}/providers/([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+)$", re.I)


def journal_problems(run: Run) -> list[str]:
    """Why rollback cannot trust this journal, if it cannot: records not as runner-identity writes them
    (`Run.problems`), a plan it cannot read, or a write whose target is not what that plan writes (an
    identity, app, role assignment or provider the plan never named). A journal edited by hand,
    damaged or from another version so never makes rollback write anywhere the run did not."""
    if run.problems:
        return list(run.problems)
    start = run.line(run.start)
    try:
        plan = Plan.from_toml(run.plan_text, source="plan")
    except RuleError as err:
        return [f"line {start}: the plan it holds cannot be read ({err.message.splitlines()[0]})"]
    if plan.problems():
        return [f"line {start}: the plan it holds is not valid ({plan.problems()[0]})"]
    app_id = plan.container_app.id if plan.container_app else None
    scopes = {plan.scope_of(r).lower() for r in plan.role_assignments}
    problems: list[str] = []
    for event in run.apply_events():
        if event.get("event") not in ("begin", "done"):
            continue
        step, target = str(event["step"]), str(event["target"])
        wrong = ""
        if step == "identity":
            if not _same_id(target, plan.identity_id):
                wrong = f"'target' is not the plan's identity {plan.identity_id}"
        elif step.startswith("role:"):
            if event["event"] == "begin":
                wrong = _role_problem(event, scopes)
        elif step in ("app", "unlink"):
            if app_id is None or not _same_id(target, app_id):
                wrong = f"'target' is not the plan's container app {app_id or '(none)'}"
            elif "identity" in event and not _same_id(str(event["identity"]), plan.identity_id):
                wrong = f"'identity' is not the plan's identity {plan.identity_id}"
            elif step == "app" and "pre_image" in event:
                pre, container = event["pre_image"], plan.container_app.container  # type: ignore[union-attr]
                if pre["env_var"] != plan.container_app.env_var or (container and pre["container"] != container):  # type: ignore[union-attr]
                    wrong = "'pre_image' names another container or variable than the plan's"
        elif step.startswith("provider:"):
            found = _PROVIDER.match(target)
            if found is None or found.group(1).lower() != step.removeprefix("provider:").lower():
                wrong = f"'target' is not the resource provider {step.removeprefix('provider:')}"
        else:
            wrong = f"step {step!r} is not one runner-identity writes"
        if wrong:
            problems.append(f"line {run.line(event)}: {wrong} (was the journal edited?)")
    return problems


def _same_id(value: str, wanted: str) -> bool:
    """Whether `value` is a well-formed id naming `wanted` (ARM ids are case-insensitive)."""
    try:
        return ids.parse(value).id.lower() == ids.parse(wanted).id.lower()
    except ids.InvalidId:
        return False


def _role_problem(event: dict[str, Any], scopes: set[str]) -> str:
    """What is wrong with a role assignment's `begin` record: its scope must be one the plan names,
    and its target the assignment apply names from that scope, the principal and the role."""
    if event["action"] != "create":
        return f"'action' {event['action']!r} is not one runner-identity writes for a role assignment"
    scope, role, principal = event.get("scope"), event.get("role"), event.get("principal_id")
    if not isinstance(scope, str) or scope.lower() not in scopes:
        return "'scope' is not one of the plan's role assignment scopes"
    if not (isinstance(role, str) and GUID.match(role) and isinstance(principal, str) and GUID.match(principal)):
        return "'role' and 'principal_id' must be GUIDs"
    name = assignment_name(scope, principal, role)
    if str(event["target"]).lower() != f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}".lower():
        return "'target' is not the role assignment apply makes for this scope, principal and role"
    return ""


def run_writes(run: Run) -> RunWrites:
    """Fold a run's apply events: a write that began may have landed even if it never said done, and
    the app's pre-image is the first attempt's (a later attempt may read the first one's write)."""
    plan = plan_of(run)
    writes = RunWrites(run, plan, identity_id=plan.identity_id if plan else None)
    begun: dict[str, dict[str, Any]] = {}  # step -> its begin event in the current attempt
    for event in run.apply_events():
        kind, step = event.get("event"), str(event.get("step", ""))
        if kind in ("start", "attempt"):
            begun = {}
            if kind == "start":
                writes.known_assignments = {str(a).lower() for a in event.get("assignments") or []}
        elif kind == "begin":
            begun[step] = event
            _fold_begin(writes, step, event)
        elif kind == "done" and step == "identity" and event.get("action") == "create":
            writes.client_id = event.get("client_id")
            writes.principal_id = event.get("principal_id")
        elif kind == "done" and step.startswith("role:") and event.get("action") == "existing":
            # An equal assignment under another name was there: ours was never made.
            writes.roles.pop(str(begun.get(step, {}).get("target", "")).lower(), None)
    return writes


def _fold_begin(writes: RunWrites, step: str, event: dict[str, Any]) -> None:
    target = str(event.get("target", ""))
    if step == "identity":
        writes.identity_id = target
        if event.get("action") == "create":
            writes.created_identity = True
        elif writes.old_tags is None:
            writes.old_tags = dict(event.get("old_tags") or {})
            writes.tags = dict(event.get("tags") or {})
    elif step.startswith("role:") and event.get("action") == "create":
        writes.roles[target.lower()] = RoleWrite(
            target,
            str(event.get("scope", "")),
            str(event.get("role", "")).lower(),
            str(event.get("role_name") or event.get("role", "")),
            event.get("principal_id"),
        )
    elif step.startswith("provider:"):
        writes.registered[target] = step.removeprefix("provider:")
    elif step == "unlink":
        writes.unlinked_stale = True
    if step == "app":
        writes.dropped += [
            d for d in event.get("dropped") or [] if d.lower() not in {x.lower() for x in writes.dropped}
        ]
    if step == "app" and writes.app is None and event.get("pre_image"):
        writes.app = AppWrite(
            target,
            dict(event["pre_image"]),
            str(event.get("identity", "")),
            str(event.get("value", "")),
        )
        writes.identity_id = writes.identity_id or writes.app.identity_id


def in_force(run: Run, keys: tuple[str, ...] = ()) -> bool:
    """Whether a run still holds some of what it wrote (any of `keys`, when given): never rolled
    back, or its last rollback left something in force."""
    remaining = run.remaining()
    if remaining is None:
        return True
    return any(k in remaining for k in keys) if keys else bool(remaining)


# -- the live state -------------------------------------------------------------------------------
@dataclass
class RollbackLive:
    """What Azure (and this machine's other journals) hold now, for everything the run wrote."""

    app_raw: dict[str, Any] | None = None  # the run's container app as ARM returns it
    identity: Identity | None = None  # the run's identity
    assignments: list[RoleAssignment] = field(default_factory=list)  # of the run's principal
    apps: list[ContainerApp] = field(default_factory=list)  # in every subscription the caller sees
    identities: list[Identity] = field(default_factory=list)  # read only to check a value to restore
    revisions: list[Revision] = field(default_factory=list)  # the app's, when several can be active
    role_names: dict[str, str] = field(default_factory=dict)  # role GUID -> name
    others: list[Run] = field(default_factory=list)  # this machine's other runs (beside it, in the state dir)
    unknown: list[str] = field(default_factory=list)  # what could not be read: nothing is deleted blind
    gone: set[str] = field(default_factory=set)  # lower-cased: identities the app links that no longer exist
    # the caller's permission blocks at each scope rollback may write (lower-cased), None where unreadable
    permissions: dict[str, list[Permission] | None] = field(default_factory=dict)


async def read_live(gateway: Gateway, run: Run, journals: Path | None = None) -> RollbackLive:
    """Read everything the rollback of `run` depends on, concurrently where it can.

    `journals` is a folder to look for other runs in besides the state dir (default: the run's own).
    Raises GatewayError when the run's own app or identity cannot be read."""
    writes = run_writes(run)
    live = RollbackLive()
    # This machine's runs: beside this journal, and in the state dir where runs go by default.
    folders = {p.resolve() for p in (journals or run.path.parent, journals_dir()) if p.is_dir()}
    found = {r.path.resolve(): r for folder in sorted(folders) for r in runs_in(folder)}
    found.pop(run.path.resolve(), None)
    for path, other in list(found.items()):
        problems = journal_problems(other)
        if problems:
            del found[path]
            if _may_concern(other, writes):
                live.unknown.append(
                    f"journal {other.path} cannot be read ({problems[0]}), and it may be a run that uses it "
                    "(move it away if it is not)"
                )
    live.others = sorted(found.values(), key=lambda r: (r.started, r.path.name))
    app_id, identity_id = writes.app_id, writes.identity_id

    async def subscriptions() -> set[str]:
        # An identity can be linked to an app in any subscription of its tenant: look in all you can see.
        try:
            return {s.id for s in await gateway.subscriptions()}
        except GatewayError as err:
            live.unknown.append(f"the subscriptions cannot be listed ({err.code})")
            return set()

    subs = sorted({subscription_of(x) for x in (app_id, identity_id) if x} | await subscriptions())

    async def identity() -> Identity | None:
        if not identity_id:
            return None
        return await gateway.identity(
            subscription_of(identity_id), resource_group_of(identity_id), identity_id.rsplit("/", 1)[-1]
        )

    async def app() -> dict[str, Any] | None:
        return await gateway.container_app_raw(app_id) if app_id else None

    async def apps_in(sub: str) -> list[ContainerApp]:
        try:
            return await gateway.container_apps(sub)
        except GatewayError as err:
            live.unknown.append(f"the container apps of subscription {sub} cannot be listed ({err.code})")
            return []

    found_identity, live.app_raw, *app_lists = await asyncio.gather(identity(), app(), *(apps_in(s) for s in subs))
    live.identity = found_identity
    live.apps = [a for apps in app_lists for a in apps]

    if writes.app and live.app_raw is not None:
        # Azure refuses an identity change that keeps a linked identity that no longer exists: the unlink drops them.
        linked = (live.app_raw.get("identity") or {}).get("userAssignedIdentities") or {}
        others = [k for k in linked if k.lower() != (identity_id or "").lower()]
        there = await asyncio.gather(*(identity_exists(gateway, k) for k in others))
        live.gone = {k.lower() for k, exists in zip(others, there, strict=True) if not exists}
    mode = ((live.app_raw or {}).get("properties") or {}).get("configuration", {}).get("activeRevisionsMode")
    if app_id and live.app_raw is not None and str(mode or "Single").lower() != "single":
        # Older revisions stay active beside the new one: each may still run with the identity.
        live.revisions = await gateway.revisions(app_id)
    principal = writes.principal or (found_identity.principal_id if found_identity else None)
    if principal:
        scopes = {subscription_of(r.scope) for r in writes.roles.values()} | {subscription_of(identity_id or "")}
        lists = await asyncio.gather(*(gateway.role_assignments(s, principal) for s in sorted(scopes) if s))
        live.assignments = [a for found in lists for a in found]
        definitions = await asyncio.gather(
            *(gateway.role_definitions(s) for s in sorted({subscription_of(a.scope) for a in live.assignments}) if s)
        )
        live.role_names = {r.guid: r.name for found in definitions for r in found}
    live.permissions = await _permissions(gateway, writes, live)
    if writes.app and live.app_raw is not None and _guid((writes.app.pre_image.get("previous") or {}).get("value")):
        linked = (live.app_raw.get("identity") or {}).get("userAssignedIdentities") or {}
        where = {subscription_of(x) for x in (app_id, identity_id, *linked) if x}
        lists = await asyncio.gather(*(gateway.identities(s) for s in sorted(where) if s))
        live.identities = [i for found in lists for i in found]
    return live


async def _permissions(gateway: Gateway, writes: RunWrites, live: RollbackLive) -> dict[str, list[Permission] | None]:
    """The caller's permissions at every scope a rollback of `writes` may write: the app, each role
    assignment's scope, the identity. A scope whose permissions cannot be read maps to None (Azure will
    say no itself then, if it does)."""
    scopes = {r.scope for r in writes.roles.values()}
    if writes.app and live.app_raw is not None:
        scopes.add(writes.app.target)
    if live.identity is not None:
        scopes.add(live.identity.id)

    async def one(scope: str) -> list[Permission] | None:
        try:
            return await gateway.permissions(scope)
        except GatewayError:
            return None

    found = await asyncio.gather(*(one(s) for s in sorted(scopes)))
    return {s.lower(): blocks for s, blocks in zip(sorted(scopes), found, strict=True)}


# What a delete needs besides the writes apply checks (Azure's action names, as role definitions list them).
RA_DELETE = "Microsoft.Authorization/roleAssignments/delete"
IDENTITY_DELETE = "Microsoft.ManagedIdentity/userAssignedIdentities/delete"


def _preflight(steps: list[RollbackStep], live: RollbackLive, app_id: str | None) -> list[str]:
    """A problem for each step the caller may not do: a rollback that stops half-way (the app restored
    and the identity left, or the other way round) is refused before its first write, as apply is."""
    problems = []
    for step in (s for s in steps if s.writes):
        if step.kind in ("env", "link"):
            action, scope, what = APP_WRITE, app_id or step.target, f"restore {_name(app_id or step.target)}"
        elif step.kind == "role":
            action, scope, what = RA_DELETE, str(step.data.get("scope")), step.summary
        elif step.kind == "identity":
            action, scope, what = IDENTITY_DELETE, step.target, step.summary
        else:
            action, scope, what = IDENTITY_WRITE, step.target, step.summary
        blocks = live.permissions.get(scope.lower())
        problem = f"you cannot {what}: {action} is not granted to you at {scope}"
        if blocks is not None and not allows(blocks, action) and problem not in problems:
            problems.append(problem)
    return problems


def _may_concern(other: Run, writes: RunWrites) -> bool:
    """Whether a journal rollback cannot read may be about this run's identity or app: unless its plan
    can be read and names neither, it may."""
    plan = plan_of(other)
    if plan is None:
        return True
    app = plan.container_app.id.lower() if plan.container_app else None
    return plan.identity_id.lower() == (writes.identity_id or "").lower() or (
        app is not None and app == (writes.app_id or "").lower()
    )


def _guid(value: Any) -> bool:
    return isinstance(value, str) and bool(GUID.match(value))


# -- the plan -------------------------------------------------------------------------------------
@dataclass
class RollbackStep:
    key: str  # "env" | "link" | "tags" | "identity" | "role:<assignment id>"
    kind: str  # "env" | "link" | "tags" | "identity" | "role"
    action: str  # "restore" | "unlink" | "delete" | "keep"
    target: str  # the resource id it acts on
    summary: str
    reason: str = ""  # what it undoes, or why it is kept
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    holds: bool = False  # keep only: the run's write stays in force because something uses it
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return self.action != "keep"


def keep(key: str, target: str, what: str, reason: str, holds: bool = False) -> RollbackStep:
    """A step that leaves `what` as it is, saying why; `holds`: the run's write stays in force."""
    return RollbackStep(key, key.split(":")[0], "keep", target, f"keep {what}", reason, holds=holds)


@dataclass
class RollbackPlan:
    run: Run
    live: RollbackLive
    steps: list[RollbackStep]
    problems: list[str]  # anything that refuses the whole rollback before it writes
    journals: Path | None = None

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
    problems = _order_problems(writes, others, live.app_raw)
    steps = _app_steps(writes, live) if writes.app else []
    after = [s.key for s in steps if s.writes]  # the app lets go of the identity before it goes
    users, runs = _identity_users(writes, live, others, steps)
    steps += _role_steps(writes, live, others, users, after)
    steps += _identity_steps(writes, live, users, runs, after)
    steps += _lasting_steps(writes)
    problems += _preflight(steps, live, writes.app_id)
    return RollbackPlan(run, live, steps, problems)


def _name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _order_problems(writes: RunWrites, others: list[RunWrites], raw: dict[str, Any] | None) -> list[str]:
    """A later run on the same app that is still in force was built on this run's result: undoing
    this one first would restore a value (or delete an identity) the later one's rollback needs.
    In force: not rolled back, and what it put on the app is there now."""
    app_id = writes.app_id
    if not app_id:
        return []
    problems = []
    run = writes.run
    for theirs in others:
        other = theirs.run
        if (other.started, other.path.name) <= (run.started, run.path.name):
            continue
        if (theirs.app_id or "").lower() != app_id.lower() or not in_force(other, ("env", "link")):
            continue
        if not theirs.holds_app(raw):
            continue
        problems.append(
            f"a later run on {_name(app_id)} is in force: {other.path}. "
            f"Roll it back first (runner-identity rollback {other.path}), then this one."
        )
    return problems


def _last_index(env: list[dict[str, Any]], name: str) -> int | None:
    """Where the variable `name` is in a container's env: its last entry, the one the runtime uses and
    apply changes (a name may be listed twice; the earlier entries are left as they are)."""
    return max((i for i, v in enumerate(env) if v.get("name") == name), default=None)


def _last(env: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    index = _last_index(env, name)
    return None if index is None else env[index]


def _container_env(raw: dict[str, Any], container: str) -> list[dict[str, Any]] | None:
    for entry in ((raw.get("properties") or {}).get("template") or {}).get("containers") or []:
        if entry.get("name") == container:
            return list(entry.get("env") or [])
    return None


def _shown(var: dict[str, Any] | None) -> str:
    if var is None:
        return "(not set)"
    if var.get("secretRef"):
        return f"(secret: {var['secretRef']})"
    return str(var.get("value") or "(empty)")


def _app_steps(writes: RunWrites, live: RollbackLive) -> list[RollbackStep]:
    app = writes.app
    assert app is not None
    raw, name = live.app_raw, _name(app.target)
    if raw is None:
        return [keep("env", app.target, name, "the container app no longer exists")]
    pre = app.pre_image
    container, var = str(pre.get("container")), str(pre.get("env_var"))
    previous = pre.get("previous")
    steps: list[RollbackStep] = []
    env = _container_env(raw, container)
    restoring = False
    if env is None:
        steps.append(keep("env", app.target, var, f"container {container} is no longer in {name}"))
    else:
        current = _last(env, var)
        ours = current is not None and not current.get("secretRef") and current.get("value") == app.value
        if current is not None and previous is not None and public_var(current) == previous:
            pass  # as before the run: the write never landed, or was undone already
        elif current is None and previous is None:
            pass
        elif ours:
            restoring = True
            steps.append(_restore_step(app, raw, live, container, var, previous))
        else:
            why = f"{var} was changed after this run (it holds {_shown(current)}): left as it is"
            steps.append(keep("env", app.target, f"{var} on container {container} of {name}", why))
    link = _link_step(writes, raw, live, container, var if restoring else None)
    if link is not None:
        steps.append(link)
    return steps


def _restore_step(
    app: AppWrite,
    raw: dict[str, Any],
    live: RollbackLive,
    container: str,
    var: str,
    previous: dict[str, Any] | None,
) -> RollbackStep:
    name = _name(app.target)
    if previous is None:
        summary = f"remove {var} from container {container} of {name} (it was not set before this run)"
        details = [f"- {var}={app.value}"]
    else:
        summary = f"restore {var} on container {container} of {name} to {_shown(previous)}"
        details = [f"- {var}={app.value}", f"+ {var}={_shown(previous)}"]
    template = (raw.get("properties") or {}).get("template") or {}
    details.append("a new revision of the app")
    if template.get("revisionSuffix"):
        details.append(
            f"{name} pins revisionSuffix '{template['revisionSuffix']}': the new revision gets a fresh one "
            "(a revision name is never reused)"
        )
    warnings = _value_warnings(app, raw, live, var, previous)
    return RollbackStep(
        "env",
        "env",
        "restore",
        app.target,
        summary,
        f"this run set it to {app.value}",
        details,
        warnings,
        data={"container": container, "env_var": var, "previous": previous},
    )


def _value_warnings(
    app: AppWrite, raw: dict[str, Any], live: RollbackLive, var: str, previous: dict[str, Any] | None
) -> list[str]:
    """A client ID put back must still be an identity's, and one the app can use."""
    value = (previous or {}).get("value")
    if previous is None or previous.get("secretRef") or not _guid(value):
        return []
    owner = next((i for i in live.identities if i.client_id.lower() == str(value).lower()), None)
    if owner is None:
        return [
            f"{var} goes back to {value}, the client ID of no identity (deleted since?): "
            "the runner will not sign in until it names a live one"
        ]
    linked = {k.lower() for k in ((raw.get("identity") or {}).get("userAssignedIdentities") or {})}
    linked.discard(app.identity_id.lower())  # this rollback unlinks the run's own identity
    if owner.id.lower() not in linked:
        return [
            f"{var} goes back to {value}, the client ID of {owner.name}, which is not linked to {_name(app.target)}: "
            "the runner cannot use it until it is linked"
        ]
    return []


def _app_uses(
    raw: dict[str, Any],
    revisions: list[Revision],
    identity_id: str,
    client_id: str | None,
    skip: tuple[str, str] | None,
) -> list[str]:
    """What on the app itself uses the identity: registries, Key Vault secrets, variables, and (with
    several active revisions) an active revision whose containers still carry its client ID."""
    config = (raw.get("properties") or {}).get("configuration") or {}
    ours = identity_id.lower()
    uses = [
        f"registry {r.get('server')}" for r in config.get("registries") or [] if str(r.get("identity")).lower() == ours
    ]
    uses += [
        f"Key Vault secret {s.get('name')}"
        for s in config.get("secrets") or []
        if str(s.get("identity")).lower() == ours
    ]
    for entry in ((raw.get("properties") or {}).get("template") or {}).get("containers") or []:
        env = entry.get("env") or []
        skipped = _last_index(env, skip[1]) if skip and entry.get("name") == skip[0] else None
        for index, var in enumerate(env):
            if index == skipped:
                continue  # the entry this rollback restores
            if client_id and not var.get("secretRef") and var.get("value") == client_id:
                uses.append(f"variable {var.get('name')} on container {entry.get('name')}")
    for revision in revisions:
        carried = [
            e for c in revision.containers for e in c.get("env") or [] if client_id and e.get("value") == client_id
        ]
        if revision.active and carried:
            uses.append(f"active revision {revision.name} runs with its client ID (deactivate it first)")
    return uses


def _link_step(
    writes: RunWrites, raw: dict[str, Any], live: RollbackLive, container: str, restoring: str | None
) -> RollbackStep | None:
    app = writes.app
    assert app is not None
    ours, name = app.identity_id, _name(app.target)
    was_linked = any(u.lower() == ours.lower() for u in app.pre_image.get("user_identities") or [])
    current = raw.get("identity") or {}
    linked = [k for k in current.get("userAssignedIdentities") or {}]
    if was_linked or not any(k.lower() == ours.lower() for k in linked):
        return None
    what = f"{_name(ours)} linked to {name}"
    uses = _app_uses(raw, live.revisions, ours, app.value or None, (container, restoring) if restoring else None)
    if uses:
        return keep("link", ours, what, f"{name} still uses it: {', '.join(uses)}", True)
    # Linked identities that no longer exist go with the unlink: Azure refuses a change that keeps them,
    # and refuses to remove one while a registry or secret names it.
    gone = [k for k in linked if k.lower() in live.gone]
    named = app_from_json(raw).named_identities()
    blocked = [f"{_name(g)} ({named[g.lower()]} names it)" for g in gone if g.lower() in named]
    if blocked:
        why = (
            f"{name} also links {', '.join(blocked)}, which no longer exists: Azure refuses any change of the app's "
            "identities until that is pointed at another identity. Do that, then roll back again"
        )
        return keep("link", ours, what, why, True)
    block = identity_block(current, None, [ours, *gone]) or {}
    kind = str(current.get("type") or "None")
    details = [f"identity type: {kind} -> {block.get('type', kind)}"]
    details += [f"drops user-assigned {_name(g)}: that identity no longer exists" for g in gone]
    details += [f"keeps user-assigned {_name(k)}" for k in linked if k.lower() != ours.lower() and k not in gone]
    warnings = [
        f"user-assigned identity {g} is linked to {name} but no longer exists: Azure refuses an identity change "
        "that keeps it, so the unlink drops it"
        for g in gone
    ]
    return RollbackStep(
        "link",
        "link",
        "unlink",
        ours,
        f"unlink {_name(ours)} from {name}",
        "linked by this run",
        details,
        warnings,
        data={"identity": ours, "drop": gone},
    )


def _lasting_steps(writes: RunWrites) -> list[RollbackStep]:
    """What the run wrote that no rollback undoes, listed as kept so the admin knows it stays."""
    steps = []
    for target, namespace in writes.registered.items():
        subscription = subscription_of(target)
        why = (
            "registration is subscription-wide and other deployments may rely on it: rollback leaves it "
            f"(`az provider unregister --namespace {namespace} --subscription {subscription}` undoes it by hand)"
        )
        steps.append(keep(f"provider:{namespace}", target, f"resource provider {namespace} registered", why))
    app_name = _name(writes.app_id or "")
    if writes.unlinked_stale and writes.identity_id:
        identity = _name(writes.identity_id)
        why = (
            f"this run removed {app_name}'s entry for {identity}, which held the principal of an identity deleted "
            "before it was created again under that name: that cannot be undone (no write links a principal "
            "that no longer exists)"
        )
        steps.append(keep("stale", writes.identity_id, f"the stale entry of {identity} removed from {app_name}", why))
    for dropped in writes.dropped:
        why = (
            f"this run removed it from {app_name} because that identity no longer exists (Azure refuses an identity "
            "change that keeps it): it cannot be linked again"
        )
        steps.append(keep(f"dropped:{dropped.lower()}", dropped, f"{_name(dropped)} unlinked from {app_name}", why))
    return steps


def _identity_users(
    writes: RunWrites, live: RollbackLive, others: list[RunWrites], app_steps: list[RollbackStep]
) -> tuple[list[str], list[str]]:
    """Who besides this run uses the run's identity: (things in Azure, other runs on this machine).

    In Azure: other container apps that hold it, this app's own references (a link kept), role
    assignments someone else gave it since, and anything that could not be read (nothing is
    deleted blind). Runs: other journaled runs about the same identity that are still in force."""
    identity_id = writes.identity_id
    if not identity_id:
        return [], []
    own_app = (writes.app_id or "").lower()
    users = [f"container app {a.name} holds it" for a in live.apps if a.linked(identity_id) and a.id.lower() != own_app]
    users += [s.reason for s in app_steps if s.kind == "link" and s.holds]
    principal = writes.principal or (live.identity.principal_id if live.identity else None)
    # Assignments another run on this machine made are that run's use (below), not someone else's.
    known = set(writes.roles) | writes.known_assignments | {k for o in others for k in o.roles}
    for a in live.assignments:
        if a.principal_id != principal or a.id.lower() in known:
            continue
        role = live.role_names.get(a.role_guid, a.role_guid)
        users.append(f"role assignment '{role}' at {short_scope(a.scope)} was given to it since")
    runs = [f"run {o.run.path.name} uses it" for o in others if o.uses(identity_id, live.identity) and in_force(o.run)]
    return users + live.unknown, runs


def _asks_for(other: RunWrites, identity_id: str, live: Identity | None, role: RoleWrite) -> bool:
    """Whether another run's plan asks for this same role at this same scope for this identity."""
    plan = other.plan
    if plan is None or not other.uses(identity_id, live):
        return False
    return any(
        plan.scope_of(r).lower() == role.scope.lower() and r.role.lower() in (role.role_guid, role.role_name.lower())
        for r in plan.role_assignments
    )


def _role_steps(
    writes: RunWrites, live: RollbackLive, others: list[RunWrites], users: list[str], after: list[str]
) -> list[RollbackStep]:
    """Delete the run's role assignments, unless the identity is in use by something that may need
    them (another run's own use needs them only if it asked for the same role)."""
    # The assignment Azure holds under that id must be the one the run made (its principal and role).
    held = {a.id.lower(): a for a in live.assignments}
    identity_id = writes.identity_id or ""
    steps = []
    for key, role in writes.roles.items():
        found = held.get(key)
        if (
            found is None
            or found.role_guid != role.role_guid
            or (role.principal_id and found.principal_id.lower() != role.principal_id.lower())
        ):
            continue  # gone already (or not the run's)
        what = f"'{role.role_name}' at {short_scope(role.scope)}"
        needing = users + [
            f"run {o.run.path.name} asks for it"
            for o in others
            if in_force(o.run) and _asks_for(o, identity_id, live.identity, role)
        ]
        if needing:
            why = (
                f"{_name(identity_id)} is still in use ({'; '.join(needing)}): it may need this role. "
                "Delete it by hand once nothing does."
            )
            steps.append(keep(f"role:{key}", role.target, f"role assignment {what}", why, True))
        else:
            steps.append(
                RollbackStep(
                    f"role:{key}",
                    "role",
                    "delete",
                    role.target,
                    f"delete role assignment {what}",
                    "made by this run",
                    data={"after": after, "scope": role.scope},
                )
            )
    return steps


def _tag_steps(writes: RunWrites, identity: Identity, runs: list[str]) -> list[RollbackStep]:
    """Put back the tags the run added to or changed on a reused identity, each only while it still
    holds the run's value; kept while another run on this identity is in force.

    Tag names are keyed without regard to case, as Azure keys them: a run that renamed `owner` to
    `Owner` wrote one tag, and its rollback puts `owner` back with its old value (it never drops it)."""
    if writes.created_identity or writes.old_tags is None or writes.tags is None:
        return []
    old = {k.lower(): (k, v) for k, v in writes.old_tags.items()}
    now = {k.lower(): (k, v) for k, v in identity.tags.items()}
    restored, changes, moved = dict(identity.tags), [], []
    for key, value in writes.tags.items():
        before, held = old.get(key.lower()), now.get(key.lower())
        if before == (key, value) or (before is not None and held == before):
            continue  # not the run's, or as it was before the run already
        if held is None or held[1] != value:
            moved.append(key)
            continue
        restored.pop(held[0])
        if before is None:
            changes.append(f"- tag {key}={value}")
            continue
        restored[before[0]] = before[1]
        renamed = f" -> {before[0]}" if before[0] != key else ""
        changes.append(f"tag {key}{renamed}: {value} -> {before[1]}")
    name = identity.name
    if changes and runs:
        return [keep("tags", identity.id, f"the tags of {name}", "; ".join(runs), True)]
    if changes:
        details = changes + [f"tag {k} was changed since: left as it is" for k in moved]
        data = {"tags": restored, "location": identity.location}
        return [
            RollbackStep(
                "tags",
                "tags",
                "restore",
                identity.id,
                f"restore the tags of {name}",
                "this run set them",
                details,
                data=data,
            )
        ]
    if moved:
        why = f"{', '.join(f'tag {k}' for k in moved)} changed after this run: left as it is"
        return [keep("tags", identity.id, f"the tags of {name}", why)]
    return []


def _identity_steps(
    writes: RunWrites, live: RollbackLive, users: list[str], runs: list[str], after: list[str]
) -> list[RollbackStep]:
    """The tags of a reused identity (above); the identity the run created is deleted, unless it was
    created again since or something uses it."""
    identity, identity_id = live.identity, writes.identity_id
    if identity is None or not identity_id:
        return []  # gone already (or never made)
    name = identity.name
    users = users + runs
    steps = _tag_steps(writes, identity, runs)
    if not writes.created_identity:
        return steps
    what = f"managed identity {name}"
    if writes.principal_id and identity.principal_id != writes.principal_id:
        why = "it was deleted and created again since (another principal): not this run's"
        steps.append(keep("identity", identity.id, what, why))
    elif users:
        why = f"it is still in use: {'; '.join(users)}. Delete it by hand once nothing needs it."
        steps.append(keep("identity", identity.id, what, why, True))
    else:
        steps.append(
            RollbackStep(
                "identity",
                "identity",
                "delete",
                identity.id,
                f"delete managed identity {name}",
                "created by this run",
                [f"client ID {identity.client_id}", f"principal ID {identity.principal_id}"],
                data={"after": after},
            )
        )
    return steps


# -- showing it -----------------------------------------------------------------------------------
Style = Callable[[str, str], str]


def plan_lines(plan: RollbackPlan) -> list[tuple[str, str]]:
    """The plan as (kind, text) lines, kind being the step's action ("restore", "unlink", "delete",
    "keep") or "detail", "warning", "problem", "note": the CLI prints the text, the wizard styles it.
    Each text is safe to print: what Azure or the journal holds has its control characters escaped."""
    return [(kind, for_terminal(text)) for kind, text in _plan_lines(plan)]


def _plan_lines(plan: RollbackPlan) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for step in plan.steps:
        text = f"{MARKS[step.action]} {step.summary}"
        lines.append((step.action, f"{text}: {step.reason}" if step.action == "keep" else text))
        lines += [("detail", f"    {d}") for d in step.details]
        lines += [("warning", f"    ! {w}") for w in step.warnings]
    if plan.problems:
        lines.append(("note", ""))
        lines.append(("problem", "Cannot roll back:"))
        lines += [("problem", f"  x {p}") for p in plan.problems]
    kept = sum(1 for s in plan.steps if not s.writes)
    undo = len(plan.steps) - kept
    lines.append(("note", ""))
    if plan.problems:
        lines.append(("note", "Nothing was changed."))
    elif not undo:
        left = "what is left is kept, as above" if kept else "nothing this run wrote is left in Azure"
        lines.append(("note", f"Nothing to undo: {left}."))
    else:
        lines.append(("note", f"{undo} to undo, {kept} kept."))
    return lines


def render_text(plan: RollbackPlan, style: Style | None = None) -> str:
    """The plan as text, each line passed through `style(kind, text)` when given (see plan_lines)."""
    return "\n".join(style(kind, text) if style else text for kind, text in plan_lines(plan))


# -- doing it -------------------------------------------------------------------------------------
@dataclass
class StepOutcome:
    status: str  # "done" | "failed" | "not run" | "skipped" | "kept"
    message: str = ""


@dataclass
class RollbackOutcome:
    plan: RollbackPlan
    status: str  # "rolled back" | "nothing to undo" | "refused" | "incomplete" | "failed"
    results: dict[str, StepOutcome] = field(default_factory=dict)
    # Someone else's writes to the app between rollback's read and the end of its PATCH (apply.foreign_writes).
    conflicts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("rolled back", "nothing to undo") and not self.conflicts


def revert_body(
    raw: dict[str, Any], env: dict[str, Any] | None, unlink: str | None, drop: Iterable[str] = ()
) -> dict[str, Any]:
    """The merge-patch body that restores the variable (`env`: container, env_var, previous) and
    unlinks `unlink` (with `drop`, linked identities that no longer exist), built from the app as Azure
    holds it now: every other container, variable and identity goes back unchanged. A pinned
    revisionSuffix gets a fresh one, as apply does."""
    body: dict[str, Any] = {}
    if unlink:
        # apply's own block: the whole remaining set plus a null for ours, right whether ARM merges the map or not
        block = identity_block(raw.get("identity") or {}, None, [unlink, *drop])
        if block is not None:
            body["identity"] = block
    if env:
        template = (raw.get("properties") or {}).get("template") or {}
        containers = copy.deepcopy(template.get("containers") or [])
        for entry in containers:
            if entry.get("name") != env["container"]:
                continue
            variables = entry.get("env") or []
            index = _last_index(variables, env["env_var"])
            if index is None:
                continue
            if env["previous"] is None:
                del variables[index]
            else:
                variables[index] = dict(env["previous"])
            body.setdefault("properties", {})["template"] = {"containers": containers}
        suffix = fresh_revision_suffix(template)
        if "properties" in body and suffix:
            body["properties"]["template"]["revisionSuffix"] = suffix
    return body


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
                report(f"Azure refused the write: another update of {_name(app_id or '')} is running")
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
    started, name = time.monotonic(), _name(app_id)
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
                _name(step.target),
                step.data["location"],
                step.data["tags"],
            )
    except GatewayError as err:
        if err.status != 404:  # gone already is what a delete wants
            results[step.key] = StepOutcome("failed", err.plain())
            return
    results[step.key] = StepOutcome("done")


def outcome_lines(outcome: RollbackOutcome) -> list[tuple[str, str]]:
    """What the rollback did, as (result, text) lines: one per step, then a summary ("note"); each
    text safe to print (control characters escaped)."""
    lines = []
    for step in outcome.plan.steps:
        result = outcome.results.get(step.key, StepOutcome("not run"))
        note = f": {result.message}" if result.message else ""
        lines.append((result.status, for_terminal(f"  {result.status:<8} {step.summary}{note}")))
    kept = " What is kept stays, for the reason given." if any(not s.writes for s in outcome.plan.steps) else ""
    summary = {
        "rolled back": f"Rolled back: every write above is undone.{kept}",
        "nothing to undo": f"Nothing to undo.{kept}",
        "refused": "Refused: nothing was changed.",
        "incomplete": "Rollback incomplete: something changed since the list was shown. Run rollback again to see it.",
        "failed": "Rollback incomplete: a step failed. Run rollback again to continue.",
    }[outcome.status]
    if outcome.conflicts:
        said = "; ".join(outcome.conflicts)
        lines.append(
            (
                "problem",
                for_terminal(
                    f"  ! someone else changed the container app while rollback wrote it: {said}. Container Apps "
                    "have no ETag, so such a write cannot be held off; rollback changed nothing more: review these "
                    "in the portal (the app's Activity log)"
                ),
            )
        )
    return [*lines, ("note", summary)]


def to_json(plan: RollbackPlan, status: str, outcome: RollbackOutcome | None = None) -> dict[str, Any]:
    """The plan (and what became of each step) as the CLI's --json prints it: `status`, `journal`,
    `problems`, `steps`, and `conflicts` (someone else's writes to the app) only when there are any."""
    results = outcome.results if outcome else {}
    conflicts = {"conflicts": outcome.conflicts} if outcome and outcome.conflicts else {}
    return {
        "status": status,
        "journal": str(plan.run.path),
        "problems": plan.problems,
        **conflicts,
        "steps": [
            {
                "action": s.action,
                "kind": s.kind,
                "target": s.target,
                "summary": s.summary,
                "reason": s.reason,
                "warnings": s.warnings,
                "result": results[s.key].status if s.key in results else None,
            }
            for s in plan.steps
        ],
    }
