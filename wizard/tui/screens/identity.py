"""Step 2: the managed identity: a new one, or an existing one to reuse; its region and tags."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ... import rules
from ...catalog import Catalog
from ..text import az
from ..widgets.cued_scroll import CuedScroll
from ..widgets.filter_list import FilterList, Item
from ..widgets.picker import Choice, Picker
from ..widgets.prose import Prose
from ..widgets.tag_editor import TagEditor
from .base import CatalogScreen

NAME_RULE = "3–128 characters: letters, digits, hyphens, underscores; starting with a letter or digit"


class IdentityScreen(CatalogScreen):
    LIST_ID = "groups"
    SHOWS = ("groups", "identities")
    TITLE = "The managed identity: create one, or reuse one"
    PORTAL = "Managed Identities → + Create (Basics: resource group, name, region; Tags)"
    HELP = (
        "A [b]user-assigned managed identity[/] is an Azure resource that a program can sign in as, "
        "with no password or secret to store or rotate: Azure hands the runner a token for it. Unlike "
        "an app's system-assigned identity, it lives on its own, so it survives the app being "
        "recreated and can be shared and granted roles before the app uses it.\n\n"
        "It has two IDs. The [b]client ID[/] is what a program names to sign in as it "
        "(AZURE_CLIENT_ID). The [b]principal ID[/] (object ID) is who it is in Microsoft Entra ID: "
        "roles are assigned to it. Mixing them up is the most common failure.\n\n"
        "Its [b]region[/] is where it is stored; it works from any region. Tags label it for cost "
        "and ownership. Choosing an existing identity reuses it as it is."
    )

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column("Resource group", "Filter resource groups")
            with CuedScroll(classes="column form wide"):
                yield Label("Name", classes="first")
                yield Input(self.state.identity_name, placeholder="e.g. id-maia-runner", id="name")
                yield Prose("", id="name-check")
                existing = [Label("Existing in the group (Enter reuses)", id="existing-label"), OptionList(id="existing")]
                for widget in existing:
                    widget.display = False  # until the group has identities (set before mounting: cheaper)
                    yield widget
                yield Picker("Region", "Region  the resource group's", id="location")
                yield Label("Tags", id="tags-label")
                yield TagEditor(self.state.tags, id="tags")

    def setup(self) -> None:
        if self.state.notice:
            self.say(f"[$text-warning]! {az(self.state.notice)}[/]")
            self.state.notice = None
        self._count_tags()

    def show_catalog(self, catalog: Catalog) -> None:
        groups = self.query_one("#groups", FilterList)
        group = self.state.group()
        if self.state.resource_group and group is None and "groups" not in catalog.loading:
            self.say(
                f"[$text-warning]! There is no resource group {az(self.state.resource_group)} in "
                f"{az(self.state.subscription_name())}: choose one.[/]"
            )
            self.state.resource_group = ""
        groups.set_items(
            [Item(g.name, f"{az(g.name)}  [dim]{az(g.location)}[/]", g.location) for g in catalog.groups],
            chosen=group.name if group else None,
            more_coming="groups" in catalog.loading,
        )
        if not catalog.groups:
            self.say("[$text-warning]! This subscription has no resource groups: create one in the portal first.[/]")
        if not isinstance(self.focused, Input) or self.focused is groups.query_one(Input):
            # Where to start; but never away from a field the admin typed into while the list loaded.
            (self.query_one("#name", Input) if self.state.resource_group else groups.query_one(Input)).focus()
        self._refresh_group()

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        self.state.choose_group(message.key)
        if self.state.notice:
            self.say(f"[$text-warning]! {az(self.state.notice)}[/]")
            self.state.notice = None
        self.query_one("#groups", FilterList).choose(message.key)
        self._refresh_group()
        self.query_one("#name", Input).focus()

    def _refresh_group(self) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        group_name = self.state.resource_group.lower()
        existing = [i for i in catalog.identities if group_name and i.resource_group.lower() == group_name]
        options = self.query_one("#existing", OptionList)
        options.set_options([Option(f"{az(i.name)}  [dim]{az(i.location)}[/]", id=i.name) for i in existing])
        options.display = self.query_one("#existing-label").display = bool(existing)
        if existing:
            options.highlighted = 0
        self._show_regions()
        self._check_name(self.query_one("#name", Input).value)

    # -- the region: one of the subscription's, the group's by default --------------------------------
    def _show_regions(self) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        group = self.state.group()
        default = group.location.lower() if group else None
        choices = []
        for loc in catalog.locations:
            if loc.physical or loc.name.lower() == default:
                mark = " · the group's" if loc.name.lower() == default else ""
                choices.append(Choice(loc.name, f"{az(loc.display_name)}  [dim]{az(loc.name)}{mark}[/]"))
        wanted = self.state.location
        offered = self.state.location_named(wanted) if wanted else None
        picker = self.query_one("#location", Picker)
        if wanted and offered is None:
            label = f"[$text-error]✗ Region {az(wanted)} is not offered here[/]"
            picker.show(choices, None, label=label)
        elif offered is not None:
            picker.show(choices, offered.name, label=f"Region  {az(offered.display_name)}")
        elif group is not None:
            found = self.state.location_named(default)
            name = found.display_name if found else group.location
            picker.show(choices, default, label=f"Region  {az(name)} [dim](the group's)[/]")
        else:
            picker.show(choices, None, label="Region  [dim]the resource group's[/]")

    def on_picker_changed(self, message: Picker.Changed) -> None:
        group = self.state.group()
        # The group's region is the default: the plan then says nothing, and follows the group.
        self.state.location = None if group is not None and message.value == group.location.lower() else message.value
        self._show_regions()

    # -- the name -----------------------------------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "existing" and event.option.id:
            event.stop()
            self.query_one("#name", Input).value = event.option.id
            self.query_one("#name", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "name":
            self._check_name(event.value)
            self.state.identity_name = event.value.strip()

    def on_tag_editor_changed(self, _message: TagEditor.Changed) -> None:
        self.state.tags = self.query_one(TagEditor).tags()
        self._count_tags()

    def _count_tags(self) -> None:
        n = len(self.state.tags)
        self.query_one("#tags-label", Label).update(
            f"Tags ({n}) · Enter: change · Delete: remove"
            if n
            else "Tags  [dim]none yet: type one below, then Enter[/]"
        )

    def _check_name(self, name: str) -> None:
        check = self.query_one("#name-check", Static)
        name = name.strip()
        if not name:
            check.update(f"[dim]{NAME_RULE}[/]")
            return
        try:
            rules.identity_name(name)
        except rules.RuleError as err:
            check.update(f"[$text-error]✗ {az(err.message)}[/]")
            return
        found = self.state.existing_identity(name)
        if found is not None:
            check.update(f"[$text-success]✓ exists: it will be reused[/] · client ID {az(found.client_id)}")
        elif self.state.resource_group:
            check.update(f"[$text-success]✓ new: it will be created in {az(self.state.resource_group)}[/]")
        else:
            check.update("[$text-success]✓ a valid name[/]: now pick its resource group")

    def keep(self) -> None:
        self.state.identity_name = self.query_one("#name", Input).value.strip()
        editor = self.query_one(TagEditor)
        editor.commit()  # a tag typed but not added yet is added, if it is valid
        self.state.tags = editor.tags()

    def validate(self) -> str | None:
        if self.state.catalog is None:
            return "Still loading the subscription's resource groups…"
        if not self.state.resource_group:
            return "Choose a resource group (Enter on the list)."
        self.keep()
        try:
            rules.identity_name(self.state.identity_name, field="name")
        except rules.RuleError as err:
            return str(err)
        if self.state.location and self.state.location_named(self.state.location) is None:
            return f"region: {self.state.subscription_name()} offers no region {self.state.location}"
        return self.query_one(TagEditor).problem()

