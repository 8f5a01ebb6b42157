"""The sandbox's resources, kept as the ARM JSON they are served as, keyed by lower-cased id.

Everything is one JSON-serialisable document so a rehearsal can be saved after each write
(atomically: a temporary file renamed over the old one) and reloaded at the next start.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


@dataclass
class Principal:
    """A directory object the sandbox knows: the signed-in caller or a managed identity's service principal."""

    object_id: str
    kind: str  # "User" | "ServicePrincipal"
    display_name: str
    created: float = field(default_factory=time.time)


@dataclass
class Store:
    tenant_id: str
    caller: dict[str, str]  # object_id, display_name, upn
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Data ARM never returns from a GET (secret values, revision history), keyed like resources.
    hidden: dict[str, dict[str, Any]] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
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
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Store:
        if doc.get("format") != FORMAT_VERSION:
            raise ValueError(f"sandbox state format {doc.get('format')!r} is not {FORMAT_VERSION}")
        return cls(
            tenant_id=doc["tenant_id"],
            caller=doc["caller"],
            subscriptions=doc["subscriptions"],
            resources=doc["resources"],
            hidden=doc["hidden"],
            principals={k: Principal(**p) for k, p in doc["principals"].items()},
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_json(), fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.dirty = False

    @classmethod
    def load(cls, path: Path) -> Store:
        with path.open(encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))
