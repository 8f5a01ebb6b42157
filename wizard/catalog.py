"""Everything the wizard's later screens list for one subscription, loaded at once.

Started as soon as a subscription is chosen, while the admin reads the identity screen, so the
lists are ready when they get there. Every list's first page is read concurrently, one round trip
in all (a subscription's resource groups fit one page: see `Gateway.resource_group_pages`); a list
longer than its provider's page (a thousand container apps) is then read page by page behind the
screen, each long list beside the others, and the screens show it again once it is whole.
ARM gives no way to ask for a later page before the one naming it (its `nextLink` holds an opaque
`$skiptoken`), so a long list can only be read faster in the background, not in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .azure.gateway import Gateway, Page
from .model import ContainerApp, Identity, Location, ResourceGroup, RoleDefinition, ScopeResource

# The lists that may come in several pages, by their Catalog field.
PAGED = ("groups", "identities", "apps")


@dataclass
class Catalog:
    subscription: str
    groups: list[ResourceGroup] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    roles: list[RoleDefinition] = field(default_factory=list)
    scopes: list[ScopeResource] = field(default_factory=list)
    apps: list[ContainerApp] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)  # the regions the subscription offers
    # The lists (of PAGED) whose later pages are still being read: until then each holds its first page.
    loading: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        return not self.loading


async def load_catalog(gateway: Gateway, subscription: str) -> Catalog:
    """Every list the wizard shows for `subscription`, whole. Raises GatewayError."""
    catalog, rest = await open_catalog(gateway, subscription)
    async for _ in rest:
        pass
    return catalog


async def open_catalog(gateway: Gateway, subscription: str) -> tuple[Catalog, AsyncIterator[str]]:
    """The catalog as soon as every list has its first page (read concurrently: one round trip),
    and an iterator that reads the rest of the long lists into it, concurrently, yielding the name
    of each list (a Catalog field) once it is whole. Closing the iterator early stops the reading.
    Raises GatewayError (from the iterator too)."""
    streams: dict[str, AsyncIterator[Page[Any]]] = {
        "groups": gateway.resource_group_pages(subscription),
        "identities": gateway.identity_pages(subscription),
        "apps": gateway.container_app_pages(subscription),
    }
    try:
        firsts, roles, scopes, locations = await asyncio.gather(
            asyncio.gather(*(anext(stream) for stream in streams.values())),
            gateway.role_definitions(subscription),
            gateway.scope_resources(subscription),
            gateway.locations(subscription),
        )
    except BaseException:
        await _close(streams.values())
        raise
    first: dict[str, Page[Any]] = dict(zip(streams, firsts, strict=True))
    catalog = Catalog(
        subscription,
        groups=_sorted(first["groups"].items),
        identities=_sorted(first["identities"].items),
        roles=roles,
        scopes=scopes,
        apps=_sorted(first["apps"].items),
        locations=locations,
        loading=frozenset(name for name, page in first.items() if page.more),
    )
    await _close(stream for name, stream in streams.items() if name not in catalog.loading)
    return catalog, _the_rest(catalog, {name: streams[name] for name in catalog.loading})


async def _the_rest(catalog: Catalog, streams: dict[str, AsyncIterator[Page[Any]]]) -> AsyncIterator[str]:
    async def whole(name: str, stream: AsyncIterator[Page[Any]]) -> tuple[str, list[Any]]:
        items: list[Any] = []
        async for page in stream:
            items += page.items
        return name, items

    tasks = [asyncio.ensure_future(whole(name, stream)) for name, stream in streams.items()]
    try:
        for next_done in asyncio.as_completed(tasks):
            name, items = await next_done
            setattr(catalog, name, _sorted([*getattr(catalog, name), *items]))
            catalog.loading = catalog.loading - {name}
            yield name
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*tasks, return_exceptions=True)
        await _close(streams.values())


async def _close(streams: Any) -> None:
    for stream in streams:
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]


def _sorted(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: item.name.lower())
