"""Microsoft.Authorization: role definitions, role assignments, the caller's permissions, and
the access check every sandbox write goes through (so a Contributor is refused role
assignments exactly as at ARM: by the real built-in role's actions and notActions).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import time
from importlib import resources as package_files
from typing import Any

from aiohttp import web

from ...rbac import allowed
from ..arm import ROUTER, ArmError, Ctx, is_guid, json_response, not_found, page
from ..store import Store
from .common import now_iso, require_group, require_subscription

RA_TYPE = "Microsoft.Authorization/roleAssignments"
RD_TYPE = "Microsoft.Authorization/roleDefinitions"
RD_SEGMENT = "/providers/Microsoft.Authorization/roleDefinitions/"
RA_WRITE = "Microsoft.Authorization/roleAssignments/write"
RA_DELETE = "Microsoft.Authorization/roleAssignments/delete"


# -- role definitions ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def builtin_roles() -> dict[str, dict[str, Any]]:
    """Built-in roles by lower-cased GUID, in `az role definition list` field names."""
    data = package_files.files("wizard.sandbox").joinpath("data/builtin_roles.json.gz").read_bytes()
    return {r["name"].lower(): r for r in json.loads(gzip.decompress(data))}


def builtin_by_name(role_name: str) -> dict[str, Any]:
    for role in builtin_roles().values():
        if role["roleName"].lower() == role_name.lower():
            return role
    raise KeyError(role_name)


def _wire(role: dict[str, Any], scope: str) -> dict[str, Any]:
    """A built-in role as ARM serves it when listed or read at `scope`."""
    return {
        "id": f"{scope}{RD_SEGMENT}{role['name']}",
        "name": role["name"],
        "type": RD_TYPE,
        "properties": {
            "roleName": role["roleName"],
            "type": "BuiltInRole",
            "description": role["description"],
            "assignableScopes": ["/"],
            "permissions": role["permissions"],
            "createdOn": role["createdOn"],
            "updatedOn": role["updatedOn"],
            "createdBy": None,
            "updatedBy": None,
        },
    }


def _custom_roles(store: Store) -> list[dict[str, Any]]:
    return list(store.of_type(RD_TYPE))


def _covers(outer: str, inner: str) -> bool:
    """Whether scope `outer` is `inner` or one of its ancestors ("/" covers everything)."""
    o, i = outer.rstrip("/").lower(), inner.rstrip("/").lower()
    return o == "" or i == o or i.startswith(o + "/")


def find_role(store: Store, guid: str, scope: str = "") -> dict[str, Any] | None:
    """The role with this GUID usable at `scope`, in wire form, or None."""
    builtin = builtin_roles().get(guid.lower())
    if builtin is not None:
        return _wire(builtin, _subscription_part(scope))
    for role in _custom_roles(store):
        if role["name"].lower() == guid.lower() and (
            not scope or any(_covers(s, scope) for s in role["properties"]["assignableScopes"])
        ):
            return role
    return None


def _subscription_part(scope: str) -> str:
    m = re.match(r"^/subscriptions/[^/]+", scope, re.IGNORECASE)
    return m.group(0) if m else ""


def _role_definition_filter(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    m = re.fullmatch(r"roleName eq '([^']*)'", raw.strip(), re.IGNORECASE)
    if m:
        return m.group(1), None
    m = re.fullmatch(r"type eq '(BuiltInRole|CustomRole)'", raw.strip(), re.IGNORECASE)
    if m:
        return None, m.group(1).lower()
    raise ArmError(400, "InvalidFilterInQueryString", f"The $filter '{raw}' is not supported for role definitions.")


@ROUTER.route("GET", "{scope*}/providers/Microsoft.Authorization/roleDefinitions")
async def list_role_definitions(ctx: Ctx, scope: str) -> web.Response:
    scope = resolve_scope(ctx, scope, allow_root=True)
    role_name, role_type = _role_definition_filter(ctx.query.get("$filter", ""))
    found: list[dict[str, Any]] = []
    if role_type in (None, "builtinrole"):
        sub = _subscription_part(scope)
        found += [
            _wire(r, sub)
            for r in builtin_roles().values()
            if role_name is None or r["roleName"].lower() == role_name.lower()
        ]
    if role_type in (None, "customrole"):
        found += [
            r
            for r in _custom_roles(ctx.sandbox.store)
            if any(_covers(s, scope) or _covers(scope, s) for s in r["properties"]["assignableScopes"])
            and (role_name is None or r["properties"]["roleName"].lower() == role_name.lower())
        ]
    # ARM answers role definitions in a single page.
    return json_response({"value": found})


@ROUTER.route("GET", "{scope*}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
async def get_role_definition(ctx: Ctx, scope: str, guid: str) -> web.Response:
    scope = resolve_scope(ctx, scope, allow_root=True)
    role = find_role(ctx.sandbox.store, guid, scope)
    if role is None:
        raise ArmError(
            404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist."
        )
    return json_response(role)


# -- access checks ------------------------------------------------------------------------------
def _allows(permissions: list[dict[str, list[str]]], action: str) -> bool:
    return allowed(((p.get("actions", []), p.get("notActions", [])) for p in permissions), action)


def assignments_of(store: Store, principal_id: str) -> list[dict[str, Any]]:
    pid = principal_id.lower()
    return [a for a in store.of_type(RA_TYPE) if a["properties"]["principalId"].lower() == pid]


def effective_permissions(store: Store, principal_id: str, scope: str) -> list[dict[str, list[str]]]:
    """The permission blocks of every role the principal holds at `scope` or above."""
    blocks: list[dict[str, list[str]]] = []
    for assignment in assignments_of(store, principal_id):
        props = assignment["properties"]
        if not _covers(props["scope"], scope):
            continue
        role = find_role(store, props["roleDefinitionId"].rsplit("/", 1)[-1])
        if role is not None:
            blocks += role["properties"]["permissions"]
    return blocks


def _caller(ctx: Ctx) -> tuple[str, str]:
    """(how ARM names the caller in a message, the caller's object id)."""
    store = ctx.sandbox.store
    oid = ctx.caller_oid or store.caller["object_id"]
    return (store.caller.get("upn", oid) if oid == store.caller["object_id"] else oid), oid


def authorize(ctx: Ctx, scope: str, action: str) -> None:
    """Pass if the caller's roles at `scope` or above grant `action`; else ARM's 403 AuthorizationFailed."""
    who, oid = _caller(ctx)
    if _allows(effective_permissions(ctx.sandbox.store, oid, scope), action):
        return
    raise ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{who}' with object id '{oid}' does not have authorization to perform action "
        f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
        "please refresh your credentials.",
    )


