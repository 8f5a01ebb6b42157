"""Microsoft.ManagedIdentity/userAssignedIdentities: synchronous create, update, get, delete, list."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from ..arm import ROUTER, ArmError, Ctx, json_response, not_found, page
from ..store import Principal
from .authorization import authorize
from .common import created_stamp, modified_stamp, require_group, require_subscription, validate_tags
from .resources import location_key, require_registered, required_location

TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
BASE = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")


def check_identity_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ArmError(
            400,
            "InvalidResourceName",
            f"Resource name '{name}' is invalid. The name can be 3 to 128 characters long, may contain only "
            "letters, digits, hyphens and underscores, and must start with a letter or digit.",
        )


def identity_id(group: dict[str, Any], name: str) -> str:
    return f"{group['id']}/providers/{TYPE}/{name}"


@ROUTER.route("PUT", BASE + "/{name}")
async def put_identity(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    body = await ctx.json()
    check_identity_name(name)
    location = required_location(body, "LocationNotAvailableForResourceType", f"resource type '{TYPE}'")
    tags = validate_tags(body.get("tags"))
    rid = identity_id(group, name)
    authorize(ctx, rid, f"{TYPE}/write")
    require_registered(ctx, sub, "Microsoft.ManagedIdentity")
    store = ctx.sandbox.store
    existing = store.get(rid)
    if existing is not None:
        if location_key(existing["location"]) != location_key(location):
            raise ArmError(
                400,
                "InvalidResourceLocation",
                f"The resource '{name}' already exists in location '{existing['location']}' in resource group "
                f"'{group['name']}'. A resource with the same name cannot be created in location '{location}'.",
            )
        existing["tags"] = tags
        modified_stamp(ctx, existing)
        return json_response(store.put(existing), status=200)
    principal_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())
    store.add_principal(Principal(object_id=principal_id, kind="ServicePrincipal", display_name=name))
    created = store.put(
        {
            "id": rid,
            "name": name,
            "type": TYPE,
            "location": location_key(location),
            "tags": tags,
            "properties": {
                "tenantId": store.tenant_id,
                "principalId": principal_id,
                "clientId": client_id,
                "isolationScope": "None",
            },
            "systemData": created_stamp(ctx),
        }
    )
    return json_response(created, status=201)


@ROUTER.route("PATCH", BASE + "/{name}")
async def patch_identity(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    body = await ctx.json()
    rid = identity_id(group, name)
    store = ctx.sandbox.store
    existing = store.get(rid)
    if existing is None:
        raise not_found(TYPE, name, rg)
    authorize(ctx, rid, f"{TYPE}/write")
    if "location" in body and location_key(str(body["location"])) != location_key(existing["location"]):
        raise ArmError(400, "LocationCannotBeChanged", "The location of an identity cannot be changed.")
    if "tags" in body:
        existing["tags"] = validate_tags(body["tags"])
    modified_stamp(ctx, existing)
    return json_response(store.put(existing), status=200)


@ROUTER.route("GET", BASE + "/{name}")
async def get_identity(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    found = ctx.sandbox.store.get(identity_id(group, name))
    if found is None:
        raise not_found(TYPE, name, rg)
    return json_response(found)


@ROUTER.route("DELETE", BASE + "/{name}")
async def delete_identity(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    rid = identity_id(group, name)
    store = ctx.sandbox.store
    found = store.get(rid)
    if found is None:
        return web.Response(status=204)
    authorize(ctx, rid, f"{TYPE}/delete")
    store.delete(rid)
    store.principals.pop(found["properties"]["principalId"].lower(), None)
    return web.Response(status=200)


@ROUTER.route("GET", BASE)
async def list_identities_in_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    return page(ctx, ctx.sandbox.store.of_type(TYPE, group["id"]))


@ROUTER.route("GET", "/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities")
async def list_identities(ctx: Ctx, sub: str) -> web.Response:
    found = require_subscription(ctx, sub)
    return page(ctx, ctx.sandbox.store.of_type(TYPE, found["id"]))
