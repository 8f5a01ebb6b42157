"""Step 4: the container app the runner runs in, and the runner's container."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...catalog import Catalog
from ...model import ContainerApp
from ...steps import shown
from ..text import az
from ..widgets.filter_list import FilterList, Item
from ..widgets.prose import Prose
from .base import CatalogScreen


def identities(app: ContainerApp) -> str:
    parts = []
    if app.system_principal_id:
        parts.append("system-assigned")
    parts += [u.id.rsplit("/", 1)[-1] for u in app.user_identities]
    return ", ".join(parts) or "no identity"


class ContainerAppScreen(CatalogScreen):
    LIST_ID = "apps"
    SHOWS = ("apps",)
    TITLE = "The container app, and the runner's container"
    PORTAL = "Container Apps → <app> → Settings → Identity; Application → Containers"
    HELP = (
        "Two changes to the runner's container app, sent as one update. The identity is "
        "[b]linked[/] to the app, so the app may sign in as it; identities the app has already "
        "(its system-assigned one, other user-assigned ones) stay. And the runner's container gets "
        "the variable AZURE_CLIENT_ID set to the identity's [b]client ID[/]: the Azure SDK in the "
        "runner reads it to know which of the app's identities to sign in as.\n\n"
        "A change to a container's variables makes a [b]new revision[/]: Container Apps starts "
        "new replicas with the new settings and moves traffic to them; the old revision is "
        "deactivated (in Single revision mode). Other variables, secrets and containers are "
        "kept exactly as they are; secret values are never read or shown."
    )

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column("Container app", "Filter: name, group, environment")
            with Vertical(classes="column form", id="app-form"):
                yield Prose("", id="app-info", classes="first")
                yield Label("Container (the runner's)", id="container-label")
                yield OptionList(id="containers")
                yield Label("Its environment variables", id="env-label")
                yield DataTable(id="env", cursor_type="row", zebra_stripes=True)
                yield Prose("", id="env-flag")

    def setup(self) -> None:
        self._shown_app: str | None = None  # the app whose containers the list shows
        self.query_one("#env", DataTable).add_columns("variable", "value")

    def show_catalog(self, catalog: Catalog) -> None:
        apps = self.query_one("#apps", FilterList)
        apps.set_items(
            [
                Item(
                    a.id,
                    f"{az(a.name)}  [dim]{az(a.resource_group)} · {az(a.environment_name)} · "
                    f"{az(a.revision_mode)} · {az(identities(a))}[/]",
                    a.environment_name,
                )
                for a in catalog.apps
            ],
            chosen=self.state.app_id if self._app() else None,
            more_coming="apps" in catalog.loading,
        )
        if not catalog.apps:
            self.say("[$text-warning]No container apps in this subscription: is the runner deployed in another?[/]")
        self._show()
        if self.state.app_id is None:
            apps.query_one("Input").focus()

    def _app(self) -> ContainerApp | None:
        catalog = self.state.catalog
        if catalog is None or not self.state.app_id:
            return None
        return next((a for a in catalog.apps if a.id.lower() == self.state.app_id.lower()), None)

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        if message.key != self.state.app_id:
            self.state.app_id, self.state.container = message.key, None
        self.query_one("#apps", FilterList).choose(message.key)
        self._show()
        containers = self.query_one("#containers", OptionList)
        if containers.option_count > 1:
            containers.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a container chooses it (marked ●); the focus stays, so the admin can still
        change their mind. Choosing never moves on by itself."""
        if event.option_list.id == "containers" and event.option.id:
            event.stop()
            self.state.container = event.option.id
            self._show()
            self.say(f"Chose container [b]{az(event.option.id)}[/]. ctrl+n goes on.")

    def _show(self) -> None:
        app = self._app()
        if app is not None and self.state.container is None and len(app.container_names) == 1:
            self.state.container = app.container_names[0]  # the app's only container is the runner's
        info = self.query_one("#app-info", Static)
        containers = self.query_one("#containers", OptionList)
        table = self.query_one("#env", DataTable)
        table.clear()
        for widget in ("#container-label", "#containers", "#env-label", "#env"):
            self.query_one(widget).display = app is not None
        if app is None:
            info.update("[dim]Choose the app the runner runs in: Enter on the list.[/]")
            self.query_one("#env-flag", Static).update("")
            return
        info.update(
            f"[b]{az(app.name)}[/] · group {az(app.resource_group)} · environment "
            f"{az(app.environment_name)}\nrevision mode {az(app.revision_mode)} · identities: {az(identities(app))}"
        )
        names = app.container_names
        same_app = self._shown_app == app.id
        self._shown_app = app.id
        highlighted = containers.highlighted if same_app else None
        containers.set_options(
            [Option(("[b $text-accent]●[/] " if n == self.state.container else "  ") + az(n), id=n) for n in names]
        )
        if highlighted is not None and highlighted < len(names):
            containers.highlighted = highlighted
        elif names:
            containers.highlighted = names.index(self.state.container) if self.state.container in names else 0
        flags = []
        if self.state.container:
            env = app.env(self.state.container)
            for var in env:
                # Text, not markup: a value is shown as the app holds it. Secret values are never
                # shown, only their secret's name.
                table.add_row(Text(shown(var.name)), Text(shown(var.shown())))
            if not env:
                table.add_row("[dim](none)[/]", "")
            current = next((v for v in env if v.name == self.state.env_var), None)
            identity = self.state.existing_identity()
            if current is not None and identity is not None and current.value == identity.client_id:
                flags.append(f"[$text-success]✓ {self.state.env_var} is the identity's client ID already[/]")
            elif current is not None:
                flags.append(
                    f"[$text-warning]! {self.state.env_var} is set already ({az(current.shown())}): "
                    "it will be replaced by the identity's client ID[/]"
                )
            else:
                flags.append(f"[dim]{self.state.env_var} will be added.[/]")
        elif len(names) > 1:
            flags.append("[$text-warning]! This app has several containers: choose the runner's (Enter).[/]")
        if app.revision_mode.lower() == "multiple":
            flags.append("[$text-warning]! Multiple revision mode: older active revisions keep their old variables[/]")
        self.query_one("#env-flag", Static).update("\n".join(flags))

    def validate(self) -> str | None:
        if not self.state.app_id:
            return "Choose the container app."
        if not self.state.container:
            return "Choose the runner's container."
        return None