def authorize_linked(ctx: Ctx, scope: str, action: str, linked: list[tuple[str, str]]) -> None:
    """ARM's check of a write that names other resources: `action` on `scope` itself, then each
    (linked scope, action) pair the request body names (a user-assigned identity it links needs
    `.../userAssignedIdentities/assign/action` on that identity). A missing one is 403
    LinkedAuthorizationFailed, naming the actions and linked scopes the caller lacks (the shape ARM
    answers, e.g. for `Microsoft.Network/virtualNetworks/subnets/join/action`)."""
    authorize(ctx, scope, action)
    who, oid = _caller(ctx)
    store = ctx.sandbox.store
    missing = [(s, a) for s, a in linked if not _allows(effective_permissions(store, oid, s), a)]
    if not missing:
        return
    raise ArmError(
        403,
        "LinkedAuthorizationFailed",
        f"The client '{who}' with object id '{oid}' has permission to perform action '{action}' on scope "
        f"'{scope}'; however, it does not have permission to perform action(s) "
        f"'{','.join(a for _, a in missing)}' on the linked scope(s) '{','.join(s for s, _ in missing)}' "
        "(respectively) or the linked scope(s) are invalid.",
    )


def set_caller_role(store: Store, role_name: str) -> None:
    """Make `role_name` the caller's only role, held at each subscription (for the permission matrix)."""
    try:
        role = builtin_by_name(role_name)
    except KeyError:
        # A ValueError, which `sandbox serve` reports as a usage error rather than a traceback.
        raise ValueError(
            f"caller role {role_name!r} is not a built-in role (for example Owner, Contributor, Reader)"
        ) from None
    caller = store.caller["object_id"]
    for assignment in assignments_of(store, caller):
        store.delete(assignment["id"])
    for sub in store.subscriptions.values():
        add_assignment(store, sub["id"], role["name"], caller, "User")


