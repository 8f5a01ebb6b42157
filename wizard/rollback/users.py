"""Who besides the run uses its identity: things in Azure (other apps, the app's own references,
role assignments given since, anything unreadable) and other runs journaled on this machine."""

from __future__ import annotations

from ..steps import _short as short_scope
from .live import RollbackLive
from .step import RollbackStep
from .writes import RunWrites, in_force


def identity_users(
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
