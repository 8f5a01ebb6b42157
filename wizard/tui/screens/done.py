"""Step 7: what the runner needs to know, and the verify checklist."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from .base import WizardScreen

MARKS = {"ok": "[green]✓[/]", "warning": "[yellow]![/]", "problem": "[red]✗[/]"}


class DoneScreen(WizardScreen):
    STEP = 6
    TITLE = "Done: the runner can sign in as its identity"
    PORTAL = "Managed Identities → <identity> → Overview (Client ID)"

    def next_label(self) -> str:
        return "Quit"

    def body(self) -> ComposeResult:
        outcome = self.state.outcome
        identity = outcome.identity if outcome else None
        app = outcome.app if outcome else None
        with VerticalScroll():
            if identity is not None:
                with Horizontal(classes="copy-row"):
                    yield Static(f"Client ID     [b]{identity.client_id}[/]", classes="copy-value")
                    yield Button("Copy", id="copy-client")
                with Horizontal(classes="copy-row"):
                    yield Static(f"Principal ID  [b]{identity.principal_id}[/]", classes="copy-value")
                    yield Button("Copy", id="copy-principal")
                yield Static(f"Identity      {escape(identity.id)}")
            if app is not None:
                yield Static(f"Container app {escape(app.id)}")
                yield Static(f"Revision      {escape(app.latest_revision or '')}")
            if outcome is not None and outcome.journal:
                yield Static(f"Journal       {escape(str(outcome.journal))}")
            yield Static("\n[b]Verify[/]")
            for check in outcome.checks if outcome else []:
                detail = f": {escape(check.detail)}" if check.detail else ""
                yield Static(f"{MARKS[check.status]} {escape(check.name)}{detail}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        outcome = self.state.outcome
        if event.button.id in ("copy-client", "copy-principal") and outcome and outcome.identity:
            event.stop()
            value = outcome.identity.client_id if event.button.id == "copy-client" else outcome.identity.principal_id
            self.app.copy_to_clipboard(value)
            self.notify(f"Copied {value}")
            return
        super().on_button_pressed(event)

    def action_back(self) -> None:
        return  # what was written stays written: roll back from the journal if needed

    def action_next(self) -> None:
        outcome = self.state.outcome
        self.app.exit(0 if outcome is None or outcome.ok else 1)