def add_assignment(
    store: Store, scope: str, role_guid: str, principal_id: str, principal_type: str, name: str | None = None
) -> dict[str, Any]:
    import uuid

    name = name or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{principal_id}|{role_guid}".lower()))
    stamp = now_iso()
    sub = _subscription_part(scope) or ""
    return store.put(
        {
            "id": f"{scope}/providers/{RA_TYPE}/{name}",
            "name": name,
            "type": RA_TYPE,
            "properties": {
                "roleDefinitionId": f"{sub}{RD_SEGMENT}{role_guid}",
                "principalId": principal_id,
                "principalType": principal_type,
                "scope": scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": stamp,
                "updatedOn": stamp,
                "createdBy": store.caller["object_id"],
                "updatedBy": store.caller["object_id"],
                "delegatedManagedIdentityResourceId": None,
                "description": None,
            },
        }
    )


# -- scopes -------------------------------------------------------------------------------------
def resolve_scope(ctx: Ctx, scope: str, allow_root: bool = False) -> str:
    """The scope in its stored spelling, or the 404 ARM gives for a scope that does not exist."""
    scope = scope.rstrip("/")
    if not scope:
        if allow_root:
            return ""
        raise ArmError(400, "InvalidScope", "The scope '/' is not valid for this operation.")
    m = re.fullmatch(r"/subscriptions/([^/]+)(?:/resourceGroups/([^/]+)(/providers/.+)?)?", scope, re.IGNORECASE)
    if not m:
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
    sub, rg, rest = m.groups()
    if rg is None:
        return str(require_subscription(ctx, sub)["id"])
    group = require_group(ctx, sub, rg)
    if rest is None:
        return str(group["id"])
    found = ctx.sandbox.store.get(scope)
    if found is None:
        raise not_found(rest.split("/providers/")[-1].rsplit("/", 1)[0], scope.rsplit("/", 1)[-1], group["name"])
    return str(found["id"])


# -- role assignments ---------------------------------------------------------------------------
_PRINCIPAL_TYPES = {"user", "group", "serviceprincipal", "foreigngroup", "device"}


