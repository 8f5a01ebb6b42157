"""The permission preflight: a rollback the caller cannot finish is refused before its first write,
as apply's is. The actions are Azure's names as role definitions list them (`gateway.allows` matches
them, by wizard/rbac.py)."""

from __future__ import annotations

from ..azure.gateway import allows
from ..steps import APP_WRITE, IDENTITY_WRITE
from .arm import resource_name
from .live import RollbackLive
from .step import RollbackStep

# What a delete needs besides the writes apply checks (Azure's action names, as role definitions list them).
RA_DELETE = "Microsoft.Authorization/roleAssignments/delete"


IDENTITY_DELETE = "Microsoft.ManagedIdentity/userAssignedIdentities/delete"


def preflight(steps: list[RollbackStep], live: RollbackLive, app_id: str | None) -> list[str]:
    """A problem for each step the caller may not do: a rollback that stops half-way (the app restored
    and the identity left, or the other way round) is refused before its first write, as apply is."""
    problems = []
    for step in (s for s in steps if s.writes):
        if step.kind in ("env", "link"):
            action, scope, what = APP_WRITE, app_id or step.target, f"restore {resource_name(app_id or step.target)}"
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
