"""Microsoft.App: managed environments, container apps (long-running PUT and PATCH), their
operation status and results, revisions and secrets.

What this reproduces because the engine depends on it: PATCH merges objects (RFC 7386) and
replaces lists whole; secret values never appear in a GET, so a read-modified PUT fails on
its value-less secrets; a template change makes a new revision and an identity change does
not, and what az sends back unchanged (explicit nulls, `"value": ""` beside a `secretRef`) is no
change; `identity.type` decides whether the system-assigned identity (and its principal) lives;
identities the configuration names (registries, Key Vault secrets) must be linked to the app;
an app with an operation in progress refuses other writes (409); DELETE is long-running.
"""

from __future__ import annotations

import copy
import random
import re
import string
import uuid
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from ...mergepatch import merge_patch
from ..arm import ROUTER, ArmError, Ctx, expect, json_response, not_found, page, split_id
from ..store import Operation, Principal, Store
from .authorization import authorize, authorize_linked
from .common import created_stamp, merge_tags, now_iso, require_group, require_subscription, validate_tags
from .resources import LOCATIONS, location_key, require_registered

APP_TYPE = "Microsoft.App/containerApps"
ENV_TYPE = "Microsoft.App/managedEnvironments"
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
APPS = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.App/containerApps"
ENVS = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.App/managedEnvironments"
OPS = "/subscriptions/{sub}/providers/Microsoft.App/locations/{location}"

APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
CONTAINER_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
ASSIGN_ACTION = f"{IDENTITY_TYPE}/assign/action"
IDENTITY_TYPES = {
    "none": "None",
    "systemassigned": "SystemAssigned",
    "userassigned": "UserAssigned",
    "systemassigned,userassigned": "SystemAssigned,UserAssigned",
}


def cleaned(value: Any) -> Any:
    """A written template or configuration as Container Apps keeps it: an explicit null means the
    property is unset, and so does the empty `value` the az CLI writes beside an env var's
    `secretRef` (and an empty `secretRef` beside a value). Everything else stays as written."""
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {key: cleaned(item) for key, item in value.items() if item is not None}
    if out.get("secretRef") == "":
        del out["secretRef"]
    if out.get("secretRef") and out.get("value") == "":
        del out["value"]
    return out


