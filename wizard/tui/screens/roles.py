"""Step 3: the roles the identity gets, each at a scope.

Everything Azure would refuse or regret is flagged here, before the review: a privileged role, a
Key Vault role on a vault in access-policy mode, and a scope where the signed-in admin may not
assign roles (checked live, per scope, with `Gateway.can`).
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ...catalog import Catalog
from ...model import RoleDefinition
from ...plan import RoleRequest
from ...steps import RA_WRITE, privileged
from ..state import last_segment
from ..text import az
from ..widgets.cued_scroll import CuedScroll
from ..widgets.filter_list import FilterList, Item
from ..widgets.prose import Prose
from .base import CatalogScreen

# (role, where): "vault" is the Key Vault chosen as scope (or the first in RBAC mode), "group" the identity's group.
MINIMUM = [("Key Vault Secrets User", "vault")]
TERRAFORM_SET = [
    ("AcrPull", "group"),
    ("Storage Account Contributor", "group"),
    ("Storage Blob Data Contributor", "group"),
    ("Storage Blob Data Reader", "group"),
    ("Key Vault Secrets Officer", "vault"),
]


def short(text: str, width: int) -> str:
    """`text` cut at a word boundary to fit `width`, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "…"


class RolesScreen(CatalogScreen):
    LIST_ID = "roles"
    TITLE = "Roles: what the runner may reach"
    PORTAL = "<resource> → Access control (IAM) → Add role assignment → Managed identity"
    HELP = (
        "A [b]role assignment[/] lets the identity do what the role allows, at one [b]scope[/]: a "
        "resource (a Key Vault, a storage account), a resource group (everything in it), or the "
        "whole subscription. The scope matters as much as the role: the runner should reach the "
        "vault it reads and nothing else, so prefer the narrowest scope that works.\n\n"
        "The runner reads secrets from Key Vault and blobs from storage: data roles such as "
        "[b]Key Vault Secrets User[/] or [b]Storage Blob Data Reader[/]. Owner, Contributor and the "
        "access administrator roles manage resources or grant access: they are flagged here.\n\n"
        "Roles are assigned to the identity's principal ID. Assigning takes Owner, User Access "
        "Administrator or Role Based Access Control Administrator at the scope: a scope where you "
        "lack it is flagged before review."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("delete", "remove_role", "Remove", show=False)]

    def body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            yield from self.list_column("Role (Enter adds it at the scope)", "Filter roles", detail=True)
            with CuedScroll(classes="column form"):
                yield Label("Scope", classes="first")
                yield Select(
                    [(f"resource group {az(self.state.resource_group)}", self.state.group_scope())],
                    id="scope",
                    allow_blank=False,
                    compact=True,
                )
                with Horizontal(classes="presets"):
                    yield Prose("Presets", classes="presets-label")
                    yield Button("Minimum", id="preset-min", compact=True, tooltip="Key Vault Secrets User on a vault")
                    yield Button(
                        "Full set", id="preset-full", compact=True, tooltip="the public Terraform module's five roles"
                    )
                yield Label("To assign (Enter removes)")
                yield OptionList(id="requests")
                yield Prose("", id="flags")
                yield Prose("", id="existing")

    def setup(self) -> None:
        self._asking: set[str] = set()  # scopes whose rights are being asked about now

    def show_catalog(self, catalog: Catalog) -> None:
        roles = self.query_one("#roles", FilterList)
        roles.set_items(
            [
                Item(
                    r.guid,
                    f"{az(r.name)}  [dim]{'custom · ' if not r.builtin else ''}{az(short(r.description, 90))}[/]",
                    r.description,
                )
                for r in catalog.roles
            ]
        )
        options: list[tuple[str, str]] = [
            (f"resource group {az(self.state.resource_group)}", self.state.group_scope()),
            (f"subscription {az(self.state.subscription_name())}", f"/subscriptions/{self.state.subscription}"),
        ]
        for res in sorted(catalog.scopes, key=lambda r: (not r.is_vault, r.name.lower())):
            kind = "Key Vault" if res.is_vault else "storage"
            mode = " (access policies)" if res.is_vault and res.rbac_enabled is False else ""
            options.append((f"{kind} {az(res.name)}{mode}", res.id))
        self.query_one("#scope", Select).set_options(options)
        self._render_requests()
        self.load_existing()
        if self.wizard.screen is self:
            roles.query_one("Input").focus()

    def _role(self, name_or_guid: str) -> RoleDefinition | None:
        catalog = self.state.catalog
        wanted = name_or_guid.lower()
        if catalog is None:
            return None
        return next((r for r in catalog.roles if r.guid == wanted or r.name.lower() == wanted), None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The highlighted role's whole description, under the list (the list shows one line each)."""
        if event.option_list.parent is not self.query_one("#roles"):
            return
        role = self._role(event.option.id or "")
        detail = self.query_one("#detail", Static)
        if role is None:
            detail.update("")
            return
        kind = "built-in" if role.builtin else "[$text-warning]custom[/]"
        flag = " · [$text-warning]privileged[/]" if privileged(role) else ""
        detail.update(f"[b]{az(role.name)}[/] · {kind}{flag}\n[dim]{az(role.description)}[/]")

    # -- choosing -----------------------------------------------------------------------------------
    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        role = self._role(message.key)
        scope = self.query_one("#scope", Select).value
        if role is None or not isinstance(scope, str):
            return
        self._add(role.name, scope)

    def _add(self, role: str, scope: str) -> bool:
        # The scope is kept in full: a role chosen at the group stays there if the group changes.
        request = RoleRequest(role, scope)
        key = (role.lower(), scope.lower())
        if any((r.role.lower(), (r.scope or "").lower()) == key for r in self.state.roles):
            self.say(f"{az(role)} at {az(last_segment(scope))} is in the list already.")
            return False
        self.state.roles.append(request)
        self.say(f"Added {az(role)} at {az(last_segment(scope))}.")
        self._render_requests()
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("preset-min", "preset-full"):
            event.stop()
            self.action_preset("minimum" if event.button.id == "preset-min" else "full")

    def action_preset(self, which: str) -> None:
        catalog = self.state.catalog
        if catalog is None:
            return
        preset = MINIMUM if which == "minimum" else TERRAFORM_SET
        vaults = [s for s in catalog.scopes if s.is_vault]
        chosen = self.query_one("#scope", Select).value
        vault = next((v.id for v in vaults if v.id == chosen), None) or next(
            (v.id for v in vaults if v.rbac_enabled), vaults[0].id if vaults else None
        )
        added, left_out = 0, False
        for role, where in preset:
            if where == "vault" and vault is None:
                left_out = True
                continue
            added += self._add(role, vault if where == "vault" and vault else self.state.group_scope())
        self._render_requests()
        note = " No Key Vault in this subscription: the vault roles were left out." if left_out else ""
        where_vault = f" (vault {az(last_segment(vault))}: choose another as the scope first to change it)" if vault else ""
        self.say(f"{'Minimum' if which == 'minimum' else 'Full set'}: {added} role(s) added{where_vault}.{note}")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "requests":
            event.stop()
            self._remove(event.option.id)

    def action_remove_role(self) -> None:
        requests = self.query_one("#requests", OptionList)
        if requests.has_focus and requests.highlighted is not None:
            self._remove(requests.get_option_at_index(requests.highlighted).id)

    def _remove(self, option_id: str | None) -> None:
        if option_id is None or not option_id.isdigit():
            return
        removed = self.state.roles.pop(int(option_id))
        self.say(f"Removed {az(removed.role)}.")
        self._render_requests()

    # -- flags --------------------------------------------------------------------------------------
    def _render_requests(self) -> None:
        catalog = self.state.catalog
        scopes = {s.id.lower(): s for s in catalog.scopes} if catalog else {}
        held = {(a.role_guid.lower(), a.scope.lower()) for a in self.state.existing_assignments}
        options, flags = [], []
        for i, request in enumerate(self.state.roles):
            scope = request.scope or self.state.group_scope()
            where = last_segment(scope)
            role = self._role(request.role)
            mark = "[$text-success]✓[/]"
            if role is None:
                flags.append(f"[$text-error]✗ {az(request.role)}: no such role in this subscription[/]")
                mark = "[$text-error]✗[/]"
            elif privileged(role):
                flags.append(
                    f"[$text-warning]! {az(role.name)} is privileged: the runner needs data access only[/]"
                )
                mark = "[$text-warning]![/]"
            res = scopes.get(scope.lower())
            if (
                res is not None
                and res.is_vault
                and res.rbac_enabled is False
                and request.role.lower().startswith("key vault")
            ):
                flags.append(
                    f"[$text-warning]! Key Vault {az(res.name)} uses access policies: "
                    f"{az(request.role)} grants nothing there until it is switched to Azure RBAC[/]"
                )
                mark = "[$text-warning]![/]"
            allowed = self.state.can_assign.get(scope.lower())
            if allowed is False:
                flags.append(
                    f"[$text-error]✗ you cannot assign roles at {az(where)}: it needs Owner, User Access "
                    "Administrator or Role Based Access Control Administrator there[/]"
                )
                mark = "[$text-error]✗[/]"
            elif allowed is None:
                self.check_scope(scope)
            note = "  [dim](held already)[/]" if role is not None and (role.guid, scope.lower()) in held else ""
            options.append(Option(f"{mark} {az(request.role)}  [dim]@ {az(where)}[/]{note}", id=str(i)))
        requests = self.query_one("#requests", OptionList)
        highlighted = requests.highlighted
        requests.set_options(
            options or [Option("[dim]none yet: pick a role on the left, or a preset[/]", id="__none__", disabled=True)]
        )
        if options:
            requests.highlighted = min(highlighted or 0, len(options) - 1)
        self.query_one("#flags", Static).update("\n".join(flags))

    @work(exit_on_error=False, group="scope-check")
    async def check_scope(self, scope: str) -> None:
        """May the signed-in admin assign roles at `scope`? Asked once per scope, cached in the state."""
        from ...azure.errors import GatewayError

        gateway = self.wizard.gateway
        key = scope.lower()
        if gateway is None or key in self.state.can_assign or key in self._asking:
            return
        self._asking.add(key)
        try:
            self.state.can_assign[key] = await gateway.can(scope, RA_WRITE)
        except GatewayError:
            return  # unknown: apply checks the rights again before any write
        finally:
            self._asking.discard(key)
        self._render_requests()

    @work(exclusive=True, exit_on_error=False, group="existing-assignments")
    async def load_existing(self) -> None:
        """A reused identity's current role assignments, shown beside the ones to add."""
        from ...azure.errors import GatewayError

        gateway, catalog = self.wizard.gateway, self.state.catalog
        identity = self.state.existing_identity()
        if gateway is None or catalog is None or identity is None:
            self.state.existing_assignments = []
            return
        existing = self.query_one("#existing", Static)
        existing.update(f"[dim]Reading what {az(identity.name)} holds already…[/]")
        try:
            held = await gateway.role_assignments(self.state.subscription or "", identity.principal_id)
        except GatewayError as err:
            existing.update(f"[$text-warning]Could not read {az(identity.name)}'s roles: {az(err.plain())}[/]")
            return
        self.state.existing_assignments = held
        names = {r.guid: r.name for r in catalog.roles}
        lines = [f"  {az(names.get(a.role_guid, a.role_guid))} @ {az(last_segment(a.scope))}" for a in held]
        existing.update(
            f"[b]{az(identity.name)} holds already:[/]\n" + ("\n".join(lines) if lines else "  no roles")
        )
        self._render_requests()

    def validate(self) -> str | None:
        if self.state.catalog is None:
            return "Still loading the roles…"
        if any(self._role(r.role) is None for r in self.state.roles):
            return "A role does not exist in this subscription: remove it."
        return None

