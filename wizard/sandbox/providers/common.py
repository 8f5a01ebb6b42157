"""Lookups every provider needs: the subscription and resource group a path names."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..arm import ArmError, Ctx


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def require_subscription(ctx: Ctx, sub: str) -> dict[str, Any]:
    found = ctx.sandbox.store.subscriptions.get(sub.lower())
    if found is None:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
    return found


def group_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def require_group(ctx: Ctx, sub: str, rg: str) -> dict[str, Any]:
    require_subscription(ctx, sub)
    found = ctx.sandbox.store.get(group_id(sub, rg))
    if found is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return found


def canonical_id(ctx: Ctx, sub: str, rg: str) -> str:
    """The group's id spelled as it was created (ARM answers in the stored casing)."""
    return str(require_group(ctx, sub, rg)["id"])


def _fold_tags(tags: dict[str, str], writes: dict[str, Any]) -> dict[str, str]:
    """`tags` with `writes` applied the way ARM keys tags: names without regard to case (a write to
    `Owner` where `owner` exists replaces that tag and keeps the name as first written), values as
    given, a null value removing the tag."""
    result = dict(tags)
    names = {name.lower(): name for name in result}
    for name, value in writes.items():
        kept = names.get(name.lower())
        if value is None:
            if kept is not None:
                del result[kept]
                del names[name.lower()]
            continue
        if kept is None:
            names[name.lower()] = kept = name
        result[kept] = value
    return result


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 50:
        raise ArmError(400, "InvalidTagCount", "A resource can have at most 50 tags.")
    for name, value in tags.items():
        if not name or len(name) > 512 or any(c in name for c in "<>%&\\?/"):
            raise ArmError(
                400,
                "InvalidTagNameCharacters",
                f"The tag name '{name}' has invalid characters '<,>,%,&,\\,?,/' or is longer than 512 characters.",
            )
        if len(value) > 256:
            raise ArmError(400, "InvalidTagValueLength", f"The value of tag '{name}' is longer than 256 characters.")
    return tags


def validate_tags(tags: Any) -> dict[str, str]:
    """The tags a PUT (or a PATCH that replaces them) sets, as ARM keeps them: names case-insensitive,
    so `{"Owner": "a", "owner": "b"}` is one tag `Owner` = `b`. Raises ArmError 400 on a non-string
    value, more than 50 tags, a bad name or a value over 256 characters (ARM's tag limits)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ArmError(400, "InvalidTag", "Tags must be an object of string names to string values.")
    return _check_tags(_fold_tags({}, tags))


def merge_tags(current: dict[str, str], patch: Any) -> dict[str, str]:
    """The tags after a merge (a JSON merge-patch of `tags`): names matched without regard to case,
    the existing name's casing kept, values replaced, a null value deleting the tag. Raises like
    validate_tags."""
    if patch is None:
        return {}
    if not isinstance(patch, dict) or not all(v is None or isinstance(v, str) for v in patch.values()):
        raise ArmError(400, "InvalidTag", "Tags must be an object of string names to string values.")
    return _check_tags(_fold_tags(current, patch))


def created_stamp(ctx: Ctx) -> dict[str, str]:
    """ARM's systemData for a resource the signed-in caller creates now."""
    stamp = now_iso()
    who = ctx.sandbox.store.caller.get("upn", "admin@sandbox.onmicrosoft.com")
    return {
        "createdBy": who,
        "createdByType": "User",
        "createdAt": stamp,
        "lastModifiedBy": who,
        "lastModifiedByType": "User",
        "lastModifiedAt": stamp,
    }


def modified_stamp(ctx: Ctx, resource: dict[str, Any]) -> None:
    """Record an update in the resource's systemData. Resources a scenario seeded carry none, and
    updating one of them must not depend on it."""
    stamp = resource.setdefault("systemData", {})
    stamp["lastModifiedBy"] = ctx.sandbox.store.caller.get("upn", "admin@sandbox.onmicrosoft.com")
    stamp["lastModifiedByType"] = "User"
    stamp["lastModifiedAt"] = now_iso()