def same_revision(before: Any, after: Any) -> bool:
    """Whether two templates are one revision (ContainerApps_Update makes a new revision only for a
    revision-scope change): equal once cleaned, with an empty list or object, or an empty
    `revisionSuffix`, read as the property left unset (what a client that echoes a GET sends)."""

    def normal(value: Any) -> Any:
        if isinstance(value, list):
            return [normal(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: normal(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ([], {}) and not (k == "revisionSuffix" and v == "")}

    return bool(normal(cleaned(before)) == normal(cleaned(after)))


# -- managed environments -----------------------------------------------------------------------
@ROUTER.route("GET", ENVS + "/{name}")
async def get_environment(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    found = ctx.sandbox.store.get(f"{group['id']}/providers/{ENV_TYPE}/{name}")
    if found is None:
        raise not_found(ENV_TYPE, name, rg)
    return json_response(found)


@ROUTER.route("GET", ENVS)
async def list_environments_in_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    return page(ctx, ctx.sandbox.store.of_type(ENV_TYPE, group["id"]))


@ROUTER.route("GET", "/subscriptions/{sub}/providers/Microsoft.App/managedEnvironments")
async def list_environments(ctx: Ctx, sub: str) -> web.Response:
    found = require_subscription(ctx, sub)
    return page(ctx, ctx.sandbox.store.of_type(ENV_TYPE, found["id"]))


# -- reads --------------------------------------------------------------------------------------
def _app_id(group: dict[str, Any], name: str) -> str:
    return f"{group['id']}/providers/{APP_TYPE}/{name}"


def _require_app(ctx: Ctx, sub: str, rg: str, name: str) -> dict[str, Any]:
    group = require_group(ctx, sub, rg)
    found = ctx.sandbox.store.get(_app_id(group, name))
    if found is None:
        raise not_found(APP_TYPE, name, rg)
    return found


@ROUTER.route("GET", APPS + "/{name}")
async def get_app(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    end_overdue_operations(ctx)
    app = _require_app(ctx, sub, rg, name)
    held = _meet_busy_fault(ctx, app, "get_app")
    # Azure finishes an operation whether or not anyone polls it; a read of the app moves its
    # pending operations on as a poll would, so a client that lost its poller still sees it end.
    pending = ctx.sandbox.store.pending_operations(app["id"])
    for op in pending:
        if not (held and op.kind == "foreign"):
            _advance(ctx, op)
    if not pending and app["properties"].get("provisioningState") in ("InProgress", "Deleting"):
        _settle_orphan(ctx, app)  # saved by a sandbox that kept no operations: nothing is running
    found = ctx.sandbox.store.get(app["id"])
    if found is None:
        raise not_found(APP_TYPE, name, rg)
    return json_response(found)


@ROUTER.route("GET", APPS)
async def list_apps_in_group(ctx: Ctx, sub: str, rg: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    end_overdue_operations(ctx)
    return page(ctx, ctx.sandbox.store.of_type(APP_TYPE, group["id"]))


@ROUTER.route("GET", "/subscriptions/{sub}/providers/Microsoft.App/containerApps")
async def list_apps(ctx: Ctx, sub: str) -> web.Response:
    found = require_subscription(ctx, sub)
    end_overdue_operations(ctx)
    return page(ctx, ctx.sandbox.store.of_type(APP_TYPE, found["id"]))


@ROUTER.route("POST", APPS + "/{name}/listSecrets")
async def list_secrets(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    app = _require_app(ctx, sub, rg, name)
    authorize(ctx, app["id"], f"{APP_TYPE}/listSecrets/action")
    secrets = ctx.sandbox.store.hidden_for(app["id"]).get("secrets", {})
    return json_response({"value": [{"name": k, **v} for k, v in secrets.items()]})


@ROUTER.route("GET", APPS + "/{name}/revisions")
async def list_revisions(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    app = _require_app(ctx, sub, rg, name)
    return page(ctx, ctx.sandbox.store.hidden_for(app["id"]).get("revisions", []))


@ROUTER.route("GET", APPS + "/{name}/revisions/{revision}")
async def get_revision(ctx: Ctx, sub: str, rg: str, name: str, revision: str) -> web.Response:
    app = _require_app(ctx, sub, rg, name)
    for rev in ctx.sandbox.store.hidden_for(app["id"]).get("revisions", []):
        if rev["name"].lower() == revision.lower():
            return json_response(rev)
    raise not_found(f"{APP_TYPE}/revisions", revision, rg)


# -- validation ---------------------------------------------------------------------------------
def _invalid(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)


def _check_template(template: Any, secret_names: set[str]) -> None:
    if not isinstance(template, dict):
        raise _invalid("ContainerAppInvalidTemplate", "properties.template is required.")
    containers = template.get("containers")
    if not isinstance(containers, list) or not containers:
        raise _invalid(
            "ContainerAppInvalidTemplate", "properties.template.containers must list at least one container."
        )
    seen: set[str] = set()
    for container in [*containers, *(template.get("initContainers") or [])]:
        cname = container.get("name") if isinstance(container, dict) else None
        if not isinstance(cname, str) or not CONTAINER_NAME_RE.match(cname):
            raise _invalid(
                "ContainerAppInvalidContainerName",
                f"Container name '{cname}' is invalid: use lower case letters, digits and '-', "
                "starting and ending with a letter or digit.",
            )
        if cname in seen:
            raise _invalid("ContainerAppDuplicateContainerName", f"Container name '{cname}' is used twice.")
        seen.add(cname)
        if not container.get("image"):
            raise _invalid("ContainerAppImageRequired", f"Container '{cname}' has no image.")
        # A name may appear twice: Container Apps accept it and the runtime uses the last entry ("If
        # multiple environment variables have the same name, the last one in the list is used", Microsoft
        # Learn, Azure Container Apps: Manage environment variables).
        for var in container.get("env") or []:
            vname = var.get("name") if isinstance(var, dict) else None
            if not isinstance(vname, str) or not ENV_NAME_RE.match(vname):
                raise _invalid(
                    "ContainerAppInvalidEnvVarName",
                    f"Environment variable name '{vname}' in container '{cname}' is invalid: it must start with "
                    "a letter, '_', '-' or '.', followed by letters, digits, '_', '-' or '.'.",
                )
            ref = var.get("secretRef")
            if ref and ref not in secret_names:
                raise _invalid(
                    "ContainerAppSecretRefNotFound",
                    f"Environment variable '{vname}' in container '{cname}' refers to secret '{ref}', "
                    "which is not defined.",
                )


def _take_secrets(app_config: dict[str, Any], current: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Split the secret values out of a written configuration; only names stay on the resource."""
    written = app_config.get("secrets")
    if written is None:
        return current
    secrets: dict[str, dict[str, Any]] = {}
    for entry in expect(written, list, "properties.configuration.secrets"):
        name = expect(entry, dict, "properties.configuration.secrets[]").get("name")
        value, vault_url = entry.get("value"), entry.get("keyVaultUrl")
        if not name:
            raise _invalid("ContainerAppSecretInvalid", "Every secret needs a name.")
        if value is None and not vault_url:
            # What a PUT of a GET'd app hits: the GET never carried the value.
            raise _invalid(
                "ContainerAppSecretInvalid",
                f"Secret '{name}' has neither a value nor a keyVaultUrl. Secret values are not returned by GET; "
                "send them again or leave configuration.secrets out of a PATCH.",
            )
        secrets[name] = {k: entry[k] for k in ("value", "keyVaultUrl", "identity") if entry.get(k) is not None}
    app_config["secrets"] = [
        {
            "name": n,
            **({"keyVaultUrl": s["keyVaultUrl"]} if "keyVaultUrl" in s else {}),
            **({"identity": s["identity"]} if "identity" in s else {}),
        }
        for n, s in secrets.items()
    ]
    return secrets


def _resolve_identity(ctx: Ctx, written: Any, before: dict[str, Any] | None) -> dict[str, Any] | None:
    """The identity block as ARM stores it. The directory is left alone: `_settle` creates or drops
    the system-assigned principal once the whole write has been accepted."""
    if written is None:
        return before
    expect(written, dict, "identity")
    store = ctx.sandbox.store
    kind = IDENTITY_TYPES.get(str(written.get("type", "")).replace(" ", "").lower())
    if kind is None:
        raise _invalid("InvalidIdentityType", f"The identity type '{written.get('type')}' is not supported.")
    result: dict[str, Any] = {"type": kind}
    old = before or {}
    if "SystemAssigned" in kind:
        if old.get("principalId"):
            result["principalId"], result["tenantId"] = old["principalId"], old["tenantId"]
        else:
            result["principalId"], result["tenantId"] = str(uuid.uuid4()), store.tenant_id
    if "UserAssigned" in kind:
        wanted = expect(written.get("userAssignedIdentities") or {}, dict, "identity.userAssignedIdentities")
        if not wanted:
            raise _invalid(
                "InvalidIdentityValues",
                "The identity type includes 'UserAssigned' but no userAssignedIdentities were given.",
            )
        linked: dict[str, dict[str, str]] = {}
        held = {rid.lower(): (rid, entry) for rid, entry in (old.get("userAssignedIdentities") or {}).items()}
        for rid in wanted:
            identity = store.get(rid)
            if identity is None or identity.get("type", "").lower() != IDENTITY_TYPE.lower():
                raise _invalid("InvalidUserAssignedIdentity", f"The user-assigned identity '{rid}' was not found.")
            if rid.lower() in held:
                # Already linked: the entry keeps the principal it was linked with, even when the identity
                # was deleted and re-created under that name since (Azure does not refresh it; only an
                # unlink and a new link do: Azure/aad-pod-identity#725 for VM scale sets).
                linked[held[rid.lower()][0]] = dict(held[rid.lower()][1] or {})
                continue
            props = identity["properties"]
            linked[identity["id"]] = {"principalId": props["principalId"], "clientId": props["clientId"]}
        result["userAssignedIdentities"] = linked
    elif written.get("userAssignedIdentities"):
        raise _invalid(
            "InvalidIdentityValues",
            f"userAssignedIdentities can only be given when the identity type includes 'UserAssigned', not '{kind}'.",
        )
    return result


def event_stream_endpoint(app_id: str, location: str) -> str:
    """The read-only log stream URL every container app carries (ContainerApps_Get shows it)."""
    parts = split_id(app_id)
    return (
        f"https://{location}.azurecontainerapps.dev/subscriptions/{parts['subscriptions']}"
        f"/resourceGroups/{parts['resourcegroups']}/containerApps/{parts['name']}/eventstream"
    )


def _suffix(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(7))


def new_revision(store: Store, app: dict[str, Any]) -> None:
    hidden = store.hidden_for(app["id"])
    revisions: list[dict[str, Any]] = hidden.setdefault("revisions", [])
    template = app["properties"]["template"]
    suffix = template.get("revisionSuffix") or _suffix(random.Random(f"{app['id']}:{len(revisions)}"))
    name = f"{app['name']}--{suffix}"
    if any(r["name"].lower() == name.lower() for r in revisions):
        raise _invalid(
            "ContainerAppRevisionAlreadyExists",
            f"A revision named '{name}' already exists: change or remove template.revisionSuffix.",
        )
    single = app["properties"]["configuration"].get("activeRevisionsMode", "Single").lower() == "single"
    for old in revisions:
        if single:
            old["properties"]["active"] = False
            old["properties"]["trafficWeight"] = 0
            old["properties"]["runningState"] = "Stopped"
    revisions.append(
        {
            "id": f"{app['id']}/revisions/{name}",
            "name": name,
            "type": f"{APP_TYPE}/revisions",
            "properties": {
                "createdTime": now_iso(),
                "lastActiveTime": now_iso(),
                "fqdn": f"{name}.{environment_domain(store, app)}",
                "template": copy.deepcopy(template),
                "active": True,
                "replicas": 1,
                "trafficWeight": 100 if single else 0,
                "healthState": "Healthy",
                "provisioningState": "Provisioned",
                "runningState": "Running",
            },
        }
    )
    props = app["properties"]
    props["latestRevisionName"] = name
    props["latestRevisionFqdn"] = f"{name}.{environment_domain(store, app)}"


def environment_domain(store: Store, app: dict[str, Any]) -> str:
    """The DNS domain of the app's environment (ManagedEnvironment.defaultDomain), which its revisions'
    and its ingress's host names end in."""
    environment = store.get(str(app["properties"].get("managedEnvironmentId") or "")) or {}
    domain = environment.get("properties", {}).get("defaultDomain")
    return str(domain or f"sandbox.{app['location']}.azurecontainerapps.io")


def fill_read_only(store: Store, app: dict[str, Any]) -> None:
    """What Container Apps computes and a client may not set: the ingress's `fqdn` (Ingress.fqdn, read-only
    in the spec), `<app>.<domain>`, or `<app>.internal.<domain>` for internal ingress (Microsoft Learn,
    Azure Container Apps: Ingress, "Domain names"). `az containerapp ingress enable` prints it."""
    ingress = app["properties"].get("configuration", {}).get("ingress")
    if isinstance(ingress, dict):
        where = "" if ingress.get("external") else ".internal"
        ingress["fqdn"] = f"{app['name']}{where}.{environment_domain(store, app)}"


def _operation_headers(ctx: Ctx, op: Operation, location: str, sub: str) -> dict[str, str]:
    api = ctx.request.query.get("api-version", "")
    base = f"{ctx.base_url}/subscriptions/{sub}/providers/Microsoft.App/locations/{location_key(location)}"
    return {
        "Azure-AsyncOperation": f"{base}/containerappOperationStatuses/{op.id}?api-version={api}",
        "Location": f"{base}/containerappOperationResults/{op.id}?api-version={api}",
        "Retry-After": str(ctx.sandbox.config.retry_after_s),
    }


def _start_operation(
    ctx: Ctx, app: dict[str, Any], pre_image: dict[str, Any] | None, sub: str, kind: str = "write"
) -> dict[str, str]:
    """Record the operation a write began (it ends in `lro_polls` polls, or Failed under an
    lro-fail fault) and return the headers that point the client at it."""
    sandbox = ctx.sandbox
    fail = sandbox.faults.lro_should_fail(ctx.request.method, ctx.request.path, "lro")
    op = sandbox.store.add_operation(
        Operation(
            id=str(uuid.uuid4()),
            resource_id=app["id"],
            polls_left=sandbox.config.lro_polls,
            outcome="Failed" if fail else "Succeeded",
            kind=kind,
            start_time=now_iso(),
            pre_image=copy.deepcopy(pre_image),
        )
    )
    return _operation_headers(ctx, op, app["location"], sub)


def _refuse_if_busy(ctx: Ctx, app: dict[str, Any]) -> None:
    """Container Apps' answer to a write while an earlier one on the app is still provisioning."""
    pending = ctx.sandbox.store.pending_operations(app["id"])
    if pending:
        raise ArmError(
            409,
            "ContainerAppOperationInProgress",
            f"Cannot modify a container app '{app['name']}' because there is an active provisioning "
            f"operation in progress. OperationId: '{pending[0].id}'.",
        )


def _meet_busy_fault(ctx: Ctx, app: dict[str, Any], handler: str) -> bool:
    """The `busy` fault: someone else's update holds the app InProgress while the fault lasts.
    Returns whether this request found the app held (its foreign operation must not end with it)."""
    store = ctx.sandbox.store
    fault = ctx.sandbox.faults.busy(ctx.request.method, ctx.request.path, handler)
    held = [op for op in store.pending_operations(app["id"]) if op.kind == "foreign"]
    if fault is None:
        for op in held:
            _advance(ctx, op)  # ends it once the fault is spent
        return False
    if not held:
        store.add_operation(
            Operation(
                id=str(uuid.uuid4()),
                resource_id=app["id"],
                polls_left=0,
                outcome="Succeeded",
                kind="foreign",
                start_time=now_iso(),
                held_by=fault,
            )
        )
        app["properties"]["provisioningState"] = "InProgress"
        store.put(app)
    return True


def _settle_orphan(ctx: Ctx, app: dict[str, Any]) -> None:
    """An app left InProgress (or Deleting) with no operation behind it finishes what it was doing."""
    store = ctx.sandbox.store
    if app["properties"]["provisioningState"] == "Deleting":
        _delete_now(store, app)
        return
    app["properties"]["provisioningState"] = "Succeeded"
    app["properties"]["latestReadyRevisionName"] = app["properties"].get("latestRevisionName")
    store.put(app)


def _delete_now(store: Store, app: dict[str, Any]) -> None:
    """The app goes, and its system-assigned identity with its principal (role assignments stay)."""
    principal = (app.get("identity") or {}).get("principalId")
    if principal:
        store.principals.pop(principal.lower(), None)
    store.delete(app["id"])


def _overdue(ctx: Ctx, op: Operation) -> bool:
    """Whether `op` has run for `lro_seconds`: Azure ends an operation whether or not anyone polls it."""
    try:
        started = datetime.fromisoformat(op.start_time)
    except ValueError:
        return True  # a start nobody recorded: it cannot still be running
    return (datetime.now(timezone.utc) - started).total_seconds() >= ctx.sandbox.config.lro_seconds


def end_overdue_operations(ctx: Ctx) -> None:
    """End every pending operation that has run for `lro_seconds` (its resource settles as at its last
    poll), before anything reads or refuses the apps they hold."""
    for op in list(ctx.sandbox.store.operations.values()):
        if op.status == "InProgress" and _overdue(ctx, op):
            _advance(ctx, op)


def _advance(ctx: Ctx, op: Operation) -> None:
    """One poll of an operation; at the last one it ends and the resource settles."""
    if op.status != "InProgress":
        return
    if op.held_by is not None and not op.held_by.exhausted():
        return  # someone else's update, held by a busy fault that is not spent yet
    # `polls_left` counts the InProgress answers still to give: lro_polls of them, then the end (or
    # lro_seconds, whichever comes first). Only the end is saved: a restart at worst repeats a few
    # InProgress answers.
    if op.polls_left > 0 and not _overdue(ctx, op):
        op.polls_left -= 1
        return
    store = ctx.sandbox.store
    store.touch()
    op.status = op.outcome
    op.end_time = now_iso()
    app = store.get(op.resource_id)
    if op.outcome == "Succeeded":
        if app is None:
            return
        if op.kind == "delete":
            _delete_now(store, app)
            return
        app["properties"]["provisioningState"] = "Succeeded"
        app["properties"]["latestReadyRevisionName"] = app["properties"].get("latestRevisionName")
        store.put(app)
        return
    op.error = {"code": "ContainerAppOperationFailed", "message": "The revision failed to provision (sandbox fault)."}
    if op.kind == "delete":
        op.error["message"] = "The container app could not be deleted (sandbox fault)."
    if op.pre_image is not None and op.kind != "delete":
        restored = copy.deepcopy(op.pre_image)
        restored["properties"]["provisioningState"] = "Failed"
        store.put(restored)
        hidden = store.hidden_for(op.resource_id)
        hidden.update(restored.pop("_hidden", None) or {})
        system_principal = (restored.get("identity") or {}).get("principalId")
        if system_principal and store.principal(system_principal) is None:
            store.add_principal(
                Principal(object_id=system_principal, kind="ServicePrincipal", display_name="system-assigned")
            )
    elif app is not None:
        app["properties"]["provisioningState"] = "Failed"
        store.put(app)


def _operation(ctx: Ctx, sub: str, op_id: str) -> Operation:
    require_subscription(ctx, sub)
    op = ctx.sandbox.store.operations.get(op_id.lower()) or ctx.sandbox.store.operations.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
    return op


@ROUTER.route("GET", OPS + "/containerappOperationStatuses/{op_id}")
async def operation_status(ctx: Ctx, sub: str, location: str, op_id: str) -> web.Response:
    op = _operation(ctx, sub, op_id)
    _advance(ctx, op)
    body: dict[str, Any] = {
        "id": f"/subscriptions/{sub}/providers/Microsoft.App/locations/{location}"
        f"/containerappOperationStatuses/{op.id}",
        "name": op.id,
        "status": op.status,
        "startTime": op.start_time,
    }
    headers = {}
    if op.status == "InProgress":
        headers["Retry-After"] = str(ctx.sandbox.config.retry_after_s)
    else:
        body["endTime"] = op.end_time
    if op.error:
        body["error"] = op.error
    return json_response(body, headers=headers)


@ROUTER.route("GET", OPS + "/containerappOperationResults/{op_id}")
async def operation_result(ctx: Ctx, sub: str, location: str, op_id: str) -> web.Response:
    op = _operation(ctx, sub, op_id)
    _advance(ctx, op)
    if op.status == "InProgress":
        return web.Response(
            status=202, headers={"Retry-After": str(ctx.sandbox.config.retry_after_s), "Location": str(ctx.request.url)}
        )
    if op.status == "Failed":
        raise ArmError(400, op.error["code"] if op.error else "Failed", op.error["message"] if op.error else "")
    app = ctx.sandbox.store.get(op.resource_id)
    if app is None:
        return web.Response(status=204)
    return json_response(app)


# -- writes -------------------------------------------------------------------------------------
def _snapshot(store: Store, app: dict[str, Any] | None) -> dict[str, Any] | None:
    if app is None:
        return None
    image = copy.deepcopy(app)
    image["_hidden"] = copy.deepcopy(store.hidden_for(app["id"]))
    return image


def _sync_principals(store: Store, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """The directory follows the app's system-assigned identity: its principal is created with it, and
    leaving SystemAssigned out of the type deletes that identity and its principal for good."""
    old, new = (before or {}).get("principalId"), (after or {}).get("principalId")
    if new and store.principal(new) is None:
        store.add_principal(Principal(object_id=new, kind="ServicePrincipal", display_name="system-assigned"))
    if old and old != new:
        store.principals.pop(old.lower(), None)


def _check_identity_references(app: dict[str, Any]) -> None:
    """Every identity the configuration names must be the app's own: a registry's `identity` and a
    Key Vault secret's `identity` are a linked user-assigned identity's resource id, or 'system'
    for the system-assigned one (RegistryCredentials.identity and Secret.identity in the
    ContainerApps spec). Raises the 400 Container Apps answers for an invalid configuration field."""
    identity = app.get("identity") or {}
    linked = {rid.lower() for rid in identity.get("userAssignedIdentities") or {}}
    system = "SystemAssigned" in str(identity.get("type", ""))
    config = app["properties"].get("configuration") or {}
    named = [("configuration.registries", r.get("server"), r.get("identity")) for r in config.get("registries") or []]
    named += [("configuration.secrets", s.get("name"), s.get("identity")) for s in config.get("secrets") or []]
    for field_name, entry, ref in named:
        if not ref:
            continue
        if str(ref).lower() == "system":
            if system:
                continue
            why = "the identity 'system' names the system-assigned identity, which the container app does not have"
        elif str(ref).lower() in linked:
            continue
        else:
            why = f"the managed identity '{ref}' is not assigned to the container app (identity.userAssignedIdentities)"
        raise _invalid(
            "InvalidParameterValueInContainerTemplate",
            f"The following field(s) are either invalid or missing. Field '{field_name}' is invalid with details: "
            f"'Invalid value: \"{entry}\": {why}';.",
        )


def _held_spelling(written: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """`written` with each userAssignedIdentities key spelled as the app holds that identity: ARM ids are
    case-insensitive, so a merge-patch null under `.../USERASSIGNEDIDENTITIES/ID-A` unlinks `.../id-a`."""
    wanted = written.get("userAssignedIdentities")
    if not isinstance(wanted, dict):
        return written
    held = {rid.lower(): rid for rid in ((before or {}).get("userAssignedIdentities") or {})}
    return {**written, "userAssignedIdentities": {held.get(rid.lower(), rid): v for rid, v in wanted.items()}}


def _linked_identities(written: Any) -> list[tuple[str, str]]:
    """(identity id, assign action) for each user-assigned identity a request body links: ARM checks
    the caller may assign every one it names, whether or not the app holds it already."""
    if not isinstance(written, dict) or not isinstance(written.get("userAssignedIdentities"), dict):
        return []
    return [(rid, ASSIGN_ACTION) for rid, value in written["userAssignedIdentities"].items() if value is not None]


def _settle(
    ctx: Ctx,
    app: dict[str, Any],
    secrets: dict[str, dict[str, Any]],
    template_changed: bool,
    before_identity: dict[str, Any] | None,
) -> None:
    """Check the app as written, then commit it: a refused write changes nothing at all."""
    _check_template(app["properties"].get("template"), set(secrets))
    config = app["properties"].setdefault("configuration", {})
    config.setdefault("activeRevisionsMode", "Single")
    expect(config["activeRevisionsMode"], str, "properties.configuration.activeRevisionsMode")
    if config["activeRevisionsMode"].lower() not in ("single", "multiple", "labels"):
        raise _invalid(
            "ContainerAppInvalidRevisionMode", f"activeRevisionsMode '{config['activeRevisionsMode']}' is not valid."
        )
    _check_identity_references(app)
    expect(config.get("ingress") or {}, dict, "properties.configuration.ingress")
    fill_read_only(ctx.sandbox.store, app)
    if template_changed:
        new_revision(ctx.sandbox.store, app)  # refuses a taken revision name before it changes anything
    ctx.sandbox.store.hidden_for(app["id"])["secrets"] = secrets
    _sync_principals(ctx.sandbox.store, before_identity, app.get("identity"))
    app["properties"]["provisioningState"] = "InProgress"
    ctx.sandbox.store.put(app)


def _template_changed(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    if before is None:
        return True
    return not same_revision(before["properties"].get("template"), after["properties"].get("template"))


@ROUTER.route("PUT", APPS + "/{name}")
async def put_app(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    group = require_group(ctx, sub, rg)
    body = await ctx.json()
    if not APP_NAME_RE.match(name) or "--" in name:
        raise _invalid(
            "ContainerAppInvalidName",
            f"Container app name '{name}' is invalid: use 2-32 lower case letters, digits and single hyphens, "
            "starting with a letter and ending with a letter or digit.",
        )
    store = ctx.sandbox.store
    rid = _app_id(group, name)
    end_overdue_operations(ctx)
    before = store.get(rid)
    location = body.get("location") or ""
    if location_key(str(location)) not in LOCATIONS:
        raise ArmError(400, "LocationRequired", "A valid location is required for a container app.")
    props = copy.deepcopy(expect(body.get("properties") or {}, dict, "properties"))
    env_id = props.get("environmentId") or props.get("managedEnvironmentId")
    if not isinstance(env_id, str) or store.get(env_id) is None:
        raise _invalid("ManagedEnvironmentNotFound", f"The managed environment '{env_id}' was not found.")
    authorize_linked(ctx, rid, f"{APP_TYPE}/write", _linked_identities(body.get("identity")))
    require_registered(ctx, sub, "Microsoft.App")
    if before is not None:
        _meet_busy_fault(ctx, before, "put_app")
        _refuse_if_busy(ctx, before)
    pre_image = _snapshot(store, before)
    config = expect(props.setdefault("configuration", {}), dict, "properties.configuration")
    secrets = _take_secrets(config, {})
    props = cleaned(props)
    props.setdefault("configuration", {})
    environment = store.get(env_id) or {}
    app = {
        "id": before["id"] if before else rid,
        "name": before["name"] if before else name,
        "type": APP_TYPE,
        "location": location_key(str(location)),
        "tags": validate_tags(body.get("tags")),
        "properties": {
            **props,
            "environmentId": environment.get("id", env_id),
            "managedEnvironmentId": environment.get("id", env_id),
            "latestRevisionName": (before or {}).get("properties", {}).get("latestRevisionName"),
            "latestReadyRevisionName": (before or {}).get("properties", {}).get("latestReadyRevisionName"),
            "runningStatus": "Running",
            "outboundIpAddresses": ["20.0.0.1"],
            "eventStreamEndpoint": event_stream_endpoint(before["id"] if before else rid, location_key(str(location))),
        },
        "systemData": (before or {}).get("systemData") or created_stamp(ctx),
    }
    identity = _resolve_identity(ctx, body.get("identity") or {"type": "None"}, (before or {}).get("identity"))
    if identity is not None:
        app["identity"] = identity
    _settle(ctx, app, secrets, _template_changed(before, app), (before or {}).get("identity"))
    headers = _start_operation(ctx, app, pre_image, sub)
    return json_response(app, status=200 if before else 201, headers=headers)


@ROUTER.route("PATCH", APPS + "/{name}")
async def patch_app(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    end_overdue_operations(ctx)
    before = _require_app(ctx, sub, rg, name)
    body = await ctx.json()
    store = ctx.sandbox.store
    authorize_linked(ctx, before["id"], f"{APP_TYPE}/write", _linked_identities(body.get("identity")))
    require_registered(ctx, sub, "Microsoft.App")
    _meet_busy_fault(ctx, before, "patch_app")
    _refuse_if_busy(ctx, before)
    pre_image = _snapshot(store, before)
    app = copy.deepcopy(before)
    if "tags" in body:
        app["tags"] = merge_tags(app.get("tags") or {}, body["tags"])
    written_props = copy.deepcopy(expect(body.get("properties") or {}, dict, "properties"))
    current_secrets = copy.deepcopy(store.hidden_for(app["id"]).get("secrets", {}))
    written_config = expect(written_props.get("configuration") or {}, dict, "properties.configuration")
    secrets = _take_secrets(written_config, current_secrets)
    for readonly in (
        "provisioningState",
        "latestRevisionName",
        "latestReadyRevisionName",
        "latestRevisionFqdn",
        "outboundIpAddresses",
        "runningStatus",
        "customDomainVerificationId",
        "eventStreamEndpoint",
    ):
        written_props.pop(readonly, None)
    app["properties"] = cleaned(merge_patch(app["properties"], written_props))
    if "identity" in body:
        written = _held_spelling(expect(body["identity"] or {}, dict, "identity"), before.get("identity"))
        merged = merge_patch(before.get("identity") or {}, written)
        if "userassigned" not in str(merged.get("type", "")).replace(" ", "").lower().split(",") and not written.get(
            "userAssignedIdentities"
        ):
            # A type without UserAssigned unlinks every user-assigned identity, as ARM does.
            merged.pop("userAssignedIdentities", None)
        app["identity"] = _resolve_identity(ctx, merged, before.get("identity"))
    _settle(ctx, app, secrets, _template_changed(before, app), before.get("identity"))
    headers = _start_operation(ctx, app, pre_image, sub)
    return web.Response(status=202, headers=headers)


@ROUTER.route("DELETE", APPS + "/{name}")
async def delete_app(ctx: Ctx, sub: str, rg: str, name: str) -> web.Response:
    """Long-running (ContainerApps_Delete: 202 with Azure-AsyncOperation and Location, final state
    via Location): the app shows provisioningState Deleting until its operation ends."""
    group = require_group(ctx, sub, rg)
    store = ctx.sandbox.store
    end_overdue_operations(ctx)
    found = store.get(_app_id(group, name))
    if found is None:
        return web.Response(status=204)
    authorize(ctx, found["id"], f"{APP_TYPE}/delete")
    _meet_busy_fault(ctx, found, "delete_app")
    _refuse_if_busy(ctx, found)
    found["properties"]["provisioningState"] = "Deleting"
    store.put(found)
    headers = _start_operation(ctx, found, _snapshot(store, found), sub, kind="delete")
    return web.Response(status=202, headers=headers)
