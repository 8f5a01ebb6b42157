"""What a run wrote that no rollback undoes (a provider's registration, a stale entry removed, a
linked identity that no longer existed dropped), listed as kept so the admin knows it stays."""

from __future__ import annotations

from ..model import (
    subscription_of,
)
from .arm import resource_name
from .step import RollbackStep, keep
from .writes import RunWrites


def lasting_steps(writes: RunWrites) -> list[RollbackStep]:
    """What the run wrote that no rollback undoes, listed as kept so the admin knows it stays."""
    steps = []
    for target, namespace in writes.registered.items():
        subscription = subscription_of(target)
        why = (
            "registration is subscription-wide and other deployments may rely on it: rollback leaves it "
            f"(`az provider unregister --namespace {namespace} --subscription {subscription}` undoes it by hand)"
        )
        steps.append(keep(f"provider:{namespace}", target, f"resource provider {namespace} registered", why))
    app_name = resource_name(writes.app_id or "")
    if writes.unlinked_stale and writes.identity_id:
        identity = resource_name(writes.identity_id)
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
        steps.append(keep(f"dropped:{dropped.lower()}", dropped, f"{resource_name(dropped)} unlinked from {app_name}", why))
    return steps