@ROUTER.route("PUT", "{scope*}/providers/Microsoft.Authorization/roleAssignments/{name}")
async def create_role_assignment(ctx: Ctx, scope: str, name: str) -> web.Response:
    scope = resolve_scope(ctx, scope)
    body = await ctx.json()
    props = body.get("properties")
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must have 'properties'.")
    authorize(ctx, scope, RA_WRITE)
    if not is_guid(name):
        raise ArmError(
            400,
            "InvalidRoleAssignmentId",
            f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
        )
    role_id = str(props.get("roleDefinitionId") or "")
    principal_id = str(props.get("principalId") or "")
    if not role_id or not principal_id:
        raise ArmError(400, "InvalidRequestContent", "'roleDefinitionId' and 'principalId' are required.")
    role_guid = role_id.rstrip("/").rsplit("/", 1)[-1]
    store = ctx.sandbox.store
    if not is_guid(role_guid) or find_role(store, role_guid, scope) is None:
        raise ArmError(
            400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{role_guid}' does not exist."
        )
    if not is_guid(principal_id):
        raise ArmError(400, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
    principal_type = props.get("principalType")
    if principal_type is not None and str(principal_type).lower() not in _PRINCIPAL_TYPES:
        raise ArmError(400, "InvalidPrincipalType", f"The principal type '{principal_type}' is not valid.")
    principal = store.principal(principal_id)
    tenant = store.tenant_id
    if principal_type is None:
        # Without principalType ARM looks the principal up in the directory, which lags behind a
        # freshly created identity: the replication delay every automation script trips over.
        young = principal is not None and time.time() - principal.created < ctx.sandbox.config.replication_delay_s
        if principal is None or young:
            raise ArmError(
                400,
                "PrincipalNotFound",
                f"Principal {principal_id.replace('-', '')} does not exist in the directory {tenant}. Check that "
                "you have the correct principal ID. If you are creating this principal and then immediately "
                "assigning a role, this error might be related to a replication delay. In this case, set the "
                "role assignment principalType property to a value, such as ServicePrincipal, User, or Group. "
                "See https://aka.ms/docs-principaltype",
            )
        principal_type = principal.kind
    elif principal is not None and principal.kind.lower() != str(principal_type).lower():
        raise ArmError(
            400,
            "UnmatchedPrincipalType",
            f"The PrincipalId '{principal_id.replace('-', '')}' has type '{principal.kind}', which is different "
            f"from specified PrincipalType '{principal_type}'.",
        )
    rid = f"{scope}/providers/{RA_TYPE}/{name}"
    existing = store.get(rid)
    if existing is not None:
        ep = existing["properties"]
        if (
            ep["principalId"].lower() == principal_id.lower()
            and ep["roleDefinitionId"].rsplit("/", 1)[-1].lower() == role_guid.lower()
        ):
            return json_response(existing, status=201)
        raise ArmError(
            400,
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        )
    for other in assignments_of(store, principal_id):
        op = other["properties"]
        if (
            op["scope"].lower() == scope.lower()
            and op["roleDefinitionId"].rsplit("/", 1)[-1].lower() == role_guid.lower()
        ):
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
    created = add_assignment(store, scope, role_guid.lower(), principal_id, _canonical_type(str(principal_type)), name)
    created["properties"]["description"] = props.get("description")
    created["properties"]["createdBy"] = ctx.caller_oid
    created["properties"]["updatedBy"] = ctx.caller_oid
    return json_response(created, status=201)


def _canonical_type(value: str) -> str:
    names = {
        "user": "User",
        "group": "Group",
        "serviceprincipal": "ServicePrincipal",
        "foreigngroup": "ForeignGroup",
        "device": "Device",
    }
    return names[value.lower()]


@ROUTER.route("GET", "{scope*}/providers/Microsoft.Authorization/roleAssignments/{name}")
async def get_role_assignment(ctx: Ctx, scope: str, name: str) -> web.Response:
    scope = resolve_scope(ctx, scope)
    found = ctx.sandbox.store.get(f"{scope}/providers/{RA_TYPE}/{name}")
    if found is None:
        raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
    return json_response(found)


@ROUTER.route("DELETE", "{scope*}/providers/Microsoft.Authorization/roleAssignments/{name}")
async def delete_role_assignment(ctx: Ctx, scope: str, name: str) -> web.Response:
    scope = resolve_scope(ctx, scope)
    rid = f"{scope}/providers/{RA_TYPE}/{name}"
    store = ctx.sandbox.store
    found = store.get(rid)
    if found is None:
        return web.Response(status=204)
    authorize(ctx, scope, RA_DELETE)
    store.delete(rid)
    return json_response(found, status=200)


def _assignment_filter(raw: str) -> tuple[bool, str | None]:
    """(atScope, principalId) from ARM's filter grammar: `atScope()`, `principalId eq '…'`, `assignedTo('…')`."""
    at_scope, principal = False, None
    if not raw.strip():
        return at_scope, principal
    for clause in re.split(r"\s+and\s+", raw.strip(), flags=re.IGNORECASE):
        clause = clause.strip()
        if re.fullmatch(r"atScope\(\)", clause, re.IGNORECASE):
            at_scope = True
            continue
        m = re.fullmatch(r"(?:principalId eq '([^']*)'|assignedTo\('([^']*)'\))", clause, re.IGNORECASE)
        if m:
            principal = m.group(1) or m.group(2)
            continue
        raise ArmError(400, "InvalidFilterInQueryString", f"The $filter '{raw}' is not supported for role assignments.")
    return at_scope, principal


@ROUTER.route("GET", "{scope*}/providers/Microsoft.Authorization/roleAssignments")
async def list_role_assignments(ctx: Ctx, scope: str) -> web.Response:
    scope = resolve_scope(ctx, scope)
    at_scope, principal = _assignment_filter(ctx.query.get("$filter", ""))
    found = []
    for assignment in ctx.sandbox.store.of_type(RA_TYPE):
        props = assignment["properties"]
        above = _covers(props["scope"], scope)
        below = _covers(scope, props["scope"])
        if not (above or (below and not at_scope)):
            continue
        if principal is not None and props["principalId"].lower() != principal.lower():
            continue
        found.append(assignment)
    return page(ctx, found)


@ROUTER.route("GET", "{scope*}/providers/Microsoft.Authorization/permissions")
async def list_permissions(ctx: Ctx, scope: str) -> web.Response:
    scope = resolve_scope(ctx, scope)
    store = ctx.sandbox.store
    blocks = effective_permissions(store, ctx.caller_oid or store.caller["object_id"], scope)
    return json_response(
        {
            "value": [
                {k: b.get(k, []) for k in ("actions", "notActions", "dataActions", "notDataActions")} for b in blocks
            ]
        }
    )
