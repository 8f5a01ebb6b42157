"""Roll back: the rollback's steps, to confirm before anything is undone. The list is the one
`runner-identity rollback` prints (wizard/rollback/render.py renders both), styled by what each line is.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button

from ...rollback import RollbackPlan, render_text
from ..widgets.prose import Prose

# Theme variables for each kind of line (wizard/rollback/render.py: plan_lines, then outcome_lines).
STYLES = {
    "restore": "$text-warning",
    "unlink": "$text-error",
    "delete": "$text-error",
    "keep": "$text-accent",
    "warning": "$text-warning",
    "problem": "$text-error",
    "detail": "$text-muted",
    "done": "$text-success",
    "failed": "$text-error",
    "not run": "$text-warning",
    "skipped": "$text-warning",
    "kept": "$text-accent",
}


def styled(kind: str, text: str) -> str:
    """One line of the plan as Textual markup."""
    colour = STYLES.get(kind)
    return f"[{colour}]{escape(text)}[/]" if colour and text else escape(text)


class RollbackConfirm(ModalScreen[bool]):
    """The steps of a rollback plan; Yes (y) does exactly them. A plan that is refused or has nothing
    to undo can only be closed."""

    CSS_PATH = "rollback_confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "dismiss(False)", "No"),
        Binding("y", "confirm", "Yes"),
    ]

    def __init__(self, plan: RollbackPlan) -> None:
        super().__init__()
        self.plan = plan
        self.can_confirm = plan.writes and not plan.problems

    def compose(self) -> ComposeResult:
        with Vertical(id="rollback-dialog"):
            question = "Roll back this run? Exactly these steps:" if self.can_confirm else "Roll back this run:"
            yield Prose(question, id="rollback-question")
            with VerticalScroll(id="rollback-steps"):
                yield Prose(render_text(self.plan, styled), id="rollback-list")
            with Horizontal(id="rollback-answers"):
                yield Button("Cancel (n)" if self.can_confirm else "Close (n)", id="no", compact=True)
                if self.can_confirm:
                    yield Button("Roll back (y)", id="yes", variant="warning", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_confirm(self) -> None:
        if self.can_confirm:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes" and self.can_confirm)
