"""F1 (or ?): what the step on screen does in Azure, and why, in a few lines, over the screen."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from ..widgets.cued_scroll import CuedScroll
from ..widgets.prose import Prose


class HelpModal(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(self, title: str, text: str, portal: str = "") -> None:
        """`text` is console markup written by us (never data from Azure)."""
        super().__init__()
        self.title_text, self.text, self.portal = title, text, portal

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Prose(f"[b]{escape(self.title_text)}[/]", id="help-title")
            with CuedScroll(id="help-body", readable=True):
                yield Prose(self.text, id="help-text")
                if self.portal:
                    yield Prose(f"[b]In the portal[/]  {escape(self.portal)}", id="help-portal")
            yield Button("Close (escape)", id="help-close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#help-close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
