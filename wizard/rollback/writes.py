"""What a run wrote, folded from its journal's apply events over all its attempts (wizard/journal.py
writes them; wizard/apply.py says what each step records), and whether a run is still in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..journal import Run
from ..model import (
    Identity,
)
from ..plan import Plan
from ..rules import RuleError
from .arm import container_env, last


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
        env = container_env(raw, str(self.app.pre_image.get("container"))) or []
        current = last(env, str(self.app.pre_image.get("env_var")))
        return current is not None and current.get("value") == self.app.value


def plan_of(run: Run) -> Plan | None:
    """The plan the run applied, or None when the journal's copy cannot be read or is not valid."""
    try:
        plan = Plan.from_toml(run.plan_text, source="plan")
    except RuleError:
        return None
    return None if plan.problems() else plan


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
