"""Everything the wizard knows: the admin's choices and the model objects loaded for them.

Screens read and write this one object; none keeps Azure state of its own. Screens come and go
(Back pops one, Next builds the next afresh), so each writes what the admin types here as it is
typed, and builds itself from here when it mounts.

Inside the wizard every role request names its scope in full: a role chosen at "the resource
group" stays at the group it was chosen at, even when the identity's group changes later. Only
the plan file says "the identity's group" (no scope), when that is where the role lands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..plan import DEFAULT_ENV_VAR, AppTarget, IdentitySpec, Plan, RoleRequest

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..model import Identity, Location, ResourceGroup, RoleAssignment, SignedIn, Subscription
    from ..steps import StepPlan


def last_segment(resource_id: str) -> str:
    """The last part of an ARM id: a group's, vault's or app's name."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def counted(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class WizardState:
    signed_in: SignedIn | None = None
    subscriptions: list[Subscription] = field(default_factory=list)
    subscription: str | None = None
    # Every subscription's lists loaded so far; `catalog` is the chosen subscription's.
    catalogs: dict[str, Catalog] = field(default_factory=dict)
    catalog: Catalog | None = None
    catalog_error: str | None = None
    catalog_started: float = 0.0  # perf_counter when the subscription was chosen
    catalog_ready: float = 0.0  # perf_counter when every list had its first page (the benchmark reads it)
    catalog_whole: float = 0.0  # perf_counter when every list was whole
    resource_group: str = ""
    identity_name: str = ""
    location: str | None = None  # None: the resource group's region
    tags: dict[str, str] = field(default_factory=dict)
    roles: list[RoleRequest] = field(default_factory=list)  # each with its scope in full
    app_id: str | None = None
    container: str | None = None
    env_var: str = DEFAULT_ENV_VAR
    step_plan: StepPlan | None = None  # the reviewed diff that Apply writes
    outcome: Any = None  # the ApplyOutcome once apply ran
    rolled_back: bool = False  # what the failed apply wrote has been undone
    can_assign: dict[str, bool] = field(default_factory=dict)  # lower-cased scope -> may the admin assign roles
    existing_assignments: list[RoleAssignment] = field(default_factory=list)  # of a reused identity
    notice: str | None = None  # what a change kept and dropped: the next screen's status line says it
    saved: Plan | None = None  # the choices as they were last loaded or saved: quitting loses nothing else

    def choose_subscription(self, sub: str) -> bool:
        """Record the subscription; True when it changed. The name, tags and region go along;
        the group, the roles (their scopes) and the app lie in the old subscription and are
        dropped, and `notice` says which."""
        if sub == self.subscription:
            return False
        old = self.subscription
        self.subscription = sub
        self.catalog = self.catalogs.get(sub)
        self.catalog_error = None
        self.catalog_started = time.perf_counter()
        self.catalog_ready = self.catalog_started if self.catalog is not None else 0.0
        self.catalog_whole = self.catalog_started if self.catalog is not None and self.catalog.complete else 0.0
        self.can_assign, self.existing_assignments = {}, []
        if old is None:
            return True
        dropped = []
        if self.resource_group:
            dropped.append(f"resource group {self.resource_group}")
        dropped += [f"{r.role} @ {last_segment(r.scope or '')}" for r in self.roles]
        if self.app_id:
            dropped.append(f"container app {last_segment(self.app_id)}")
        kept = []
        if self.identity_name:
            kept.append(f"the name {self.identity_name}")
        if self.tags:
            kept.append(counted(len(self.tags), "tag"))
        if self.location:
            kept.append(f"region {self.location}")
        self.resource_group, self.roles, self.app_id, self.container = "", [], None, None
        if kept or dropped:
            self.notice = f"Switched to {self.subscription_name()}."
            if kept:
                self.notice += f" Kept {', '.join(kept)}."
            if dropped:
                self.notice += f" Dropped, as they are in {self.subscription_name(old)}: {'; '.join(dropped)}."
        return True

    def choose_group(self, name: str) -> None:
        """Record the identity's resource group. Roles chosen at the previous group stay there
        (nothing silently moves to the new group), and `notice` says so."""
        if name.lower() == self.resource_group.lower():
            return
        old = self.resource_group
        self.resource_group = name
        self.existing_assignments = []
        if not old:
            return
        old_scope = self._group_scope(old).lower()
        staying = [r.role for r in self.roles if (r.scope or "").lower() == old_scope]
        if staying:
            self.notice = (
                f"{counted(len(staying), 'role')} chosen at {old} ({', '.join(staying)}) "
                f"stay at {old}; Roles changes where they apply."
            )

    def catalog_loaded(self, catalog: Catalog) -> bool:
        """Keep a subscription's lists; True when they are the chosen subscription's."""
        self.catalogs[catalog.subscription] = catalog
        if catalog.subscription != self.subscription:
            return False
        self.catalog, self.catalog_error = catalog, None
        if not self.catalog_ready:
            self.catalog_ready = time.perf_counter()
        if catalog.complete and not self.catalog_whole:
            self.catalog_whole = time.perf_counter()
        return True

    def subscription_name(self, sub: str | None = None) -> str:
        sub = sub or self.subscription
        found = next((s for s in self.subscriptions if s.id == sub), None)
        return found.name if found else (sub or "")

    # -- what the catalog says about the choices ---------------------------------------------------
    def group(self) -> ResourceGroup | None:
        if self.catalog is None:
            return None
        wanted = self.resource_group.lower()
        return next((g for g in self.catalog.groups if g.name.lower() == wanted), None)

    def location_named(self, name: str | None) -> Location | None:
        """The subscription's region of that name (`westeurope`), if it offers one."""
        if self.catalog is None or not name:
            return None
        wanted = name.lower()
        return next((loc for loc in self.catalog.locations if loc.name.lower() == wanted), None)

    def existing_identity(self, name: str | None = None) -> Identity | None:
        """The identity of that name (default: the chosen one) in the chosen group, if it exists."""
        if self.catalog is None:
            return None
        wanted, group = (name if name is not None else self.identity_name).lower(), self.resource_group.lower()
        return next(
            (i for i in self.catalog.identities if i.name.lower() == wanted and i.resource_group.lower() == group),
            None,
        )

    def group_scope(self) -> str:
        return self._group_scope(self.resource_group)

    def _group_scope(self, group: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{group}"

    # -- the plan -------------------------------------------------------------------------------------
    def to_plan(self) -> Plan:
        group = self.group_scope().lower()
        return Plan(
            subscription=self.subscription or "",
            identity=IdentitySpec(self.resource_group, self.identity_name, self.location, dict(self.tags)),
            role_assignments=[
                RoleRequest(r.role, None if (r.scope or "").lower() == group else r.scope) for r in self.roles
            ],
            container_app=AppTarget(self.app_id, self.container, self.env_var) if self.app_id else None,
        )

    def load_plan(self, plan: Plan) -> None:
        self.subscription = plan.subscription
        self.resource_group, self.identity_name = plan.identity.resource_group, plan.identity.name
        self.location, self.tags = plan.identity.location, dict(plan.identity.tags)
        self.roles = [RoleRequest(r.role, plan.scope_of(r)) for r in plan.role_assignments]
        if plan.container_app:
            self.app_id, self.container = plan.container_app.id, plan.container_app.container
            self.env_var = plan.container_app.env_var
        self.saved = self.to_plan()

    def unsaved(self) -> bool:
        """Would quitting now lose anything? Choices made since the plan was loaded or saved,
        unless apply has already written them (an ApplyOutcome that succeeded)."""
        if self.outcome is not None and self.outcome.status in ("applied", "nothing to do"):
            return False
        if self.saved is None:
            return bool(
                self.subscription
                and (self.resource_group or self.identity_name or self.tags or self.roles or self.app_id)
            )
        return self.to_plan() != self.saved
