"""The container app write, as pure functions: the merge-patch bodies apply sends, and what changed
on the app that apply did not change.

Container Apps have no ETag or If-Match, so nothing stops someone else's write landing between
apply's read of the app and its PATCH. What the PATCH carries (`identity`, `template.containers`)
is built from that read; `foreign_changes` and `overwritten_revisions` compare the app after the
operation with the read plus apply's own change, so such a write is reported, never passed over.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from .azure.errors import GatewayError
from .mergepatch import merge_patch
from .model import Identity, Revision
from .text import for_terminal


class AppChanged(GatewayError):
    """The app no longer matches what the confirmed diff was made from; nothing was written to it."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(what, "AppChanged", message, None)

    def plain(self) -> str:
        return for_terminal(f"Could not {self.what}: {self.message}")


def _type_parts(identity_type: str) -> set[str]:
    return {p for p in identity_type.replace(" ", "").lower().split(",") if p and p != "none"}


def identity_block(current: dict[str, Any], add: str | None, remove: Iterable[str]) -> dict[str, Any] | None:
    """The `identity` of a merge patch that links `add` and unlinks each of `remove`, keeping every
    other identity (and a system-assigned one) as the app holds it; None when nothing changes.

    The map carries the whole remaining set plus a null for each identity removed: the union stays
    whether ARM merges this map (RFC 7386: null removes a key) or replaces it. A type without
    UserAssigned is sent when no user-assigned identity would remain (ARM refuses UserAssigned with an
    empty map)."""
    held = {k: k for k in (current.get("userAssignedIdentities") or {})}
    lower = {k.lower(): k for k in held}
    dropped = [lower[r.lower()] for r in remove if r.lower() in lower]
    adding = add is not None and add.lower() not in lower
    if not dropped and not adding:
        return None
    system = "systemassigned" in _type_parts(str(current.get("type") or ""))
    remaining = {k: {} for k in held if k not in dropped}
    if adding:
        remaining[add] = {}  # type: ignore[index]
    if not remaining:
        return {"type": "SystemAssigned" if system else "None"}
    users: dict[str, Any] = {**remaining, **{k: None for k in dropped}}
    return {"type": "SystemAssigned,UserAssigned" if system else "UserAssigned", "userAssignedIdentities": users}


