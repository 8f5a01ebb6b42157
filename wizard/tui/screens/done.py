"""Step 7: what the runner needs to know, and the verify checklist."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button

from ..messages import QuitRequested
from ..text import az
from ..widgets.cued_scroll import CuedScroll
from ..widgets.prose import Prose
from .base import WizardScreen

MARKS = {"ok": "[$text-success]✓[/]", "warning": "[$text-warning]![/]", "problem": "[$text-error]✗[/]"}


class DoneScreen(WizardScreen):
    TITLE = "Done: the runner can sign in as its identity"
    PORTAL = "Managed Identities → <identity> → Overview (Client ID)"
    HELP = (
        "The runner's container now has AZURE_CLIENT_ID set to the identity's [b]client ID[/], and "
        "the app can sign in as that identity: the Azure SDK's DefaultAzureCredential in the "
        "runner picks it up, with no secret anywhere. The roles were assigned to its "
        "[b]principal ID[/].\n\n"
        "The variable took effect in a [b]new revision[/] of the app: new replicas started with it "
        "and took the traffic. If apply found everything already in place, no revision was made.\n\n"
        "The checks below were read back from Azure after the writes. `runner-identity verify` "
        "runs them again at any time; the journal records what this run wrote."
    )
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
        with CuedScroll(id="done", readable=True):
            if identity is not None:
                with Horizontal(classes="copy-row"):
                    yield Prose(f"Client ID     [b]{az(identity.client_id)}[/]", classes="copy-value")
                    yield Button("Copy (c)", id="copy-client", compact=True)
                with Horizontal(classes="copy-row"):
                    yield Prose(f"Principal ID  [b]{az(identity.principal_id)}[/]", classes="copy-value")
                    yield Button("Copy (p)", id="copy-principal", compact=True)
            if app is not None:
                revision = az(app.latest_revision) if app.latest_revision else "(Azure has not named it yet)"
                if self._made_a_revision():
                    yield Prose(f"New revision  {revision}", classes="copy-row")
                else:
                    yield Prose(f"Revision      {revision} [dim](unchanged: nothing to change)[/]", classes="copy-row")
            yield Prose("[b]Verify[/]", classes="checks-title")
            checks = outcome.checks if outcome else []
            for check in checks:
                detail = f": {az(check.detail)}" if check.detail else ""
                yield Prose(f"{MARKS.get(check.status, '?')} {az(check.name)}{detail}", classes="check")
            if not checks:
                yield Prose("[dim]No checks ran.[/]", classes="check")
            if identity is not None:
                yield Prose(f"[b]Identity[/]\n{az(identity.id)}", classes="resource-id")
            if app is not None:
                yield Prose(f"[b]Container app[/]\n{az(app.id)}", classes="resource-id")
            if outcome is not None and outcome.journal:
                yield Prose(f"[b]Journal[/]\n{az(str(outcome.journal))}", id="journal", classes="resource-id")

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

    def _made_a_revision(self) -> bool:
        """Did this run change the container's variables (which makes a new revision)?"""
        outcome = self.state.outcome
        env = outcome.step_plan.step("env") if outcome is not None else None
        return env is not None and env.writes and outcome.status == "applied"

    def action_next(self) -> None:
        self.post_message(QuitRequested())
