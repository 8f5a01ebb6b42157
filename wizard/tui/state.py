"""Everything the wizard knows: the admin's choices and the model objects loaded for them.

Screens read and write this one object; none keeps Azure state of its own. Screens come and go
(Back pops one, Next builds the next afresh), so each writes what the admin types here as it is
typed, and builds itself from here when it mounts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..plan import DEFAULT_ENV_VAR, AppTarget, IdentitySpec, Plan, RoleRequest

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..model import Identity, ResourceGroup, RoleAssignment, SignedIn, Subscription


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
    catalog_ready: float = 0.0  # perf_counter when its lists were all loaded (the benchmark reads it)
    resource_group: str = ""
    identity_name: str = ""
    location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    roles: list[RoleRequest] = field(default_factory=list)
    app_id: str | None = None
    container: str | None = None
    env_var: str = DEFAULT_ENV_VAR
    outcome: Any = None  # the ApplyOutcome once apply ran
    can_assign: dict[str, bool] = field(default_factory=dict)  # lower-cased scope -> may the admin assign roles
    existing_assignments: list[RoleAssignment] = field(default_factory=list)  # of a reused identity

    def choose_subscription(self, sub: str) -> bool:
        """Record the subscription; True when it changed (every later choice then starts over)."""
        if sub == self.subscription:
            return False
        self.subscription = sub
        self.catalog = self.catalogs.get(sub)
        self.catalog_error = None
        self.catalog_started = time.perf_counter()
        self.catalog_ready = self.catalog_started if self.catalog is not None else 0.0
        self.resource_group, self.identity_name, self.location, self.tags = "", "", None, {}
        self.roles, self.app_id, self.container = [], None, None
        self.can_assign, self.existing_assignments = {}, []
        return True

    def catalog_loaded(self, catalog: Catalog) -> bool:
        """Keep a subscription's lists; True when they are the chosen subscription's."""
        self.catalogs[catalog.subscription] = catalog
        if catalog.subscription != self.subscription:
            return False
        self.catalog, self.catalog_error = catalog, None
        if not self.catalog_ready:
            self.catalog_ready = time.perf_counter()
        return True

    def subscription_name(self) -> str:
        found = next((s for s in self.subscriptions if s.id == self.subscription), None)
        return found.name if found else (self.subscription or "")

    # -- what the catalog says about the choices ---------------------------------------------------
    def group(self) -> ResourceGroup | None:
        if self.catalog is None:
            return None
        wanted = self.resource_group.lower()
        return next((g for g in self.catalog.groups if g.name.lower() == wanted), None)

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
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    # -- the plan -------------------------------------------------------------------------------------
    def to_plan(self) -> Plan:
        return Plan(
            subscription=self.subscription or "",
            identity=IdentitySpec(self.resource_group, self.identity_name, self.location, dict(self.tags)),
            role_assignments=list(self.roles),
            container_app=AppTarget(self.app_id, self.container, self.env_var) if self.app_id else None,
        )

    def load_plan(self, plan: Plan) -> None:
        self.subscription = plan.subscription
        self.resource_group, self.identity_name = plan.identity.resource_group, plan.identity.name
        self.location, self.tags = plan.identity.location, dict(plan.identity.tags)
        self.roles = list(plan.role_assignments)
        if plan.container_app:
            self.app_id, self.container = plan.container_app.id, plan.container_app.container
            self.env_var = plan.container_app.env_var
