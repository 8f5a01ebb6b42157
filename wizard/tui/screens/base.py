"""What every wizard step shares: its title, where the step lives in the portal, the sandbox
banner, Back/Next, and the footer with the key bindings."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, LoadingIndicator, Static

from ..app import CatalogLoaded
from ..widgets.filter_list import FilterList

if TYPE_CHECKING:
    from ...catalog import Catalog
    from ..app import RunnerIdentityApp
    from ..state import WizardState

STEPS = ["Sign in", "Identity", "Roles", "Container app", "Review", "Apply", "Done"]


class WizardScreen(Screen[None]):
    STEP = 0
    TITLE = ""
    PORTAL = ""  # where the same step lives in the Azure portal
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
    ]

    @property
    def wizard(self) -> RunnerIdentityApp:
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    def compose(self) -> ComposeResult:
        if self.wizard.sandbox_banner:
            yield Static(self.wizard.sandbox_banner, classes="banner")
        trail = "  ›  ".join(f"[b]{s}[/]" if i == self.STEP else f"[dim]{s}[/]" for i, s in enumerate(STEPS))
        yield Static(trail, classes="trail")
        yield Static(f"[b]{self.TITLE}[/]", classes="title")
        if self.PORTAL:
            yield Static(f"In the portal: {self.PORTAL}", classes="portal")
        with Vertical(classes="body"):
            yield from self.body()
        with Horizontal(classes="nav"):
            yield Button("Back", id="back", classes="back")
            yield Static(classes="status", id="status")
            yield Button(self.next_label(), id="next", variant="primary")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def next_label(self) -> str:
        return "Next"

    def say(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_next(self) -> None:
        problem = self.validate()
        if problem:
            self.say(f"[red]{problem}[/]")
            self.app.bell()
            return
        nxt = self.next_screen()
        if nxt is not None:
            self.app.push_screen(nxt)

    def validate(self) -> str | None:
        return None

    def next_screen(self) -> Screen[None] | None:
        return None


class CatalogScreen(WizardScreen):
    """A step whose main list comes from the subscription's catalog: it shows a loading indicator
    until the catalog arrives (it was requested when the subscription was chosen), then the list."""

    LIST_ID = "list"

    def list_column(self, label: str, placeholder: str) -> ComposeResult:
        with Vertical(classes="column"):
            yield Label(label)
            yield LoadingIndicator(id="loading")
            yield FilterList(placeholder, id=self.LIST_ID)

    def on_mount(self) -> None:
        self.query_one(f"#{self.LIST_ID}").display = False
        self.mounted()
        self._catalog_arrived()

    def on_catalog_loaded(self, _message: CatalogLoaded) -> None:
        self._catalog_arrived()

    def _catalog_arrived(self) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        self.query_one("#loading").display = False
        self.query_one(f"#{self.LIST_ID}").display = True
        self.show_catalog(catalog)

    def mounted(self) -> None:
        """Set-up beyond the list, once the screen is mounted."""

    def show_catalog(self, catalog: Catalog) -> None:
        raise NotImplementedError
