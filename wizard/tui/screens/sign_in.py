"""Step 1: who is signed in, and which subscription to work in."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import LoadingIndicator, Static

from ..app import Connected, ConnectFailed
from ..widgets.filter_list import FilterList, Item
from .base import WizardScreen


class SignInScreen(WizardScreen):
    STEP = 0
    TITLE = "Sign in and choose a subscription"
    PORTAL = "the account menu (top right) → Switch directory, then Subscriptions"

    def body(self) -> ComposeResult:
        yield Static("Signing in…", id="who")
        yield LoadingIndicator(id="loading")
        yield FilterList("Filter subscriptions by name or ID", id="subscriptions")

    def on_mount(self) -> None:
        self.query_one("#subscriptions").display = False
        if self.state.subscriptions:
            self.on_connected(Connected())
        elif self.wizard.connect_error:
            self.on_connect_failed(ConnectFailed(self.wizard.connect_error))

    def on_connected(self, _message: Connected) -> None:
        who = self.state.signed_in
        if who is not None:
            self.query_one("#who", Static).update(f"Signed in as [b]{who.account}[/]  ·  tenant {who.tenant_id}")
        self.query_one("#loading").display = False
        lst = self.query_one("#subscriptions", FilterList)
        lst.display = True
        items = [
            Item(s.id, f"{'★ ' if s.is_default else '  '}{s.name}  [dim]{s.id}[/]", s.state)
            for s in self.state.subscriptions
        ]
        lst.set_items(items, keep=self.state.subscription or (items[0].key if items else None))
        if not items:
            self.say("[yellow]This account sees no subscriptions.[/]")
        lst.query_one("OptionList").focus()

    def on_connect_failed(self, message: ConnectFailed) -> None:
        self.query_one("#loading").display = False
        self.query_one("#who", Static).update(f"[red]Sign-in failed.[/]\n{message.text}")

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        self._choose(message.key)

    def _choose(self, sub: str) -> None:
        if self.state.choose_subscription(sub):
            self.wizard.load_catalog(sub)  # every later list loads while the admin reads the next screen
        self.action_next()

    def validate(self) -> str | None:
        if self.state.subscription is None:
            lst = self.query_one("#subscriptions", FilterList)
            option_list = lst.query_one("OptionList")
            highlighted = getattr(option_list, "highlighted", None)
            if highlighted is None or not self.state.subscriptions:
                return "Choose a subscription."
            self.state.choose_subscription(option_list.get_option_at_index(highlighted).id)
        loading = any(w.group == "catalog" and w.is_running for w in self.app.workers)
        if self.state.catalog is None and not loading and self.state.subscription:
            self.wizard.load_catalog(self.state.subscription)  # e.g. a subscription a plan file named
        return None

    def next_screen(self) -> Screen[None] | None:
        from .identity import IdentityScreen

        return IdentityScreen()
