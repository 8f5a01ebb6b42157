"""Everything the wizard's later screens list for one subscription, loaded at once.

Started as soon as a subscription is chosen, while the admin reads the identity screen, so the
lists are ready when they get there: independent reads run concurrently, two round trips deep
(a vault's permission model needs a read of its own after the listing).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .azure.gateway import Gateway
from .model import ContainerApp, Identity, Location, ResourceGroup, RoleDefinition, ScopeResource


@dataclass
class Catalog:
    subscription: str
    groups: list[ResourceGroup] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    roles: list[RoleDefinition] = field(default_factory=list)
    scopes: list[ScopeResource] = field(default_factory=list)
    apps: list[ContainerApp] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)  # the regions the subscription offers


async def load_catalog(gateway: Gateway, subscription: str) -> Catalog:
    """Every list the wizard shows for `subscription`, read concurrently. Raises GatewayError."""
    groups, identities, roles, scopes, apps, locations = await asyncio.gather(
        gateway.resource_groups(subscription),
        gateway.identities(subscription),
        gateway.role_definitions(subscription),
        gateway.scope_resources(subscription),
        gateway.container_apps(subscription),
        gateway.locations(subscription),
    )
    return Catalog(subscription, groups, identities, roles, scopes, apps, locations)
