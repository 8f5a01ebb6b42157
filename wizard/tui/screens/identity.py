"""Step 2: the managed identity: a new one, or an existing one to reuse."""

from __future__ import annotations

from rich.markup import escape
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

NAME_RULE = "3–128 characters: letters, digits, hyphens, underscores; starting with a letter or digit"


class IdentityScreen(CatalogScreen):
    LIST_ID = "groups"
    STEP = 1
    TITLE = "The managed identity: create one, or reuse one"
    PORTAL = "Managed Identities → + Create (Basics: resource group, name, region; Tags)"

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column("Resource group", "Filter resource groups")
            with VerticalScroll(classes="column form wide"):
                yield Label("Name", classes="first")
                yield Input(self.state.identity_name, placeholder="e.g. id-maia-runner", id="name")
                yield Static("", id="name-check")
                yield Label("Existing in the group (Enter reuses)", id="existing-label")
                yield OptionList(id="existing")
                yield Label("Region")
                yield Input(self.state.location or "", placeholder="the resource group's region", id="location")
                yield Static("", id="location-check")
                yield Label("Tags")
                yield TagRows(self.state.tags, id="tags")

    def show_catalog(self, catalog: Catalog) -> None:
        groups = self.query_one("#groups", FilterList)
        groups.set_items(
            [Item(g.name, f"{escape(g.name)}  [dim]{g.location}[/]", g.location) for g in catalog.groups],
            chosen=self.state.group().name if self.state.group() else None,
        )
        if not catalog.groups:
            self.say("[$text-warning]This subscription has no resource groups: create one in the portal first.[/]")
        if not self.state.resource_group:
            groups.query_one(Input).focus()
        else:
            self.query_one("#name", Input).focus()
        self._refresh_group()

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        self.state.resource_group = message.key
        self.query_one("#groups", FilterList).choose(message.key)
        self._refresh_group()
        self.query_one("#name", Input).focus()

    def _refresh_group(self) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        group = self.state.group()
        location = self.query_one("#location", Input)
        location.placeholder = f"{group.location} (the group's)" if group else "the resource group's region"
        group_name = self.state.resource_group.lower()
        existing = [i for i in catalog.identities if i.resource_group.lower() == group_name]
        options = self.query_one("#existing", OptionList)
        if not self.state.resource_group:
            empty = "pick a resource group first"
        else:
            empty = "none in this group yet: the name above creates one"
        options.set_options(
            [Option(f"{escape(i.name)}  [dim]{i.location}[/]", id=i.name) for i in existing]
            or [Option(f"[dim]{empty}[/]", id="__none__", disabled=True)]
        )
        if existing:
            options.highlighted = 0
        self._check_name(self.query_one("#name", Input).value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "existing" and event.option.id and not event.option.disabled:
            event.stop()
            self.query_one("#name", Input).value = event.option.id
            self.query_one("#name", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "name":
            self._check_name(event.value)
        elif event.input.id == "location":
            self._check_location(event.value)
        self.keep()

    def on_tag_rows_changed(self, _message: TagRows.Changed) -> None:
        self.keep()

    def _check_name(self, name: str) -> None:
        check = self.query_one("#name-check", Static)
        name = name.strip()
        if not name:
            check.update(f"[dim]{NAME_RULE}[/]")
            return
        try:
            rules.identity_name(name)
        except rules.RuleError as err:
            check.update(f"[$text-error]✗ {escape(err.message)}[/]")
            return
        found = self.state.existing_identity(name)
        if found is not None:
            check.update(f"[$text-success]✓ exists: it will be reused[/] · client ID {found.client_id}")
        elif self.state.resource_group:
            check.update(f"[$text-success]✓ new: it will be created in {escape(self.state.resource_group)}[/]")
        else:
            check.update("[$text-success]✓ a valid name[/]: now pick its resource group")

    def _check_location(self, value: str) -> None:
        check = self.query_one("#location-check", Static)
        if not value.strip():
            check.update("")
            return
        try:
            rules.location(rules.normalize_location(value))
        except rules.RuleError as err:
            check.update(f"[$text-error]✗ {escape(err.message)}[/]")
            return
        check.update("")

    def keep(self) -> None:
        self.state.identity_name = self.query_one("#name", Input).value.strip()
        location = self.query_one("#location", Input).value.strip()
        self.state.location = rules.normalize_location(location) if location else None
        self.state.tags = self.query_one(TagRows).tags()

    def validate(self) -> str | None:
        if self.state.catalog is None:
            return "Still loading the subscription's resource groups…"
        if not self.state.resource_group:
            return "Choose a resource group (Enter on the list)."
        self.keep()
        try:
            rules.identity_name(self.state.identity_name, field="name")
            if self.state.location:
                rules.location(self.state.location, field="region")
        except rules.RuleError as err:
            return str(err)
        return self.query_one(TagRows).problem()

    def next_screen(self) -> Screen[None] | None:
        from .roles import RolesScreen

        return RolesScreen()
