"""Microsoft.Resources: subscriptions, locations, provider registration, resource groups and
generic resources (the read-only view of Key Vaults, storage accounts and everything else).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..arm import ROUTER, ArmError, Ctx, json_response, not_found, page
from .authorization import authorize
from .common import group_id, require_group, require_subscription, validate_tags

LOCATIONS = {
    "westeurope": "West Europe",
    "northeurope": "North Europe",
    "uksouth": "UK South",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "swedencentral": "Sweden Central",
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus2": "West US 2",
    "centralus": "Central US",
    "canadacentral": "Canada Central",
    "australiaeast": "Australia East",
    "japaneast": "Japan East",
    "southeastasia": "Southeast Asia",
}

PROVIDER_TYPES = {
    "Microsoft.ManagedIdentity": ["userAssignedIdentities", "operations"],
    "Microsoft.Authorization": ["roleAssignments", "roleDefinitions", "permissions"],
    "Microsoft.App": ["containerApps", "managedEnvironments", "operations"],
    "Microsoft.KeyVault": ["vaults"],
    "Microsoft.Storage": ["storageAccounts"],
    "Microsoft.Resources": ["resourceGroups", "subscriptions"],
}

_GROUP_NAME_RE = re.compile(r"^[-\w._()]{1,90}$")


def location_key(location: str) -> str:
    """'West Europe' and 'westeurope' are the same region to ARM."""
    return location.replace(" ", "").lower()


def required_location(body: dict[str, Any], code: str, what: str) -> str:
    """The body's location, or the 400 ARM answers when it is missing or not a region it serves."""
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    if location_key(location) not in LOCATIONS:
        raise ArmError(
            400,
            code,
            f"The provided location '{location}' is not available for {what}. List of available "
            f"regions is '{','.join(LOCATIONS)}'.",
        )
    return location


# -- subscriptions ------------------------------------------------------------------------------
@ROUTER.route("GET", "/subscriptions")
async def list_subscriptions(ctx: Ctx) -> web.Response:
    return page(ctx, ctx.sandbox.store.subscriptions.values())


@ROUTER.route("GET", "/tenants")
async def list_tenants(ctx: Ctx) -> web.Response:
    tid = ctx.sandbox.store.tenant_id
    return page(
        ctx,
        [
            {
                "id": f"/tenants/{tid}",
                "tenantId": tid,
                "tenantCategory": "Home",
                "displayName": ctx.sandbox.store.caller.get("tenant_name", "Sandbox tenant"),
                "defaultDomain": "sandbox.onmicrosoft.com",
            }
        ],
    )


@ROUTER.route("GET", "/subscriptions/{sub}")
async def get_subscription(ctx: Ctx, sub: str) -> web.Response:
    return json_response(require_subscription(ctx, sub))


@ROUTER.route("GET", "/subscriptions/{sub}/locations")
async def list_locations(ctx: Ctx, sub: str) -> web.Response:
    found = require_subscription(ctx, sub)
    return json_response(
        {
            "value": [
                {
                    "id": f"{found['id']}/locations/{name}",
                    "name": name,
                    "displayName": display,
                    "regionalDisplayName": display,
                    "type": "Region",
                    "metadata": {"regionType": "Physical", "regionCategory": "Recommended"},
                }
                for name, display in LOCATIONS.items()
            ]
        }
    )


# -- provider registration ----------------------------------------------------------------------
def _provider_states(ctx: Ctx, sub: str) -> dict[str, str]:
    found = require_subscription(ctx, sub)
    return ctx.sandbox.store.hidden_for(found["id"]).setdefault(
        "providers", {ns: "Registered" for ns in PROVIDER_TYPES}
    )


def _provider_body(sub: str, namespace: str, state: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": state,
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {"resourceType": t, "locations": list(LOCATIONS.values()), "apiVersions": []}
            for t in PROVIDER_TYPES.get(namespace, [])
        ],
    }


def _known_namespace(states: dict[str, str], namespace: str) -> str:
    for ns in states:
        if ns.lower() == namespace.lower():
            return ns
    raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")


@ROUTER.route("GET", "/subscriptions/{sub}/providers")
async def list_providers(ctx: Ctx, sub: str) -> web.Response:
    states = _provider_states(ctx, sub)
    return page(ctx, [_provider_body(sub, ns, state) for ns, state in states.items()])


