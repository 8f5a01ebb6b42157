"""What became of a rollback and each of its steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from .plan import RollbackPlan


@dataclass
class StepOutcome:
    status: str  # "done" | "failed" | "not run" | "skipped" | "kept"
    message: str = ""


@dataclass
class RollbackOutcome:
    plan: RollbackPlan
    status: str  # "rolled back" | "nothing to undo" | "refused" | "incomplete" | "failed"
    results: dict[str, StepOutcome] = field(default_factory=dict)
    # Someone else's writes to the app between rollback's read and the end of its PATCH (apply.foreign_writes).
    conflicts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("rolled back", "nothing to undo") and not self.conflicts
