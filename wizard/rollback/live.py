"""The live state rollback reads: the run's app, identity and role assignments, every container app
the caller can see, this machine's other journals, and the caller's permissions at each scope rollback
may write. Read concurrently, as `steps.read_live` is for apply."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..azure.errors import GatewayError
from ..azure.gateway import Gateway
from ..journal import Run, journals_dir, runs_in
from ..model import (
    ContainerApp,
    Identity,
    Permission,
    Revision,
    RoleAssignment,
    resource_group_of,
    subscription_of,
)
from ..steps import identity_exists
from .arm import guid
from .journal_check import journal_problems
from .writes import RunWrites, plan_of, run_writes


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
    if writes.app and live.app_raw is not None and guid((writes.app.pre_image.get("previous") or {}).get("value")):
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
