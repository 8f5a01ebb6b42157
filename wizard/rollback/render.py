"""The rollback plan and its outcome as lines (kind, text) the CLI prints and the wizard styles, the
plan as text, and the CLI's --json. Every text passes `text.for_terminal`: what Azure or the journal
holds has its control characters escaped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..text import for_terminal
from .outcome import RollbackOutcome, StepOutcome
from .plan import RollbackPlan

MARKS = {"restore": "~", "unlink": "-", "delete": "-", "keep": "="}


Style = Callable[[str, str], str]


def plan_lines(plan: RollbackPlan) -> list[tuple[str, str]]:
    """The plan as (kind, text) lines, kind being the step's action ("restore", "unlink", "delete",
    "keep") or "detail", "warning", "problem", "note": the CLI prints the text, the wizard styles it.
    Each text is safe to print: what Azure or the journal holds has its control characters escaped."""
    return [(kind, for_terminal(text)) for kind, text in _plan_lines(plan)]


def _plan_lines(plan: RollbackPlan) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for step in plan.steps:
        text = f"{MARKS[step.action]} {step.summary}"
        lines.append((step.action, f"{text}: {step.reason}" if step.action == "keep" else text))
        lines += [("detail", f"    {d}") for d in step.details]
        lines += [("warning", f"    ! {w}") for w in step.warnings]
    if plan.problems:
        lines.append(("note", ""))
        lines.append(("problem", "Cannot roll back:"))
        lines += [("problem", f"  x {p}") for p in plan.problems]
    kept = sum(1 for s in plan.steps if not s.writes)
    undo = len(plan.steps) - kept
    lines.append(("note", ""))
    if plan.problems:
        lines.append(("note", "Nothing was changed."))
    elif not undo:
        left = "what is left is kept, as above" if kept else "nothing this run wrote is left in Azure"
        lines.append(("note", f"Nothing to undo: {left}."))
    else:
        lines.append(("note", f"{undo} to undo, {kept} kept."))
    return lines


def render_text(plan: RollbackPlan, style: Style | None = None) -> str:
    """The plan as text, each line passed through `style(kind, text)` when given (see plan_lines)."""
    return "\n".join(style(kind, text) if style else text for kind, text in plan_lines(plan))


def outcome_lines(outcome: RollbackOutcome) -> list[tuple[str, str]]:
    """What the rollback did, as (result, text) lines: one per step, then a summary ("note"); each
    text safe to print (control characters escaped)."""
    lines = []
    for step in outcome.plan.steps:
        result = outcome.results.get(step.key, StepOutcome("not run"))
        note = f": {result.message}" if result.message else ""
        lines.append((result.status, for_terminal(f"  {result.status:<8} {step.summary}{note}")))
    kept = " What is kept stays, for the reason given." if any(not s.writes for s in outcome.plan.steps) else ""
    summary = {
        "rolled back": f"Rolled back: every write above is undone.{kept}",
        "nothing to undo": f"Nothing to undo.{kept}",
        "refused": "Refused: nothing was changed.",
        "incomplete": "Rollback incomplete: something changed since the list was shown. Run rollback again to see it.",
        "failed": "Rollback incomplete: a step failed. Run rollback again to continue.",
    }[outcome.status]
    if outcome.conflicts:
        said = "; ".join(outcome.conflicts)
        lines.append(
            (
                "problem",
                for_terminal(
                    f"  ! someone else changed the container app while rollback wrote it: {said}. Container Apps "
                    "have no ETag, so such a write cannot be held off; rollback changed nothing more: review these "
                    "in the portal (the app's Activity log)"
                ),
            )
        )
    return [*lines, ("note", summary)]


def to_json(plan: RollbackPlan, status: str, outcome: RollbackOutcome | None = None) -> dict[str, Any]:
    """The plan (and what became of each step) as the CLI's --json prints it: `status`, `journal`,
    `problems`, `steps`, and `conflicts` (someone else's writes to the app) only when there are any."""
    results = outcome.results if outcome else {}
    conflicts = {"conflicts": outcome.conflicts} if outcome and outcome.conflicts else {}
    return {
        "status": status,
        "journal": str(plan.run.path),
        "problems": plan.problems,
        **conflicts,
        "steps": [
            {
                "action": s.action,
                "kind": s.kind,
                "target": s.target,
                "summary": s.summary,
                "reason": s.reason,
                "warnings": s.warnings,
                "result": results[s.key].status if s.key in results else None,
            }
            for s in plan.steps
        ],
    }
