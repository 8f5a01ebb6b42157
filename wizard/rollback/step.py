"""One rollback step (`restore`, `unlink`, `delete`, or `keep` with the reason), as every step
builder makes it and the CLI and the wizard show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RollbackStep:
    key: str  # "env" | "link" | "tags" | "identity" | "role:<assignment id>"
    kind: str  # "env" | "link" | "tags" | "identity" | "role"
    action: str  # "restore" | "unlink" | "delete" | "keep"
    target: str  # the resource id it acts on
    summary: str
    reason: str = ""  # what it undoes, or why it is kept
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    holds: bool = False  # keep only: the run's write stays in force because something uses it
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return self.action != "keep"


def keep(key: str, target: str, what: str, reason: str, holds: bool = False) -> RollbackStep:
    """A step that leaves `what` as it is, saying why; `holds`: the run's write stays in force."""
    return RollbackStep(key, key.split(":")[0], "keep", target, f"keep {what}", reason, holds=holds)