def app_patch(
    raw: dict[str, Any],
    identity: Identity,
    container: str,
    env_var: str,
    *,
    link: bool = True,
    set_env: bool = True,
    drop: Iterable[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The merge-patch body that links `identity` (when `link`) and sets `env_var` to its client ID on
    `container` (when `set_env`), dropping the linked identities in `drop` that no longer exist; and
    the pre-image it changes, for the journal (a secretRef by name, never a value).

    Every container goes back as read, and only the target variable differs. A name listed twice is
    the last entry's (the runtime uses the last); the earlier ones stay as they are. An `env` of null
    is an empty list. Raises AppChanged when the container is no longer in the app."""
    props = raw.get("properties") or {}
    template = props.get("template") or {}
    containers = copy.deepcopy(template.get("containers") or [])
    current_identity = raw.get("identity") or {}
    user_ids = list((current_identity.get("userAssignedIdentities") or {}).keys())
    before: dict[str, Any] = {
        "identity_type": str(current_identity.get("type") or "None"),
        "user_identities": user_ids,
        "container": container,
        "env_var": env_var,
        "previous": None,
        "revision": props.get("latestRevisionName"),
    }
    body: dict[str, Any] = {}
    block = identity_block(current_identity, identity.id if link else None, drop)
    if block is not None:
        body["identity"] = block
    entry = next((c for c in containers if c.get("name") == container), None)
    if entry is None:
        names = ", ".join(str(c.get("name")) for c in containers) or "none"
        raise AppChanged(
            f"update container app {raw.get('name', '')}",
            f"container '{container}' is no longer in the app (it has: {names}); nothing was written to the app. "
            "Run apply again to see the diff against the app as it is now",
        )
    if entry.get("env") is None:
        entry["env"] = []
    env = entry["env"]
    at = max((i for i, var in enumerate(env) if var.get("name") == env_var), default=None)
    if at is not None:
        before["previous"] = public_var(env[at])
    if set_env:
        var = env[at] if at is not None else None
        if var is None:
            env.append({"name": env_var, "value": identity.client_id})
            body.setdefault("properties", {})["template"] = {"containers": containers}
        elif var.get("value") != identity.client_id or var.get("secretRef"):
            env[at] = {"name": env_var, "value": identity.client_id}  # type: ignore[index]
            body.setdefault("properties", {})["template"] = {"containers": containers}
    if "properties" in body:
        suffix = fresh_revision_suffix(template)
        if suffix:
            body["properties"]["template"]["revisionSuffix"] = suffix
    return body, before


def fresh_revision_suffix(template: dict[str, Any]) -> str | None:
    """A new `revisionSuffix` for a template change, when the app pins one; None when it does not.

    A revision is named `<app>--<suffix>`: a fixed suffix would name the new revision like the
    current one, which Azure refuses (ContainerAppRevisionAlreadyExists), so it gets a random one.
    """
    if not template.get("revisionSuffix"):
        return None
    return f"ri-{secrets.token_hex(3)}"


def public_var(var: dict[str, Any]) -> dict[str, Any]:
    """A variable as the journal may keep it: a secretRef by name, never a secret's value."""
    if var.get("secretRef"):
        return {"name": var["name"], "secretRef": var["secretRef"]}
    return {"name": var["name"], "value": var.get("value")}


# -- what someone else changed ----------------------------------------------------------------------
def _normal(value: Any) -> Any:
    """A value as Container Apps mean it: null, an empty list or object, and the empty `value` the az
    CLI writes beside a `secretRef` all mean unset."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _normal(v) for k, v in value.items() if v is not None}
    out = {k: v for k, v in out.items() if v not in ([], {})}
    if out.get("secretRef") and out.get("value") == "":
        del out["value"]
    return out


def _owned(app: dict[str, Any]) -> dict[str, Any]:
    """The parts of an app its admins set, flattened to labelled values; read-only and volatile
    properties (provisioningState, latestRevisionName, systemData, fqdn, ...) are left out."""
    flat: dict[str, Any] = {}
    for name, value in (app.get("tags") or {}).items():
        flat[f"tag {name}"] = value
    identity = app.get("identity") or {}
    kinds = _type_parts(str(identity.get("type") or ""))
    flat["identity type"] = sorted(kinds)
    if "userassigned" in kinds:  # a type without UserAssigned unlinks them all, whatever the map says
        for rid in identity.get("userAssignedIdentities") or {}:
            flat[f"user-assigned identity {rid.lower()}"] = True
    props = app.get("properties") or {}
    for key in ("workloadProfileName", "environmentId"):
        if props.get(key) is not None:
            flat[key] = props[key]
    config = _normal(props.get("configuration") or {})
    for key, value in config.items():
        if key == "secrets":
            for secret in value:
                flat[f"secret {secret.get('name')}"] = secret
        else:
            flat[f"configuration.{key}"] = value
    template = _normal(props.get("template") or {})
    for key, value in template.items():
        if key in ("containers", "initContainers"):
            kind = "container" if key == "containers" else "init container"
            for i, container in enumerate(value):
                label = f"{kind} {container.get('name') or i}"
                flat[label] = True
                for field, item in container.items():
                    if field == "env":
                        seen: dict[str, int] = {}
                        for var in item:
                            var_name = str(var.get("name"))
                            seen[var_name] = seen.get(var_name, 0) + 1
                            nth = f" (entry {seen[var_name]})" if seen[var_name] > 1 else ""
                            flat[f"{label}: variable {var_name}{nth}"] = var
                    elif field != "name":
                        flat[f"{label}: {field}"] = item
        elif key != "revisionSuffix":  # apply sets a new suffix when the app had a fixed one
            flat[f"template.{key}"] = value
    return flat


def foreign_changes(pre: dict[str, Any], body: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between the app `after` apply's operation and the app as apply read it (`pre`) with
    apply's own merge patch (`body`) applied: each difference is someone else's write that landed in
    between, named by what it touched ("configuration.ingress changed", "tag owner added"). Values
    are never shown (a variable may hold something private). Takes ARM JSON (a GET's and the
    operation's result); returns the differences sorted, none when the app is as expected."""
    expected, found = _owned(merge_patch(pre, body)), _owned(after)
    changes = []
    for label in sorted(set(expected) | set(found)):
        if label not in found:
            changes.append(f"{label} removed")
        elif label not in expected:
            changes.append(f"{label} added")
        elif expected[label] != found[label]:
            changes.append(f"{label} changed")
    return changes


_FRACTION = re.compile(r"(\.\d{6})\d+")


def arm_time(stamp: str) -> datetime | None:
    """An ARM timestamp ('2025-05-01T10:00:00.1234567Z', '+00:00', no fraction) as a UTC datetime."""
    text = _FRACTION.sub(r"\1", stamp.strip().replace("Z", "+00:00"))
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


def overwritten_revisions(
    pre: dict[str, Any], ours: str | None, revisions: list[Revision]
) -> list[tuple[str, list[str]]]:
    """Revisions someone else made between apply's read of the app (`pre`, whose latest revision was
    then the newest) and its write, with the containers each changed. Apply's PATCH carried the
    containers as read, so it replaced such a revision's template: it must be said, never passed over.
    `ours` is the revision apply's write made (None when it made none). Returns (revision name,
    changed container parts)."""
    before = (pre.get("properties") or {}).get("latestRevisionName")
    read = next((r for r in revisions if before and r.name.lower() == before.lower()), None)
    since = arm_time(read.created) if read is not None else None
    if since is None:
        return []
    containers = ((pre.get("properties") or {}).get("template") or {}).get("containers") or []
    found = []
    for revision in revisions:
        created = arm_time(revision.created)
        if created is None or created <= since or (ours and revision.name.lower() == ours.lower()):
            continue
        theirs = {"properties": {"template": {"containers": list(revision.containers)}}}
        mine = {"properties": {"template": {"containers": containers}}}
        changed = foreign_changes(mine, {}, theirs)
        found.append((revision.name, changed))
    return sorted(found, key=lambda r: r[0])
