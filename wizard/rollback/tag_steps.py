"""Putting back the tags a run added to or changed on a reused identity, keyed without regard to
case as Azure keys tag names (ARM: tag names are case-insensitive, values case-sensitive)."""

from __future__ import annotations

from ..model import (
    Identity,
)
from .step import RollbackStep, keep
from .writes import RunWrites


def tag_steps(writes: RunWrites, identity: Identity, runs: list[str]) -> list[RollbackStep]:
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
