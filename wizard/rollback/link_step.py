"""Unlinking the run's identity from its container app, unless the app itself still uses it
(registries, Key Vault secrets, variables, active revisions; Container Apps REST spec). Linked
identities that no longer exist go with the unlink: Azure refuses an identity change that keeps them."""

from __future__ import annotations

from typing import Any

from ..app_write import identity_block
from ..azure.gateway import app_from_json
from ..model import (
    Revision,
)
from .arm import last_index, resource_name
from .live import RollbackLive
from .step import RollbackStep, keep
from .writes import RunWrites


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
        skipped = last_index(env, skip[1]) if skip and entry.get("name") == skip[0] else None
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


def link_step(
    writes: RunWrites, raw: dict[str, Any], live: RollbackLive, container: str, restoring: str | None
) -> RollbackStep | None:
    """Unlink the run's identity from its app (`writes.app` must be set) if the run linked it and it is
    linked now; kept, with who uses it, when the app still does. `restoring` is the variable this rollback
    restores on `container`, not counted as a use. None when there is nothing to unlink."""
    app = writes.app
    assert app is not None
    ours, name = app.identity_id, resource_name(app.target)
    was_linked = any(u.lower() == ours.lower() for u in app.pre_image.get("user_identities") or [])
    current = raw.get("identity") or {}
    linked = [k for k in current.get("userAssignedIdentities") or {}]
    if was_linked or not any(k.lower() == ours.lower() for k in linked):
        return None
    what = f"{resource_name(ours)} linked to {name}"
    uses = _app_uses(raw, live.revisions, ours, app.value or None, (container, restoring) if restoring else None)
    if uses:
        return keep("link", ours, what, f"{name} still uses it: {', '.join(uses)}", True)
    # Linked identities that no longer exist go with the unlink: Azure refuses a change that keeps them,
    # and refuses to remove one while a registry or secret names it.
    gone = [k for k in linked if k.lower() in live.gone]
    named = app_from_json(raw).named_identities()
    blocked = [f"{resource_name(g)} ({named[g.lower()]} names it)" for g in gone if g.lower() in named]
    if blocked:
        why = (
            f"{name} also links {', '.join(blocked)}, which no longer exists: Azure refuses any change of the app's "
            "identities until that is pointed at another identity. Do that, then roll back again"
        )
        return keep("link", ours, what, why, True)
    block = identity_block(current, None, [ours, *gone]) or {}
    kind = str(current.get("type") or "None")
    details = [f"identity type: {kind} -> {block.get('type', kind)}"]
    details += [f"drops user-assigned {resource_name(g)}: that identity no longer exists" for g in gone]
    details += [f"keeps user-assigned {resource_name(k)}" for k in linked if k.lower() != ours.lower() and k not in gone]
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
        f"unlink {resource_name(ours)} from {name}",
        "linked by this run",
        details,
        warnings,
        data={"identity": ours, "drop": gone},
    )
