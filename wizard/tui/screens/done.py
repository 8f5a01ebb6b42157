"""Step 7: what the runner needs to know, and the verify checklist."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from .base import WizardScreen

MARKS = {"ok": "[$text-success]✓[/]", "warning": "[$text-warning]![/]", "problem": "[$text-error]✗[/]"}


class DoneScreen(WizardScreen):
    STEP = 6
    TITLE = "Done: the runner can sign in as its identity"
    PORTAL = "Managed Identities → <identity> → Overview (Client ID)"
    SHOW_BACK = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Quit", priority=True),
        Binding("c", "copy('client')", "Copy client ID"),
        Binding("p", "copy('principal')", "Copy principal ID"),
    ]

    def next_label(self) -> str:
        return "Quit"

    def body(self) -> ComposeResult:
        outcome = self.state.outcome
        identity = outcome.identity if outcome else None
        app = outcome.app if outcome else None
        with VerticalScroll(id="done"):
            if identity is not None:
                with Horizontal(classes="copy-row"):
                    yield Static(f"Client ID     [b]{identity.client_id}[/]", classes="copy-value")
                    yield Button("Copy (c)", id="copy-client", compact=True)
                with Horizontal(classes="copy-row"):
                    yield Static(f"Principal ID  [b]{identity.principal_id}[/]", classes="copy-value")
                    yield Button("Copy (p)", id="copy-principal", compact=True)
            if app is not None:
                revision = app.latest_revision or "(Azure has not named it yet)"
                yield Static(f"New revision  {escape(revision)}", classes="copy-row")
            yield Static("[b]Verify[/]", classes="checks-title")
            checks = outcome.checks if outcome else []
            for check in checks:
                detail = f": {escape(check.detail)}" if check.detail else ""
                yield Static(f"{MARKS.get(check.status, '?')} {escape(check.name)}{detail}", classes="check")
            if not checks:
                yield Static("[dim]No checks ran.[/]", classes="check")
            if identity is not None:
                yield Static(f"[b]Identity[/]\n{escape(identity.id)}", classes="resource-id")
            if app is not None:
                yield Static(f"[b]Container app[/]\n{escape(app.id)}", classes="resource-id")
            if outcome is not None and outcome.journal:
                yield Static(f"[b]Journal[/]\n{escape(str(outcome.journal))}", id="journal", classes="resource-id")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("copy-client", "copy-principal"):
            event.stop()
            self.action_copy("client" if event.button.id == "copy-client" else "principal")

    def action_copy(self, which: str) -> None:
        outcome = self.state.outcome
        if outcome is None or outcome.identity is None:
            return
        value = outcome.identity.client_id if which == "client" else outcome.identity.principal_id
        self.app.copy_to_clipboard(value)
        self.notify(f"{value}", title=f"Copied the {which} ID", timeout=4)

    def action_next(self) -> None:
        outcome = self.state.outcome
        self.app.exit(0 if outcome is None or outcome.ok else 1)
