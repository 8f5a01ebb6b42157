"""The sandbox's resources, kept as the ARM JSON they are served as, keyed by lower-cased id.

Everything is one JSON-serialisable document so a rehearsal can be saved after each write
(atomically, see statefile.py) and reloaded at the next start: the resources, the directory's
principals, and the long-running operations with what each one finishes into, so a restart in the
middle of one neither loses it nor leaves its resource InProgress for good.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .statefile import write_atomically

FORMAT_VERSION = 1
# Ended operations kept so a client polling one late still gets its answer; the oldest go first.
ENDED_OPERATIONS_KEPT = 1000


@dataclass
class Principal:
    """A directory object the sandbox knows: the signed-in caller or a managed identity's service principal."""

    object_id: str
    kind: str  # "User" | "ServicePrincipal"
    display_name: str
    created: float = field(default_factory=time.time)


@dataclass
class Operation:
    """A long-running operation: polled until `polls_left` reaches zero, then ends in `outcome`."""

    id: str
    resource_id: str
    polls_left: int
    outcome: str  # "Succeeded" | "Failed"
    kind: str = "write"  # "write" | "delete" | "foreign" (someone else's update: the busy fault)
    status: str = "InProgress"
    start_time: str = ""
    end_time: str | None = None
    error: dict[str, str] | None = None
    # What to restore if the operation fails: the resource as it was before the write.
    pre_image: dict[str, Any] | None = None
    # The fault holding a foreign operation InProgress; it lives only as long as the process.
    held_by: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "held_by"}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Operation:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


# The top-level fields of a state file and their JSON types ("operations" may be missing: files saved
# before operations were kept have none).
_STATE_SHAPE: dict[str, type] = {
    "tenant_id": str,
    "caller": dict,
    "subscriptions": dict,
    "resources": dict,
    "hidden": dict,
    "principals": dict,
}
_JSON_NAMES = {str: "string", dict: "object"}


@dataclass
class Store:
    tenant_id: str
    caller: dict[str, str]  # object_id, display_name, upn
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Data ARM never returns from a GET (secret values, revision history), keyed like resources.
    hidden: dict[str, dict[str, Any]] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    # Long-running operations by id, pending and recently ended, in the order they started.
    operations: dict[str, Operation] = field(default_factory=dict)
    dirty: bool = False

    # -- resources ------------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_id.lower())

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources[resource["id"].lower()] = resource
        self.dirty = True
        return resource

    def delete(self, resource_id: str) -> dict[str, Any] | None:
        key = resource_id.lower()
        self.hidden.pop(key, None)
        removed = self.resources.pop(key, None)
        if removed is not None:
            self.dirty = True
        return removed

    def delete_tree(self, prefix: str) -> None:
        """Remove a resource and everything under it (a resource group and its resources)."""
        root = prefix.lower()
        for key in [k for k in self.resources if k == root or k.startswith(root + "/")]:
            self.delete(key)

    def of_type(self, resource_type: str, under: str = "") -> Iterator[dict[str, Any]]:
        """Resources of one type whose id lies under `under` (a subscription, group or resource)."""
        wanted = resource_type.lower()
        prefix = under.lower().rstrip("/") + "/" if under else ""
        for key, res in self.resources.items():
            if res.get("type", "").lower() == wanted and key.startswith(prefix):
                yield res

    def hidden_for(self, resource_id: str) -> dict[str, Any]:
        return self.hidden.setdefault(resource_id.lower(), {})

    def touch(self) -> None:
        self.dirty = True

    # -- principals -----------------------------------------------------------------------------
    def add_principal(self, principal: Principal) -> Principal:
        self.principals[principal.object_id.lower()] = principal
        self.dirty = True
        return principal

    def principal(self, object_id: str) -> Principal | None:
        return self.principals.get(object_id.lower())

    # -- operations -----------------------------------------------------------------------------
    def add_operation(self, op: Operation) -> Operation:
        self.operations[op.id] = op
        ended = [k for k, o in self.operations.items() if o.status != "InProgress"]
        for key in ended[: max(0, len(ended) - ENDED_OPERATIONS_KEPT)]:
            del self.operations[key]
        self.dirty = True
        return op

    def pending_operations(self, resource_id: str) -> list[Operation]:
        """The operations on this resource still InProgress, oldest first."""
        key = resource_id.lower()
        return [o for o in self.operations.values() if o.status == "InProgress" and o.resource_id.lower() == key]

    # -- persistence ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "tenant_id": self.tenant_id,
            "caller": self.caller,
            "subscriptions": self.subscriptions,
            "resources": self.resources,
            "hidden": self.hidden,
            "principals": {k: vars(p) for k, p in self.principals.items()},
            "operations": {k: o.to_json() for k, o in self.operations.items()},
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Store:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
            found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise ValueError(f"sandbox state format {found!r} is not {FORMAT_VERSION}")
        for key, kind in _STATE_SHAPE.items():
            if not isinstance(doc.get(key), kind):
                raise ValueError(f"sandbox state field {key!r} is missing or not a JSON {_JSON_NAMES[kind]}")
        if not isinstance(doc.get("operations", {}), dict):
            raise ValueError("sandbox state field 'operations' is not a JSON object")
        return cls(
            tenant_id=doc["tenant_id"],
            caller=doc["caller"],
            subscriptions=doc["subscriptions"],
            resources=doc["resources"],
            hidden=doc["hidden"],
            principals={k: Principal(**p) for k, p in doc["principals"].items()},
            # Files saved before operations were kept have none: nothing was pending in them.
            operations={k: Operation.from_json(o) for k, o in (doc.get("operations") or {}).items()},
        )

    def save(self, path: Path) -> None:
        write_atomically(path, json.dumps(self.to_json(), separators=(",", ":")).encode("utf-8"))
        self.dirty = False

    @classmethod
    def load(cls, path: Path) -> Store:
        with path.open(encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))
