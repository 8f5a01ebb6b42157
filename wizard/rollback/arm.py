"""The pieces of ARM's JSON rollback reads: a resource id's name, a GUID, and a container's env as
the runtime reads it (the last entry of a name wins; Container Apps REST spec, `template.containers[].env`)."""

from __future__ import annotations

import re
from typing import Any

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def resource_name(resource_id: str) -> str:
    """The last segment of an ARM resource id (the resource's name): `.../userAssignedIdentities/x` -> `x`."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def guid(value: Any) -> bool:
    """Whether `value` is a string in GUID form (8-4-4-4-12 hex digits), as client and principal IDs are."""
    return isinstance(value, str) and bool(GUID.match(value))


def last_index(env: list[dict[str, Any]], name: str) -> int | None:
    """Where the variable `name` is in a container's env: its last entry, the one the runtime uses and
    apply changes (a name may be listed twice; the earlier entries are left as they are)."""
    return max((i for i, v in enumerate(env) if v.get("name") == name), default=None)


def last(env: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The entry of variable `name` in a container's env the runtime uses (see last_index), or None."""
    index = last_index(env, name)
    return None if index is None else env[index]


def container_env(raw: dict[str, Any], container: str) -> list[dict[str, Any]] | None:
    """A copy of the env list of the container named `container` in the app `raw` (as ARM returns it),
    [] when it has none, or None when the app has no such container."""
    for entry in ((raw.get("properties") or {}).get("template") or {}).get("containers") or []:
        if entry.get("name") == container:
            return list(entry.get("env") or [])
    return None
