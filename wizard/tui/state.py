"""Everything the wizard knows: the admin's choices and the model objects loaded for them.

Screens read and write this one object; none keeps Azure state of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..plan import AppTarget, IdentitySpec, Plan, RoleRequest

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..model import SignedIn, Subscription


@dataclass
class WizardState:
    signed_in: SignedIn | None = None
    subscriptions: list[Subscription] = field(default_factory=list)
    subscription: str | None = None
    catalog: Catalog | None = None
    catalog_started: float = 0.0
    catalog_ready: float = 0.0  # perf_counter when every list was loaded (the benchmark reads it)
    resource_group: str = ""
    identity_name: str = ""
    location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    roles: list[RoleRequest] = field(default_factory=list)
    app_id: str | None = None
    container: str | None = None
    env_var: str = "AZURE_CLIENT_ID"
    outcome: Any = None  # the ApplyOutcome once apply ran
    can_assign: dict[str, bool] = field(default_factory=dict)  # lower-cased scope -> may the admin assign roles
    existing_assignments: list[Any] = field(default_factory=list)  # of a reused identity

    def choose_subscription(self, sub: str) -> bool:
        """Record the subscription; True when it changed (every later choice then starts over)."""
        if sub == self.subscription:
            return False
        self.subscription = sub
        self.catalog = None
        self.catalog_started = time.perf_counter()
        self.catalog_ready = 0.0
        self.resource_group, self.identity_name, self.location = "", "", None
        self.roles, self.app_id, self.container = [], None, None
        self.can_assign, self.existing_assignments = {}, []
        return True

    def subscription_name(self) -> str:
        found = next((s for s in self.subscriptions if s.id == self.subscription), None)
        return found.name if found else (self.subscription or "")

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
