"""Step 4: the container app the runner runs in, and the runner's container."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...catalog import Catalog
from ...model import ContainerApp
from ..widgets.filter_list import FilterList, Item
from .base import CatalogScreen


class ContainerAppScreen(CatalogScreen):
    LIST_ID = "apps"
    STEP = 3
    TITLE = "The container app, and the runner's container"
    PORTAL = "Container Apps → <app> → Settings → Identity, and Application → Containers"

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column("Container app", "Filter apps by name, group or environment")
            with Vertical(classes="column"):
                yield Static("", id="app-info")
                yield Label("Container", id="container-label")
                yield OptionList(id="containers")
                yield DataTable(id="env", cursor_type="row", zebra_stripes=True)
                yield Static("", id="env-flag")

    def mounted(self) -> None:
        self.query_one("#env", DataTable).add_columns("variable", "value")

    def show_catalog(self, catalog: Catalog) -> None:
        apps = self.query_one("#apps", FilterList)
        apps.set_items(
            [
                Item(
                    a.id,
                    f"{a.name}  [dim]{a.resource_group} · {a.environment_name} · {a.revision_mode} · "
                    f"{_identities(a)}[/]",
                    a.environment_name,
                )
                for a in catalog.apps
            ],
            keep=self.state.app_id,
        )
        if not catalog.apps:
            self.say("[yellow]No container apps in this subscription.[/]")
        self._show()

    def _app(self) -> ContainerApp | None:
        catalog = self.state.catalog
        if catalog is None or not self.state.app_id:
            return None
        return next((a for a in catalog.apps if a.id.lower() == self.state.app_id.lower()), None)

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        if message.key != self.state.app_id:
            self.state.app_id, self.state.container = message.key, None
        app = self._app()
        if app is not None and len(app.container_names) == 1:
            self.state.container = app.container_names[0]
        self._show()
        self.query_one("#containers", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "containers" and event.option.id:
            event.stop()
            self.state.container = event.option.id
            self._show()

    def _show(self) -> None:
        app = self._app()
        info = self.query_one("#app-info", Static)
        containers = self.query_one("#containers", OptionList)
        table = self.query_one("#env", DataTable)
        table.clear()
        if app is None:
            info.update("[dim]Pick the app the runner runs in.[/]")
            containers.set_options([])
            self.query_one("#env-flag", Static).update("")
            return
        info.update(
            f"[b]{app.name}[/] in {app.resource_group} · environment {app.environment_name}\n"
            f"revision mode {app.revision_mode} · identities: {_identities(app)}"
        )
        containers.set_options(
            [Option(("● " if n == self.state.container else "  ") + n, id=n) for n in app.container_names]
        )
        flag = ""
        if self.state.container:
            for var in app.env(self.state.container):
                table.add_row(var.name, escape(var.shown()))  # secret values are never shown, only their names
            current = next((v for v in app.env(self.state.container) if v.name == self.state.env_var), None)
            if current is not None:
                flag = (
                    f"[yellow]! {self.state.env_var} is set already ({escape(current.shown())}): it will be replaced[/]"
                )
        elif len(app.container_names) > 1:
            flag = "[dim]This app has several containers: choose the runner's.[/]"
        self.query_one("#env-flag", Static).update(flag)

    def validate(self) -> str | None:
        if not self.state.app_id:
            return "Choose the container app."
        if not self.state.container:
            return "Choose the runner's container."
        return None

    def next_screen(self) -> Screen[None] | None:
        from .review import ReviewScreen

        return ReviewScreen()


def _identities(app: ContainerApp) -> str:
    parts = []
    if app.system_principal_id:
        parts.append("system-assigned")
    parts += [u.id.rsplit("/", 1)[-1] for u in app.user_identities]
    return ", ".join(parts) or "none"