@ROUTER.route("GET", "/subscriptions/{sub}/providers/{namespace}")
async def get_provider(ctx: Ctx, sub: str, namespace: str) -> web.Response:
    states = _provider_states(ctx, sub)
    ns = _known_namespace(states, namespace)
    return json_response(_provider_body(sub, ns, states[ns]))


@ROUTER.route("POST", "/subscriptions/{sub}/providers/{namespace}/register")
async def register_provider(ctx: Ctx, sub: str, namespace: str) -> web.Response:
    states = _provider_states(ctx, sub)
    ns = _known_namespace(states, namespace)
    authorize(ctx, f"/subscriptions/{sub}", f"{ns}/register/action")
    states[ns] = "Registered"
    ctx.sandbox.store.touch()
    return json_response(_provider_body(sub, ns, states[ns]))


def require_registered(ctx: Ctx, sub: str, namespace: str) -> None:
    """ARM refuses writes of a provider the subscription has not registered."""
    states = _provider_states(ctx, sub)
    ns = _known_namespace(states, namespace)
    if states[ns] != "Registered":
        raise ArmError(
            409,
            "MissingSubscriptionRegistration",
            f"The subscription is not registered to use namespace '{ns}'. "
            "See https://aka.ms/rps-not-found for how to register subscriptions.",
        )


# -- resource groups ----------------------------------------------------------------------------
def _tag_filter(ctx: Ctx) -> Callable[[dict[str, Any]], bool]:
    raw = ctx.query.get("$filter", "").strip()
    if not raw:
        return lambda _res: True
    m = re.fullmatch(r"tagName eq '([^']*)'(?:\s+and\s+tagValue eq '([^']*)')?", raw, re.IGNORECASE)
    if not m:
        raise ArmError(400, "InvalidFilterInQueryString", f"The $filter '{raw}' is not supported here.")
    name, value = m.group(1).lower(), m.group(2)

    def keep(res: dict[str, Any]) -> bool:
        tags = {k.lower(): v for k, v in (res.get("tags") or {}).items()}
        return name in tags and (value is None or tags[name] == value)

    return keep


@ROUTER.route("GET", "/subscriptions/{sub}/resourcegroups")
async def list_groups(ctx: Ctx, sub: str) -> web.Response:
    require_subscription(ctx, sub)
    keep = _tag_filter(ctx)
    groups = [g for g in ctx.sandbox.store.of_type("Microsoft.Resources/resourceGroups", f"/subscriptions/{sub}")]
    return page(ctx, (g for g in groups if keep(g)))


@ROUTER.route("GET", "/subscriptions/{sub}/resourcegroups/{rg}")
async def get_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    return json_response(require_group(ctx, sub, rg))


@ROUTER.route("HEAD", "/subscriptions/{sub}/resourcegroups/{rg}")
async def group_exists(ctx: Ctx, sub: str, rg: str) -> web.Response:
    require_subscription(ctx, sub)
    found = ctx.sandbox.store.get(group_id(sub, rg))
    return web.Response(status=204 if found else 404)


@ROUTER.route("PUT", "/subscriptions/{sub}/resourcegroups/{rg}")
async def put_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    found_sub = require_subscription(ctx, sub)
    body = await ctx.json()
    if not _GROUP_NAME_RE.match(rg) or rg.endswith("."):
        raise ArmError(
            400,
            "InvalidResourceGroupName",
            f"Resource group name '{rg}' is invalid: use 1-90 letters, digits, underscores, hyphens, periods "
            "and parentheses, not ending in a period.",
        )
    location = required_location(body, "LocationNotAvailableForResourceGroup", "resource group")
    tags = validate_tags(body.get("tags"))
    authorize(
        ctx, f"/subscriptions/{sub}/resourceGroups/{rg}", "Microsoft.Resources/subscriptions/resourceGroups/write"
    )
    store = ctx.sandbox.store
    existing = store.get(group_id(sub, rg))
    if existing is not None:
        if location_key(existing["location"]) != location_key(location):
            raise ArmError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already exists in location "
                f"'{existing['location']}'.",
            )
        existing["tags"] = tags
        store.put(existing)
        return json_response(existing, status=200)
    created = store.put(
        {
            "id": f"{found_sub['id']}/resourceGroups/{rg}",
            "name": rg,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location_key(location),
            "tags": tags,
            "properties": {"provisioningState": "Succeeded"},
        }
    )
    return json_response(created, status=201)


