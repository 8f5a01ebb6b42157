"""The identity's steps: its tags (tag_steps), and the identity the run created deleted unless it
was created again since (another principal) or something uses it."""

from __future__ import annotations

from .live import RollbackLive
from .step import RollbackStep, keep
from .tag_steps import tag_steps
from .writes import RunWrites


def identity_steps(
    writes: RunWrites, live: RollbackLive, users: list[str], runs: list[str], after: list[str]
) -> list[RollbackStep]:
    """The tags of a reused identity (above); the identity the run created is deleted, unless it was
    created again since or something uses it."""
    identity, identity_id = live.identity, writes.identity_id
    if identity is None or not identity_id:
        return []  # gone already (or never made)
    name = identity.name
    users = users + runs
    steps = tag_steps(writes, identity, runs)
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
