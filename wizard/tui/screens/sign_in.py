"""Step 1: who is signed in, and which subscription to work in."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Label, Static

from ..messages import Connected, ConnectFailed, DeviceCode
from ..widgets.filter_list import FilterList, Item
from ..widgets.prose import Prose
from .base import WizardScreen


class SignInScreen(WizardScreen):
    TITLE = "Sign in and choose a subscription"
    PORTAL = "your account (top right) → Switch directory; then Subscriptions"
    HELP = (
        "runner-identity signs in as you, the way the Azure CLI does (`az login`), and lists the "
        "subscriptions your account can see. A subscription is the billing and access boundary "
        "everything else lives in: the identity, the roles' scopes and the runner's container app "
        "must all be in the one you choose.\n\n"
        "Your default subscription (the az CLI's, or AZURE_SUBSCRIPTION_ID) is starred. "
        "Enter chooses one; Next goes on. Nothing is written to Azure until you confirm on Review."
    )

    def body(self) -> ComposeResult:
        yield Prose("Signing in…", id="who")
        yield Label("Subscription (★ your default)", id="subs-label", classes="first")
        yield FilterList("Filter subscriptions by name or ID", id="subscriptions")

    def mounted(self) -> None:
        # The indicator covers the list, not its filter: what is typed meanwhile shows, and filters.
        self.query_one("#subscriptions", FilterList).option_list.loading = True
        if self.state.subscriptions:
            self.on_connected(Connected())
        elif self.wizard.connect_error:
            self.on_connect_failed(ConnectFailed(self.wizard.connect_error))
        elif self.wizard.device_code is not None:
            self.on_device_code(self.wizard.device_code)

    def on_device_code(self, message: DeviceCode) -> None:
        self.query_one("#who", Static).update(
            f"To sign in, open [b]{escape(message.url)}[/] and enter the code [b $text-accent]{escape(message.code)}[/]."
        )

    def on_connected(self, _message: Connected) -> None:
        who = self.state.signed_in
        if who is not None:
            self.query_one("#who", Static).update(
                f"Signed in as [b]{escape(who.account)}[/] · tenant {escape(who.tenant_id)}"
            )
        lst = self.query_one("#subscriptions", FilterList)
        lst.option_list.loading = False
        lst.display = True
        label = self.query_one("#subs-label", Label)
        label.display = True
        # The star is promised only when one is shown (no az CLI default, no AZURE_SUBSCRIPTION_ID: none).
        starred = any(s.is_default for s in self.state.subscriptions)
        label.update("Subscription (★ your default)" if starred else "Subscription")
        items = [
            Item(
                s.id,
                f"{'★ ' if s.is_default else '  '}{escape(s.name)}  [dim]{s.id}"
                + ("" if s.state == "Enabled" else f" · {escape(s.state)}")
                + "[/]",
                s.state,
            )
            for s in self.state.subscriptions
        ]
        offered = self.state.subscription or next((s.id for s in self.state.subscriptions if s.is_default), None)
        lst.set_items(items, keep=offered, chosen=self.state.subscription)
        self.query_one("#next").label = self.next_label()
        self.refresh_bindings()
        if not items:
            self.say(
                "[$text-warning]! This account sees no subscriptions.[/] Sign in as another account "
                "(`az login`), or ask for access to the runner's subscription."
            )
            return
        self.say("")
        lst.option_list.focus()

    def on_connect_failed(self, message: ConnectFailed) -> None:
        self.query_one("#subscriptions", FilterList).option_list.loading = False
        self.query_one("#subscriptions").display = False
        self.query_one("#subs-label").display = False
        self.query_one("#who", Static).update(
            f"[b $text-error]✗ Sign-in failed.[/]\n\n{escape(message.text)}\n\nThen press ctrl+n (Try again)."
        )
        self.query_one("#next").label = self.next_label()
        self.refresh_bindings()

    def next_label(self) -> str:
        return "Try again ›" if self.wizard.connect_error and not self.state.subscriptions else "Next ›"

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        """Enter on a subscription chooses it (marked ●); Next goes on. Choosing never moves on by itself."""
        self._choose(message.key)
        self.query_one("#subscriptions", FilterList).choose(message.key)
        self.say(f"Chose [b]{escape(self.state.subscription_name())}[/]. ctrl+n goes on.")

    def _choose(self, sub: str) -> None:
        if self.state.choose_subscription(sub) or self.state.catalog is None:
            self.wizard.load_catalog(sub)  # every later list loads while the admin reads the next screen

    def action_next(self) -> None:
        if self.wizard.connect_error and not self.state.subscriptions:
            self.query_one("#subscriptions").display = True
            self.query_one("#subscriptions", FilterList).option_list.loading = True
            self.query_one("#who", Static).update("Signing in…")
            self.wizard.connect()
            return
        super().action_next()

    def validate(self) -> str | None:
        if not self.state.subscriptions:
            return "Still signing in…"
        chosen = self.query_one("#subscriptions", FilterList).chosen
        highlighted = self.query_one("#subscriptions", FilterList).highlighted_key
        if chosen is None and highlighted is not None:
            self._choose(highlighted)  # Next with none chosen takes the subscription under the cursor
        elif self.state.subscription is None:
            return "Choose a subscription."
        return None