@ROUTER.route("DELETE", "/subscriptions/{sub}/resourcegroups/{rg}")
async def delete_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    require_subscription(ctx, sub)
    found = ctx.sandbox.store.get(group_id(sub, rg))
    if found is None:
        return web.Response(status=204)
    authorize(ctx, found["id"], "Microsoft.Resources/subscriptions/resourceGroups/delete")
    ctx.sandbox.store.delete_tree(found["id"])
    return web.Response(status=200)


# -- generic resources --------------------------------------------------------------------------
_FILTER_CLAUSE = re.compile(r"^(resourceType|name|location) eq '([^']*)'$", re.IGNORECASE)


def _resource_filter(ctx: Ctx) -> Callable[[dict[str, Any]], bool]:
    raw = ctx.query.get("$filter", "").strip()
    if not raw:
        return lambda _res: True
    # ARM accepts clauses joined by `or` on one property, and `and` across properties.
    conjuncts: list[list[tuple[str, str]]] = []
    for conj in re.split(r"\s+and\s+", raw, flags=re.IGNORECASE):
        options = []
        for clause in re.split(r"\s+or\s+", conj.strip().strip("()"), flags=re.IGNORECASE):
            m = _FILTER_CLAUSE.match(clause.strip())
            if not m:
                raise ArmError(400, "InvalidFilterInQueryString", f"The $filter '{raw}' is not supported.")
            options.append((m.group(1).lower(), m.group(2).lower()))
        conjuncts.append(options)
    fields = {"resourcetype": "type", "name": "name", "location": "location"}

    def keep(res: dict[str, Any]) -> bool:
        return all(any(str(res.get(fields[f], "")).lower() == v for f, v in opts) for opts in conjuncts)

    return keep


def _listed(res: dict[str, Any]) -> dict[str, Any]:
    """A resource as the list operation shows it: identity, sku, kind and tags, no properties."""
    keys = ("id", "name", "type", "location", "tags", "kind", "sku", "identity", "managedBy")
    return {k: res[k] for k in keys if k in res}


def _generic_resources(ctx: Ctx, under: str) -> list[dict[str, Any]]:
    keep = _resource_filter(ctx)
    prefix = under.lower() + "/"
    return [
        _listed(res)
        for key, res in ctx.sandbox.store.resources.items()
        if key.startswith(prefix)
        and "/providers/" in key
        and res.get("type", "").lower()
        not in ("microsoft.authorization/roleassignments", "microsoft.authorization/roledefinitions")
        and keep(res)
    ]


@ROUTER.route("GET", "/subscriptions/{sub}/resources")
async def list_resources(ctx: Ctx, sub: str) -> web.Response:
    found = require_subscription(ctx, sub)
    return page(ctx, _generic_resources(ctx, found["id"]))


@ROUTER.route("GET", "/subscriptions/{sub}/resourcegroups/{rg}/resources")
async def list_group_resources(ctx: Ctx, sub: str, rg: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    return page(ctx, _generic_resources(ctx, group["id"]))


@ROUTER.route("GET", "/subscriptions/{sub}/resourcegroups/{rg}/providers/{namespace}/{rtype}/{name}", fallback=True)
async def get_resource(ctx: Ctx, sub: str, rg: str, namespace: str, rtype: str, name: str) -> web.Response:
    require_group(ctx, sub, rg)
    found = ctx.sandbox.store.get(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{rtype}/{name}")
    if found is None:
        raise not_found(f"{namespace}/{rtype}", name, rg)
    return json_response(found)


@ROUTER.route("GET", "/subscriptions/{sub}/providers/{namespace}/{rtype}", fallback=True)
async def list_provider_resources(ctx: Ctx, sub: str, namespace: str, rtype: str) -> web.Response:
    """A provider's own list of one type (Vaults_ListBySubscription, StorageAccounts_List, ...):
    unlike the generic resource list, each item comes with its properties."""
    found = require_subscription(ctx, sub)
    wanted = f"{namespace}/{rtype}"
    items = list(ctx.sandbox.store.of_type(wanted, found["id"]))
    if not items and namespace.lower() not in {ns.lower() for ns in PROVIDER_TYPES}:
        raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
    return page(ctx, items)
