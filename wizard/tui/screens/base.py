"""What every wizard step shares: the sandbox banner, where the admin is in the flow, the step's
title and where it lives in the Azure portal, Back/Next with a status line, help, and the footer.

A step never imports another: Next posts `NextStep`, Back posts `PreviousStep`, and the app,
which owns the flow (flow.py), shows the step that follows.

Keys (the footer shows them): ctrl+n Next, escape (or ctrl+b) Back, / to the filter, ctrl+r to
reload the subscription's lists, F1 (or ? outside a text box) for what the step does, ctrl+q
to quit (asking first when anything would be lost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from ..messages import CatalogFailed, CatalogLoaded, NextStep, PreviousStep
from ..widgets.filter_list import FilterList
from ..widgets.footer import Footer
from ..widgets.prose import Prose
from .help import HelpModal

if TYPE_CHECKING:
    from ...catalog import Catalog
    from ..host import WizardHost
    from ..state import WizardState


def trail(names: list[str], current: int) -> str:
    """Where the admin is: the steps behind (✓), the step now (bold, underlined), the steps ahead
    (dim). Marked by more than colour, so it reads in 16 colours and with NO_COLOR too."""
    parts = []
    for i, name in enumerate(names):
        if i < current:
            parts.append(f"[$text-success]✓ {name}[/]")
        elif i == current:
            parts.append(f"[b u $text-accent]{name}[/]")
        else:
            parts.append(f"[dim]{name}[/]")
    return " [dim]›[/] ".join(parts)


class WizardScreen(Screen[None]):
    TITLE = ""
    PORTAL = ""  # where the same step lives in the Azure portal
    HELP = ""  # what this step does in Azure, and why (console markup): F1 shows it
    SHOW_BACK = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
        Binding("ctrl+b", "back", "Back", show=False, priority=True),
        Binding("slash", "focus_filter", "Filter"),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    @property
    def wizard(self) -> WizardHost:
        return cast("WizardHost", self.app)

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    @property
    def step(self) -> int:
        return self.wizard.step_index(self)

    def compose(self) -> ComposeResult:
        if self.wizard.sandbox_banner:
            yield Prose(self.wizard.sandbox_banner, classes="banner")
        # One widget for three lines: each widget costs a screen time to open.
        lines = [trail(self.wizard.step_names(), self.step), f"[b $text-accent]{escape(self.TITLE)}[/]"]
        if self.PORTAL:
            lines.append(f"[i $text-muted]In the portal: {escape(self.PORTAL)}[/]")
        yield Prose("\n".join(lines), classes="heading")
        with Vertical(classes="body"):
            yield from self.body()
        with Horizontal(classes="nav"):
            back = Button("‹ Back", id="back", compact=True, classes="back")
            back.display = self.can_go_back()
            yield back
            yield Prose(classes="status", id="status")
            yield Button(self.next_label(), id="next", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO: subclasses override mounted() instead.
        self.mounted()

    def mounted(self) -> None:
        """Set-up once the screen is mounted."""

    def body(self) -> ComposeResult:
        yield from ()

    def next_label(self) -> str:
        return "Next ›"

    def say(self, text: str) -> None:
        """The status line, between Back and Next: what is wrong, or what just happened (markup)."""
        self.query_one("#status", Static).update(text)

    def can_go_back(self) -> bool:
        return self.SHOW_BACK and self.step > 0

    # -- keys and buttons ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_filter":
            return any(f.display for f in self.query(FilterList))
        if action == "back":
            return self.can_go_back()
        return True

    def action_focus_filter(self) -> None:
        lists = [f for f in self.query(FilterList) if f.display]
        if lists:
            lists[0].query_one(Input).focus()

    def action_help(self) -> None:
        """What this step does in Azure and why, with the portal path it replaces."""
        if self.HELP:
            self.app.push_screen(HelpModal(self.TITLE, self.HELP, self.PORTAL))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        # Textual calls this after a subclass's own on_button_pressed: each handles its own buttons.
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def action_back(self) -> None:
        if self.can_go_back():
            self.keep()
            self.post_message(PreviousStep(self))

    def action_next(self) -> None:
        problem = self.validate()
        if problem:
            self.say(f"[$text-error]✗ {escape(problem)}[/]")
            self.app.bell()
            return
        self.keep()
        self.post_message(NextStep(self))

    def keep(self) -> None:
        """Write what the admin entered on this screen into the state (before leaving it)."""

    def validate(self) -> str | None:
        return None


class CatalogScreen(WizardScreen):
    """A step whose main list comes from the subscription's catalog: the list shows Textual's
    loading indicator until the catalog arrives (it was requested when the subscription was
    chosen); if loading failed, why, and ctrl+r to try again."""

    LIST_ID = "list"
    SHOWS: ClassVar[tuple[str, ...]] = ()  # the catalog's long lists (Catalog fields) this screen shows
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+r", "reload", "Reload lists")]

    def list_column(self, label: str, placeholder: str, detail: bool = False) -> ComposeResult:
        """The catalog's list: a label, the filterable list; with `detail`, a
        line under it about the highlighted item (see on_option_list_option_highlighted)."""
        with Vertical(classes="column list-column"):
            yield Label(label, classes="first")
            error = Prose("", id="catalog-error", classes="error")
            error.display = False  # set before mounting: each change after it restyles the screen
            yield error
            yield FilterList(placeholder, id=self.LIST_ID)
            if detail:
                yield Prose("", id="detail")

    def mounted(self) -> None:
        self.setup()
        if self.state.catalog is None:
            self._loading_part().loading = True
            if self.state.subscription:
                self.wizard.load_catalog(self.state.subscription)  # already loading, usually: then a no-op
        self._catalog_arrived()

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        if message.grown is None:
            self._catalog_arrived()
        elif message.grown in self.SHOWS and message.catalog is self.state.catalog:
            # A long list is whole now: shown again where the admin is, the focus left where it was.
            focused = self.app.focused
            self.show_catalog(message.catalog)
            if focused is not None and focused.is_attached and focused is not self.app.focused:
                focused.focus()

    def on_catalog_failed(self, message: CatalogFailed) -> None:
        self._loading_part().loading = False
        error = self.query_one("#catalog-error", Static)
        error.display = True
        error.update(f"[$text-error]✗ {escape(message.text)}[/]\n\nctrl+r tries again.")

    def action_reload(self) -> None:
        """Read the subscription's lists again (after a change made in the portal, or a failure)."""
        sub = self.state.subscription
        if sub is None:
            return
        self.state.catalogs.pop(sub, None)
        self.state.catalog = None
        self.query_one("#catalog-error").display = False
        self._loading_part().loading = True
        self.wizard.load_catalog(sub)

    def _loading_part(self) -> Widget:
        """What shows the loading indicator: the list under the filter, not the filter, so what
        is typed while Azure answers lands in a field the admin sees (and filters the list when it
        comes), and Tab still moves on (Textual takes a loading widget's children out of the focus
        chain)."""
        return self.query_one(f"#{self.LIST_ID}", FilterList).option_list

    def setup(self) -> None:
        """Set-up beyond the list, once the screen is mounted (before the catalog is shown)."""

    def _catalog_arrived(self) -> None:
        catalog = self.state.catalog
        if catalog is None:
            if self.state.catalog_error:
                self.on_catalog_failed(CatalogFailed(self.state.subscription or "", self.state.catalog_error))
            return
        self.query_one("#catalog-error").display = False
        lst = self._loading_part()
        if lst.loading:
            lst.loading = False
        self.show_catalog(catalog)

    def show_catalog(self, catalog: Catalog) -> None:
        raise NotImplementedError
