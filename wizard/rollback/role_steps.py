"""Deleting the role assignments a run made, unless the identity is in use by something that may
need them. Assignments are matched by id, principal and role, as apply names them."""

from __future__ import annotations

from ..model import (
    Identity,
)
from ..steps import _short as short_scope
from .arm import resource_name
from .live import RollbackLive
from .step import RollbackStep, keep
from .writes import RoleWrite, RunWrites, in_force


def _asks_for(other: RunWrites, identity_id: str, live: Identity | None, role: RoleWrite) -> bool:
    """Whether another run's plan asks for this same role at this same scope for this identity."""
    plan = other.plan
    if plan is None or not other.uses(identity_id, live):
        return False
    return any(
        plan.scope_of(r).lower() == role.scope.lower() and r.role.lower() in (role.role_guid, role.role_name.lower())
        for r in plan.role_assignments
    )


def role_steps(
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
                f"{resource_name(identity_id)} is still in use ({'; '.join(needing)}): it may need this role. "
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
