"""Microsoft.Resources: subscriptions, locations, provider registration, resource groups and
generic resources (the read-only view of Key Vaults, storage accounts and everything else).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..api_versions import supported_versions
from ..arm import ROUTER, ArmError, Ctx, json_response, not_found, page
from ..filters import resource_filter
from ..store import Store
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
# Resource Manager's own namespaces need no registration; the others start Registered unless a scenario
# or `--unregistered` says otherwise.
REGISTRATION_FREE = ("Microsoft.Resources", "Microsoft.Authorization")
REGISTRABLE = {ns.lower() for ns in PROVIDER_TYPES if ns not in REGISTRATION_FREE}
_REGISTERING = "registering_polls"  # hidden: namespace -> provider reads left before Registered


def _provider_states(store: Store, sub_id: str, keep: bool = False) -> dict[str, str]:
    """The subscription's provider states. Until something is registered or unregistered they are the
    defaults, held nowhere: a read leaves the saved tenant byte for byte as it was. `keep` (a write)
    stores them first, so that changes to the returned dict last."""
    defaults = {ns: "Registered" for ns in PROVIDER_TYPES}
    if keep:
        return store.hidden_for(sub_id).setdefault("providers", defaults)
    found = (store.hidden.get(sub_id.lower()) or {}).get("providers")
    return found if found is not None else defaults


def _subscription_states(ctx: Ctx, sub: str, keep: bool = False) -> dict[str, str]:
    return _provider_states(ctx.sandbox.store, require_subscription(ctx, sub)["id"], keep)


def apply_unregistered(store: Store, specs: tuple[str, ...]) -> None:
    """Mark providers NotRegistered as `--unregistered NAMESPACE[@SUBSCRIPTION]` says: every subscription,
    or the one named by id or display name. ValueError (a usage error) names an unknown namespace, one
    that needs no registration, or an unknown subscription."""
    for spec in specs:
        namespace, _, wanted = spec.partition("@")
        canonical = next((ns for ns in PROVIDER_TYPES if ns.lower() == namespace.strip().lower()), None)
        if canonical is None or canonical in REGISTRATION_FREE:
            choices = ", ".join(ns for ns in PROVIDER_TYPES if ns not in REGISTRATION_FREE)
            raise ValueError(f"--unregistered {namespace!r}: not a provider to unregister; choose one of {choices}")
        subs = [
            s
            for s in store.subscriptions.values()
            if not wanted or wanted.strip().lower() in (s["subscriptionId"].lower(), s["displayName"].lower())
        ]
        if not subs:
            raise ValueError(f"--unregistered {spec!r}: no subscription has the id or display name {wanted!r}")
        for sub in subs:
            _provider_states(store, sub["id"], keep=True)[canonical] = "NotRegistered"
            store.hidden_for(sub["id"]).get(_REGISTERING, {}).pop(canonical, None)
    if specs:
        store.touch()


def _provider_body(sub: str, namespace: str, state: str) -> dict[str, Any]:
    locations = list(LOCATIONS.values())
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": state,
        "registrationPolicy": "RegistrationFree" if namespace in REGISTRATION_FREE else "RegistrationRequired",
        "resourceTypes": [
            {"resourceType": t, "locations": locations, "apiVersions": supported_versions(namespace, t)}
            for t in PROVIDER_TYPES.get(namespace, [])
        ],
    }


def _known_namespace(states: dict[str, str], namespace: str) -> str:
    for ns in states:
        if ns.lower() == namespace.lower():
            return ns
    raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")


def _read_state(ctx: Ctx, sub: str, namespace: str) -> str:
    """A provider's state as a read shows it: a registration completes after `lro_polls` reads, as a
    client polling `az provider show` sees Registering turn into Registered."""
    found = require_subscription(ctx, sub)
    states = _provider_states(ctx.sandbox.store, found["id"])
    pending = (ctx.sandbox.store.hidden.get(found["id"].lower()) or {}).get(_REGISTERING, {})
    if states[namespace] == "Registering":
        if pending.get(namespace, 0) > 0:
            pending[namespace] -= 1
        else:
            states[namespace] = "Registered"
            pending.pop(namespace, None)
        ctx.sandbox.store.touch()
    return states[namespace]


@ROUTER.route("GET", "/subscriptions/{sub}/providers")
async def list_providers(ctx: Ctx, sub: str) -> web.Response:
    states = _subscription_states(ctx, sub)
    return page(ctx, [_provider_body(sub, ns, _read_state(ctx, sub, ns)) for ns in list(states)])


@ROUTER.route("GET", "/subscriptions/{sub}/providers/{namespace}")
async def get_provider(ctx: Ctx, sub: str, namespace: str) -> web.Response:
    ns = _known_namespace(_subscription_states(ctx, sub), namespace)
    return json_response(_provider_body(sub, ns, _read_state(ctx, sub, ns)))


@ROUTER.route("POST", "/subscriptions/{sub}/providers/{namespace}/register")
async def register_provider(ctx: Ctx, sub: str, namespace: str) -> web.Response:
    """Provider registration: needs `{namespace}/register/action` (Contributor and Owner have it, Reader
    not); the provider is Registering until read `lro_polls` times, then Registered."""
    found = require_subscription(ctx, sub)
    states = _subscription_states(ctx, sub, keep=True)
    ns = _known_namespace(states, namespace)
    authorize(ctx, found["id"], f"{ns}/register/action")
    if states[ns] != "Registered":
        states[ns] = "Registering"
        ctx.sandbox.store.hidden_for(found["id"]).setdefault(_REGISTERING, {})[ns] = ctx.sandbox.config.lro_polls
        ctx.sandbox.store.touch()
    return json_response(_provider_body(sub, ns, states[ns]))


def require_registered(ctx: Ctx, sub: str, namespace: str) -> None:
    """ARM refuses writes of a provider the subscription has not registered (409
    MissingSubscriptionRegistration, its message and `details` as ARM sends them: azure-mgmt-core's
    auto-registration reads the namespace from the message's last quoted word)."""
    states = _subscription_states(ctx, sub)
    ns = _known_namespace(states, namespace)
    state = states[ns]
    if state == "Registered":
        return
    if state == "NotRegistered":
        message = f"The subscription is not registered to use namespace '{ns}'."
    else:
        message = (
            f"The subscription registration is in '{state}' state. The subscription must be registered to use "
            f"namespace '{ns}'."
        )
    message += " See https://aka.ms/rps-not-found for how to register subscriptions."
    raise ArmError(
        409,
        "MissingSubscriptionRegistration",
        message,
        details=[{"code": "MissingSubscriptionRegistration", "target": ns, "message": message}],
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


@ROUTER.route("PATCH", "/subscriptions/{sub}/resourcegroups/{rg}")
async def patch_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    """ResourceGroups_Update: "if a field is unspecified, the current value is retained"; tags given
    replace the group's (one per name whatever its case, as validate_tags keeps them)."""
    found = require_group(ctx, sub, rg)
    body = await ctx.json()
    authorize(ctx, found["id"], "Microsoft.Resources/subscriptions/resourceGroups/write")
    if "location" in body and location_key(str(body["location"])) != location_key(found["location"]):
        raise ArmError(
            409,
            "InvalidResourceGroupLocation",
            f"Invalid resource group location '{body['location']}'. The Resource group already exists in location "
            f"'{found['location']}'.",
        )
    if body.get("tags") is not None:
        found["tags"] = validate_tags(body["tags"])
    if "managedBy" in body:
        found["managedBy"] = body["managedBy"]
    return json_response(ctx.sandbox.store.put(found))


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
def _listed(res: dict[str, Any], untagged: bool = False) -> dict[str, Any]:
    """A resource as the list operation shows it: identity, sku, kind and tags (not when the list was
    filtered by a tag's value), no properties."""
    keys = ("id", "name", "type", "location", "kind", "sku", "identity", "managedBy", *(() if untagged else ("tags",)))
    return {k: res[k] for k in keys if k in res}


def _generic_resources(ctx: Ctx, under: str) -> list[dict[str, Any]]:
    keep, untagged = resource_filter(ctx.query.get("$filter", ""))
    prefix = under.lower() + "/"
    return [
        _listed(res, untagged)
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
