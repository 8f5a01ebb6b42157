"""Step 2: the managed identity: a new one, or an existing one to reuse."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ... import rules
from ...catalog import Catalog
from ..widgets.filter_list import FilterList, Item
from ..widgets.tag_rows import TagRows
from .base import CatalogScreen


class IdentityScreen(CatalogScreen):
    LIST_ID = "groups"
    STEP = 1
    TITLE = "The managed identity: create one, or reuse one"
    PORTAL = "Managed Identities → + Create (Basics: resource group, name; Tags)"

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column("Resource group", "Filter resource groups")
            with VerticalScroll(classes="column"):
                yield Label("Name")
                yield Input(self.state.identity_name, placeholder="e.g. id-maia-runner", id="name")
                yield Static("", id="name-check")
                yield Label("Existing identities in the group (Enter to reuse)", id="existing-label")
                yield OptionList(id="existing")
                yield Label("Region")
                yield Input(self.state.location or "", placeholder="the resource group's region", id="location")
                yield Label("Tags")
                yield TagRows(self.state.tags, id="tags")

    def show_catalog(self, catalog: Catalog) -> None:
        groups = self.query_one("#groups", FilterList)
        groups.set_items(
            [Item(g.name, f"{g.name}  [dim]{g.location}[/]", g.location) for g in catalog.groups],
            keep=self.state.resource_group or None,
        )
        if not self.state.resource_group:
            groups.query_one(Input).focus()
        self._refresh_group()

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        self.state.resource_group = message.key
        self._refresh_group()
        self.query_one("#name", Input).focus()

    def _refresh_group(self) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        group = next((g for g in catalog.groups if g.name == self.state.resource_group), None)
        location = self.query_one("#location", Input)
        location.placeholder = group.location if group else "the resource group's region"
        existing = [i for i in catalog.identities if i.resource_group.lower() == self.state.resource_group.lower()]
        options = self.query_one("#existing", OptionList)
        options.set_options(
            [Option(f"{i.name}  [dim]client ID {i.client_id}[/]", id=i.name) for i in existing]
            or [Option("[dim]none yet[/]", id="__none__", disabled=True)]
        )
        self._check_name(self.query_one("#name", Input).value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "existing" and event.option.id and not event.option.disabled:
            event.stop()
            self.query_one("#name", Input).value = event.option.id

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "name":
            self._check_name(event.value)
        elif event.input.id == "location":
            self._check_location(event.value)

    def _check_name(self, name: str) -> None:
        check = self.query_one("#name-check", Static)
        if not name:
            check.update("[dim]3–128 letters, digits, hyphens, underscores[/]")
            return
        try:
            rules.identity_name(name)
        except rules.RuleError as err:
            check.update(f"[red]{err.message}[/]")
            return
        found = self._existing(name)
        if found is not None:
            check.update(f"[green]exists: will be reused[/] · client ID {found.client_id}")
        elif self.state.resource_group:
            check.update(f"[green]new:[/] will be created in {self.state.resource_group}")
        else:
            check.update("[green]a valid name[/]: now pick its resource group")

    def _check_location(self, value: str) -> None:
        if value:
            try:
                rules.location(rules.normalize_location(value))
            except rules.RuleError as err:
                self.say(f"[red]{err}[/]")
                return
        self.say("")

    def _existing(self, name: str):  # -> Identity | None
        catalog = self.state.catalog
        if catalog is None:
            return None
        return next(
            (
                i
                for i in catalog.identities
                if i.name.lower() == name.lower() and i.resource_group.lower() == self.state.resource_group.lower()
            ),
            None,
        )

    def validate(self) -> str | None:
        if self.state.catalog is None:
            return "Still loading the subscription's resource groups…"
        if not self.state.resource_group:
            return "Choose a resource group."
        name = self.query_one("#name", Input).value.strip()
        try:
            rules.identity_name(name, field="name")
            location = self.query_one("#location", Input).value.strip()
            if location:
                rules.location(rules.normalize_location(location), field="region")
        except rules.RuleError as err:
            return str(err)
        tags = self.query_one(TagRows)
        if tags.problem():
            return tags.problem()
        self.state.identity_name = name
        self.state.location = rules.normalize_location(location) if location else None
        self.state.tags = tags.tags()
        return None

    def next_screen(self) -> Screen[None] | None:
        from .roles import RolesScreen

        return RolesScreen()
