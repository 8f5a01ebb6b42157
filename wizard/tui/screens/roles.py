"""Step 3: the roles the identity gets, each at a scope."""

from __future__ import annotations

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ...catalog import Catalog
from ...model import RoleDefinition
from ...plan import RoleRequest
from ...steps import RA_WRITE, privileged
from ..widgets.filter_list import FilterList, Item
from .base import CatalogScreen

MINIMUM = [("Key Vault Secrets User", "vault")]
TERRAFORM_SET = [
    ("AcrPull", "group"),
    ("Storage Account Contributor", "group"),
    ("Storage Blob Data Contributor", "group"),
    ("Storage Blob Data Reader", "group"),
    ("Key Vault Secrets Officer", "vault"),
]


class RolesScreen(CatalogScreen):
    LIST_ID = "roles"
    STEP = 2
    TITLE = "Roles: what the runner may reach"
    PORTAL = "<resource> → Access control (IAM) → + Add → Add role assignment → Managed identity"

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column(
                "Role (Enter adds it at the scope on the right)", "Filter roles by name or description"
            )
            with VerticalScroll(classes="column"):
                yield Label("Scope")
                yield Select(
                    [(f"resource group {self.state.resource_group}", self._group_scope())],
                    id="scope",
                    allow_blank=False,
                    prompt="Scope",
                )
                with Horizontal(classes="presets"):
                    yield Button("Minimum", id="preset-min", tooltip="Key Vault Secrets User on a vault")
                    yield Button("Full set", id="preset-full", tooltip="the public Terraform module's roles")
                yield Label("To assign (Enter removes)")
                yield OptionList(id="requests")
                yield Static("", id="flags")
                yield Static("", id="existing")

    def mounted(self) -> None:
        self.load_existing()

    def show_catalog(self, catalog: Catalog) -> None:
        roles = self.query_one("#roles", FilterList)
        roles.set_items(
            [
                Item(
                    r.guid,
                    f"{escape(r.name)}  [dim]{'' if r.builtin else 'custom · '}{escape(r.description[:60])}[/]",
                    r.description,
                )
                for r in catalog.roles
            ]
        )
        options: list[tuple[str, str]] = [
            (f"resource group {self.state.resource_group}", self._group_scope()),
            (f"subscription {self.state.subscription_name()}", f"/subscriptions/{self.state.subscription}"),
        ]
        for res in catalog.scopes:
            kind = "vault" if res.is_vault else "storage"
            mode = " (access policies)" if res.is_vault and res.rbac_enabled is False else ""
            options.append((f"{kind} {res.name}{mode}", res.id))
        self.query_one("#scope", Select).set_options(options)
        self._render_requests()

    def _group_scope(self) -> str:
        return f"/subscriptions/{self.state.subscription}/resourceGroups/{self.state.resource_group}"

    def _role(self, name_or_guid: str) -> RoleDefinition | None:
        catalog = self.state.catalog
        wanted = name_or_guid.lower()
        if catalog is None:
            return None
        return next((r for r in catalog.roles if r.guid == wanted or r.name.lower() == wanted), None)

    # -- choosing -----------------------------------------------------------------------------------
    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        role = self._role(message.key)
        scope = self.query_one("#scope", Select).value
        if role is None or not isinstance(scope, str):
            return
        self._add(role.name, scope)

    def _add(self, role: str, scope: str) -> None:
        request = RoleRequest(role, None if scope.lower() == self._group_scope().lower() else scope)
        key = (role.lower(), (request.scope or self._group_scope()).lower())
        if all((r.role.lower(), (r.scope or self._group_scope()).lower()) != key for r in self.state.roles):
            self.state.roles.append(request)
        self._render_requests()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("preset-min", "preset-full"):
            event.stop()
            self._preset(MINIMUM if event.button.id == "preset-min" else TERRAFORM_SET)
            return
        super().on_button_pressed(event)

    def _preset(self, preset: list[tuple[str, str]]) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        vaults = [s for s in catalog.scopes if s.is_vault]
        chosen = self.query_one("#scope", Select).value
        vault = next((v.id for v in vaults if v.id == chosen), None) or next(
            (v.id for v in vaults if v.rbac_enabled), vaults[0].id if vaults else None
        )
        for role, where in preset:
            if where == "vault" and vault is None:
                self.say("[yellow]No Key Vault in this subscription: the vault roles were left out.[/]")
                continue
            self._add(role, vault if where == "vault" else self._group_scope())  # type: ignore[arg-type]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "requests" and event.option.id and event.option.id.isdigit():
            event.stop()
            del self.state.roles[int(event.option.id)]
            self._render_requests()

    # -- flags --------------------------------------------------------------------------------------
    def _render_requests(self) -> None:
        catalog = self.state.catalog
        scopes = {s.id.lower(): s for s in catalog.scopes} if catalog else {}
        options, flags = [], []
        for i, request in enumerate(self.state.roles):
            scope = request.scope or self._group_scope()
            where = scope.rstrip("/").rsplit("/", 1)[-1]
            options.append(Option(f"{request.role}  [dim]@ {where}[/]", id=str(i)))
            role = self._role(request.role)
            if role is None:
                flags.append(f"[red]✗ {request.role}: no such role here[/]")
            elif privileged(role):
                flags.append(f"[yellow]! {role.name} is privileged: the runner needs data access only[/]")
            res = scopes.get(scope.lower())
            if (
                res is not None
                and res.is_vault
                and res.rbac_enabled is False
                and request.role.lower().startswith("key vault")
            ):
                flags.append(f"[yellow]! vault {res.name} uses access policies: {request.role} grants nothing there[/]")
            allowed = self.state.can_assign.get(scope.lower())
            if allowed is False:
                flags.append(f"[red]✗ you cannot assign roles at {where} (needs Owner or User Access Administrator)[/]")
            elif allowed is None:
                self.check_scope(scope)
        self.query_one("#requests", OptionList).set_options(
            options or [Option("[dim]none yet: pick a role, or a preset[/]", id="__none__", disabled=True)]
        )
        self.query_one("#flags", Static).update("\n".join(flags))

    @work(exit_on_error=False, group="scope-check")
    async def check_scope(self, scope: str) -> None:
        gateway = self.wizard.gateway
        if gateway is None or scope.lower() in self.state.can_assign:
            return
        self.state.can_assign[scope.lower()] = await gateway.can(scope, RA_WRITE)
        self._render_requests()

    @work(exclusive=True, exit_on_error=False, group="existing-assignments")
    async def load_existing(self) -> None:
        gateway, catalog = self.wizard.gateway, self.state.catalog
        if gateway is None or catalog is None:
            return
        identity = next(
            (
                i
                for i in catalog.identities
                if i.name.lower() == self.state.identity_name.lower()
                and i.resource_group.lower() == self.state.resource_group.lower()
            ),
            None,
        )
        if identity is None:
            return
        held = await gateway.role_assignments(self.state.subscription or "", identity.principal_id)
        self.state.existing_assignments = held
        names = {r.guid: r.name for r in catalog.roles}
        lines = [f"  {names.get(a.role_guid, a.role_guid)} @ {a.scope.rsplit('/', 1)[-1]}" for a in held]
        self.query_one("#existing", Static).update(
            f"[b]{identity.name} already holds:[/]\n" + ("\n".join(lines) if lines else "  nothing")
        )

    def validate(self) -> str | None:
        if any(self._role(r.role) is None for r in self.state.roles):
            return "A role does not exist in this subscription: remove it."
        return None

    def next_screen(self) -> Screen[None] | None:
        from .container_app import ContainerAppScreen

        return ContainerAppScreen()
