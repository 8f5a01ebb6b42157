"""The typed async gateway: every read and write runner-identity makes, through the Azure SDK's
aio clients, returning `wizard.model` objects. ARM errors become one `GatewayError`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ..arm_guid import role_assignment_name
from ..model import (
    ARM_TYPE_CONTAINER_APP,
    ARM_TYPE_STORAGE,
    ARM_TYPE_VAULT,
    ContainerApp,
    Identity,
    LinkedIdentity,
    Location,
    Permission,
    ResourceGroup,
    Revision,
    RoleAssignment,
    RoleDefinition,
    ScopeResource,
    SignedIn,
    Subscription,
    resource_group_of,
    subscription_of,
)
from ..rbac import allowed
from .connection import Connection, make_credential
from .errors import GatewayError, translate
from .retries import notify_retry

log = logging.getLogger("wizard.azure")
T = TypeVar("T")

IN_PROGRESS = {"inprogress", "updating", "provisioning", "creating", "deprovisioning", "deleting"}
VAULT_API = "2023-07-01"
STORAGE_API = "2023-05-01"
PERMISSIONS_API = "2022-04-01"
GROUPS_API = "2025-04-01"
APPS_API = "2026-07-01"


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class AmbiguousRole(LookupError):
    """A role name that matches several role definitions (a built-in and a custom role may share a
    name); `matches` holds each."""

    def __init__(self, wanted: str, matches: list[RoleDefinition]) -> None:
        self.wanted = wanted
        self.matches = matches
        listed = "; ".join(f"{r.kind} {r.name!r} {r.id}" for r in matches)
        super().__init__(
            f"role {wanted!r} names {len(matches)} roles ({listed}): give the role definition's GUID instead"
        )


def match_roles(roles: list[RoleDefinition], name_or_guid: str) -> list[RoleDefinition]:
    """The roles a plan's `role` names. A GUID means the role definition id (the last segment of the
    definition's id) and nothing else, even when a custom role is *named* like a GUID; any other
    text matches roles' names ignoring case (ARM treats role names case-insensitively, and a custom
    role may take a built-in role's name, so the list can hold several)."""
    wanted = name_or_guid.strip().lower()
    if _GUID.fullmatch(wanted):
        return [r for r in roles if r.guid == wanted]
    return [r for r in roles if r.name.lower() == wanted]


def assignment_name(scope: str, principal_id: str, role_guid: str) -> str:
    """A role assignment's deterministic name: ARM's guid() of the lower-cased scope, principal and role.

    The same name the exported az script and Bicep give it (see wizard.arm_guid), so a rerun, or an
    apply after a deployment, PUTs the same name, which ARM answers as a no-op.
    """
    return role_assignment_name(scope, principal_id, role_guid)


def split_id(resource_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name of the last resource) of an ARM resource id, parsed by
    azure-mgmt-core's `parse_resource_id`; "" for a part the id does not have."""
    from azure.mgmt.core.tools import parse_resource_id

    parts = parse_resource_id(resource_id.rstrip("/"))
    return (
        str(parts.get("subscription") or ""),
        str(parts.get("resource_group") or ""),
        str(parts.get("resource_name") or parts.get("name") or ""),
    )


def role_guid_of(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


class Gateway:
    def __init__(self, connection: Connection, credential: Any = None) -> None:
        self.connection = connection
        self.credential = credential or make_credential(connection)
        self._clients: dict[tuple[str, str], Any] = {}
        self._role_cache: dict[str, list[RoleDefinition]] = {}
        self._role_locks: dict[str, asyncio.Lock] = {}
        # Seconds to wait between retries of a role assignment refused with PrincipalNotFound.
        self.principal_retry_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        with contextlib.suppress(Exception):
            await self.credential.close()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- clients --------------------------------------------------------------------------------
    def _client(self, kind: str, subscription: str = "") -> Any:
        key = (kind, subscription.lower())
        if key not in self._clients:
            # The one pipeline (wizard.azure.connection): one retry layer that reports its retries, a guard
            # that sends nothing to another host, and no silent resource provider registration.
            kw = self.connection.client_kwargs(self.credential)
            cred = self.credential
            if kind == "subscriptions":
                from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

                self._clients[key] = SubscriptionClient(cred, **kw)
            elif kind == "resources":
                from azure.mgmt.resource.resources.aio import ResourceManagementClient

                self._clients[key] = ResourceManagementClient(cred, subscription, **kw)
            elif kind == "msi":
                from azure.mgmt.msi.aio import ManagedServiceIdentityClient

                self._clients[key] = ManagedServiceIdentityClient(cred, subscription, **kw)
            elif kind == "authorization":
                from azure.mgmt.authorization.aio import AuthorizationManagementClient

                self._clients[key] = AuthorizationManagementClient(cred, subscription, **kw)
            elif kind == "apps":
                from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

                self._clients[key] = ContainerAppsAPIClient(cred, subscription, **kw)
            else:  # pragma: no cover - programming error
                raise ValueError(kind)
        return self._clients[key]

    async def _call(self, what: str, coro: Awaitable[T]) -> T:
        try:
            return await coro
        except Exception as exc:
            raise translate(exc, what) from exc

    async def _collect(self, what: str, pages: AsyncIterator[Any]) -> list[Any]:
        try:
            return [item async for item in pages]
        except Exception as exc:
            raise translate(exc, what) from exc

    # -- who is signed in -----------------------------------------------------------------------
    async def signed_in(self) -> SignedIn:
        token = await self._call("sign in", self.credential.get_token(self.connection.scope))
        claims = _claims(token.token)
        return SignedIn(
            tenant_id=str(claims.get("tid", "")),
            object_id=str(claims.get("oid", "")),
            account=str(claims.get("upn") or claims.get("unique_name") or claims.get("appid") or claims.get("oid", "")),
        )

    # -- reads ----------------------------------------------------------------------------------
    async def subscriptions(self, default: str | None = None) -> list[Subscription]:
        found = await self._collect("list subscriptions", self._client("subscriptions").subscriptions.list())
        subs = [
            Subscription(
                id=s.subscription_id,
                name=s.display_name or s.subscription_id,
                tenant_id=s.tenant_id or "",
                state=str(getattr(s.state, "value", s.state) or ""),
                is_default=bool(default and s.subscription_id.lower() == default.lower()),
            )
            for s in found
        ]
        return sorted(subs, key=lambda s: (not s.is_default, s.name.lower()))

    async def resource_groups(self, subscription: str) -> list[ResourceGroup]:
        found = await self._raw_list(
            "list resource groups", subscription, f"/subscriptions/{subscription}/resourcegroups", GROUPS_API
        )
        groups = [ResourceGroup(g["id"], g["name"], g.get("location", ""), dict(g.get("tags") or {})) for g in found]
        return sorted(groups, key=lambda g: g.name.lower())

    async def locations(self, subscription: str) -> list[Location]:
        """The regions `subscription` offers, for the identity's region (GET
        /subscriptions/{id}/locations, Microsoft.Resources' Subscriptions_ListLocations), sorted by
        display name, physical regions first (logical ones such as "Europe" hold no resources)."""
        pages = self._client("subscriptions").subscriptions.list_locations(subscription)
        found = await self._collect("list the subscription's regions", pages)
        regions = []
        for loc in found:
            kind = getattr(loc.metadata, "region_type", None)
            kind = str(getattr(kind, "value", kind) or "Physical")
            if loc.name:
                regions.append(Location(str(loc.name), str(loc.display_name or loc.name), kind.lower() != "logical"))
        return sorted(regions, key=lambda r: (not r.physical, r.display_name.lower()))

    async def resource_group(self, subscription: str, name: str) -> ResourceGroup | None:
        client = self._client("resources", subscription)
        return await self._maybe(f"read resource group {name}", client.resource_groups.get(name), _group)

    async def identities(self, subscription: str, resource_group: str | None = None) -> list[Identity]:
        ops = self._client("msi", subscription).user_assigned_identities
        pages = ops.list_by_resource_group(resource_group) if resource_group else ops.list_by_subscription()
        found = await self._collect("list managed identities", pages)
        return sorted((_identity(i) for i in found), key=lambda i: i.name.lower())

    async def identity(self, subscription: str, resource_group: str, name: str) -> Identity | None:
        ops = self._client("msi", subscription).user_assigned_identities
        return await self._maybe(f"read identity {name}", ops.get(resource_group, name), _identity)

    async def identity_by_id(self, identity_id: str) -> Identity | None:
        """A user-assigned identity by resource id (any subscription); None when it no longer exists."""
        name = identity_id.rstrip("/").rsplit("/", 1)[-1]
        return await self.identity(subscription_of(identity_id), resource_group_of(identity_id), name)

    async def provider_state(self, subscription: str, namespace: str) -> str:
        """A resource provider's `registrationState` in the subscription ("Registered", "NotRegistered",
        "Registering", ...), from GET /subscriptions/{id}/providers/{namespace} (Providers_Get)."""
        client = self._client("resources", subscription)
        found = await self._call(f"read resource provider {namespace}", client.providers.get(namespace))
        return str(found.registration_state or "")

    async def register_provider(self, subscription: str, namespace: str) -> str:
        """POST .../providers/{namespace}/register (Providers_Register): asks Azure to register the provider
        for the whole subscription; returns the state it answers (usually "Registering")."""
        client = self._client("resources", subscription)
        found = await self._call(f"register resource provider {namespace}", client.providers.register(namespace))
        return str(found.registration_state or "")

    async def role_definitions(self, subscription: str) -> list[RoleDefinition]:
        """Built-in and custom roles usable in the subscription, read once per run."""
        key = subscription.lower()
        lock = self._role_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._role_cache:
                path = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions"
                found = await self._raw_list("list role definitions", subscription, path, PERMISSIONS_API)
                self._role_cache[key] = sorted((_role_json(r) for r in found), key=lambda r: r.name.lower())
        return self._role_cache[key]

    async def find_role(self, subscription: str, name_or_guid: str) -> RoleDefinition | None:
        """The one role a plan's `role` means (see `match_roles`), or None when there is none.
        Raises AmbiguousRole when a name matches several roles."""
        matches = match_roles(await self.role_definitions(subscription), name_or_guid)
        if len(matches) > 1:
            raise AmbiguousRole(name_or_guid, matches)
        return matches[0] if matches else None

    async def role_assignments(self, subscription: str, principal_id: str) -> list[RoleAssignment]:
        ops = self._client("authorization", subscription).role_assignments
        pages = ops.list_for_subscription(filter=f"principalId eq '{principal_id}'")
        found = await self._collect("list role assignments", pages)
        return [_assignment(a) for a in found]

    async def scope_resources(self, subscription: str) -> list[ScopeResource]:
        """Key Vaults (with their permission model) and storage accounts in the subscription.

        Each provider's own list carries the properties (a vault's enableRbacAuthorization), so
        this is one round trip; the generic resource list would need a read per vault after it.
        """
        base = f"/subscriptions/{subscription}/providers"
        vaults, accounts = await asyncio.gather(
            self._raw_list("list key vaults", subscription, f"{base}/{ARM_TYPE_VAULT}", VAULT_API),
            self._raw_list("list storage accounts", subscription, f"{base}/{ARM_TYPE_STORAGE}", STORAGE_API),
        )
        found = [_scope_resource_json(r) for r in (*vaults, *accounts)]
        return sorted(found, key=lambda r: (not r.is_vault, r.name.lower()))

    async def vaults(self, subscription: str) -> list[ScopeResource]:
        """Every Key Vault in the subscription the caller may read, with its permission model."""
        path = f"/subscriptions/{subscription}/providers/{ARM_TYPE_VAULT}"
        found = await self._raw_list("list key vaults", subscription, path, VAULT_API)
        return [_scope_resource_json(r) for r in found]

    async def scope_resource(self, resource_id: str) -> ScopeResource | None:
        """One vault or storage account by id, with a vault's permission model; None if it is gone."""
        sub, _, name = split_id(resource_id)
        client = self._client("resources", sub)
        api = VAULT_API if "/microsoft.keyvault/" in resource_id.lower() else STORAGE_API
        res = await self._maybe(f"read {name}", client.resources.get_by_id(resource_id, api_version=api), lambda r: r)
        if res is None:
            return None
        return _scope_resource_json(res.as_dict())

    async def container_apps(self, subscription: str) -> list[ContainerApp]:
        path = f"/subscriptions/{subscription}/providers/{ARM_TYPE_CONTAINER_APP}"
        found = await self._raw_list("list container apps", subscription, path, APPS_API)
        return sorted((_app(a) for a in found), key=lambda a: a.name.lower())

    async def container_app(self, app_id: str) -> ContainerApp | None:
        raw = await self.container_app_raw(app_id)
        return _app(raw) if raw is not None else None

    async def container_app_raw(self, app_id: str) -> dict[str, Any] | None:
        sub, rg, name = split_id(app_id)
        ops = self._client("apps", sub).container_apps
        return await self._maybe(f"read container app {name}", ops.get(rg, name), lambda a: a.as_dict())

    async def revisions(self, app_id: str) -> list[Revision]:
        sub, rg, name = split_id(app_id)
        ops = self._client("apps", sub).container_apps_revisions
        found = await self._collect(f"list revisions of {name}", ops.list_revisions(rg, name))
        result = []
        for rev in found:
            raw = rev.as_dict()
            props = raw.get("properties") or {}
            result.append(
                Revision(
                    name=raw.get("name", ""),
                    active=bool(props.get("active")),
                    created=str(props.get("createdTime", "")),
                    containers=tuple((props.get("template") or {}).get("containers") or []),
                )
            )
        return result

    async def permissions(self, scope: str) -> list[Permission]:
        """The signed-in caller's effective permissions at a scope (any scope: the SDK has no call for
        a subscription's, so this is a plain GET through the same pipeline)."""
        path = f"{scope.rstrip('/')}/providers/Microsoft.Authorization/permissions"
        found = await self._raw_list(f"read permissions at {scope}", subscription_of(scope), path, PERMISSIONS_API)
        return [Permission(tuple(p.get("actions") or []), tuple(p.get("notActions") or [])) for p in found]

    async def _raw_list(self, what: str, subscription: str, path: str, api_version: str) -> list[dict[str, Any]]:
        """Every page of an ARM list as plain JSON. Used for the long lists (about 930 roles, thousands
        of groups), where building SDK model objects costs more than the wait for Azure."""
        from azure.core.rest import HttpRequest

        client = self._client("resources", subscription)
        url = f"{path}?api-version={api_version}"
        items: list[dict[str, Any]] = []
        while url:
            response = await self._call(what, client.send_request(HttpRequest("GET", url)))
            if response.status_code >= 400:
                raise translate_response(response, what)
            doc = response.json()
            items += doc.get("value", [])
            url = doc.get("nextLink") or ""
        return items

    async def can(self, scope: str, action: str) -> bool:
        return allows(await self.permissions(scope), action)

    async def _maybe(self, what: str, coro: Awaitable[Any], convert: Callable[[Any], T]) -> T | None:
        try:
            return convert(await coro)
        except Exception as exc:
            err = translate(exc, what)
            if err.status == 404:
                return None
            raise err from exc

    # -- writes ---------------------------------------------------------------------------------
    async def create_identity(
        self, subscription: str, resource_group: str, name: str, location: str, tags: dict[str, str]
    ) -> Identity:
        ops = self._client("msi", subscription).user_assigned_identities
        body = {"location": location, "tags": tags}
        return _identity(await self._call(f"create identity {name}", ops.create_or_update(resource_group, name, body)))

    async def delete_identity(self, identity_id: str) -> None:
        sub, rg, name = split_id(identity_id)
        ops = self._client("msi", sub).user_assigned_identities
        await self._call(f"delete identity {name}", ops.delete(rg, name))

    async def create_role_assignment(
        self, scope: str, role: RoleDefinition, principal_id: str, name: str | None = None
    ) -> RoleAssignment:
        """Assign a role to a service principal; an assignment that already exists counts as done."""
        sub = subscription_of(scope)
        ops = self._client("authorization", sub).role_assignments
        name = name or assignment_name(scope, principal_id, role.guid)
        body = {
            "properties": {
                "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role.guid}",
                "principalId": principal_id,
                # Naming the type lets ARM skip the directory lookup that lags behind a new identity.
                "principalType": "ServicePrincipal",
            }
        }
        what = f"assign '{role.name}' at {scope}"
        for delay in (*self.principal_retry_delays, None):
            try:
                return _assignment(await ops.create(scope, name, body))
            except Exception as exc:
                err = translate(exc, what)
                if err.code == "RoleAssignmentExists":
                    existing = await self.find_assignment(scope, principal_id, role.guid)
                    if existing is not None:
                        return existing
                if err.code == "PrincipalNotFound" and delay is not None:
                    notify_retry("Entra ID has not replicated the new identity yet (PrincipalNotFound)", delay)
                    await asyncio.sleep(delay)
                    continue
                raise err from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def find_assignment(self, scope: str, principal_id: str, role_guid: str) -> RoleAssignment | None:
        for assignment in await self.role_assignments(subscription_of(scope), principal_id):
            if assignment.scope.lower() == scope.lower() and assignment.role_guid == role_guid.lower():
                return assignment
        return None

    async def delete_role_assignment(self, assignment_id: str) -> None:
        ops = self._client("authorization", subscription_of(assignment_id)).role_assignments
        await self._call("delete role assignment", ops.delete_by_id(assignment_id))

    async def settled_app(self, app_id: str, timeout_s: float = 1800.0) -> ContainerApp:
        """The app once its provisioning has ended: for when the operation's own poller was lost."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            app = await self.container_app(app_id)
            if app is None:
                raise GatewayError(f"read container app {app_id}", "ResourceNotFound", "the app no longer exists", 404)
            state = app.provisioning_state.lower()
            if state == "failed":
                raise GatewayError(
                    f"update container app {app.name}",
                    "ContainerAppOperationFailed",
                    "the app's last update failed to provision",
                    None,
                )
            if state not in IN_PROGRESS or asyncio.get_running_loop().time() > deadline:
                return app
            await asyncio.sleep(self.connection.poll_interval)

    async def patch_container_app(
        self, app_id: str, body: dict[str, Any], on_status: Callable[[str], None] | None = None
    ) -> ContainerApp:
        """One PATCH (JSON merge patch) and its long-running operation, polled to the end.

        `on_status`, when given, hears the operation's status ("InProgress", "Succeeded", ...) each
        time it changes, so a caller can show the wait as it happens.
        """
        return _app(await self.update_container_app(app_id, body, on_status))

    async def update_container_app(
        self, app_id: str, body: dict[str, Any], on_status: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Like `patch_container_app`, returning the app as the operation's result holds it (ARM JSON),
        for a comparison with what was read before."""
        sub, rg, name = split_id(app_id)
        ops = self._client("apps", sub).container_apps
        what = f"update container app {name}"
        poller = await self._call(what, ops.begin_update(rg, name, body))
        try:
            result = await self._call(what, _watched(poller, on_status))
        except GatewayError as err:
            if not err.transient:
                raise
            # Azure accepted the PATCH; only its operation's status could not be read (after the
            # SDK's retries). The app's own provisioningState tells the same story.
            log.info("operation status of %s unreadable (%s); watching the app instead", name, err.code)
            return dict((await self.settled_app(app_id)).raw)
        return dict(result.as_dict())


async def _watched(poller: Any, on_status: Callable[[str], None] | None, every_s: float = 0.1) -> Any:
    """The poller's result; on the way, its status each time it changes (when someone listens)."""
    if on_status is None:
        return await poller.result()
    last = str(poller.status())  # what the first response said (usually InProgress)
    on_status(last)
    task = asyncio.ensure_future(poller.result())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every_s)
            status = str(poller.status())
            if status != last:
                last = status
                on_status(status)
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()


# -- conversions ----------------------------------------------------------------------------------
def _scope_resource_json(res: dict[str, Any]) -> ScopeResource:
    is_vault = str(res.get("type", "")).lower() == ARM_TYPE_VAULT.lower()
    props = res.get("properties") or {}
    return ScopeResource(
        id=res["id"],
        name=res["name"],
        type=res["type"],
        resource_group=resource_group_of(res["id"]),
        location=res.get("location", ""),
        rbac_enabled=bool(props.get("enableRbacAuthorization", False)) if is_vault else None,
    )


def _group(g: Any) -> ResourceGroup:
    return ResourceGroup(id=g.id, name=g.name, location=g.location, tags=dict(g.tags or {}))


def _identity(i: Any) -> Identity:
    return Identity(
        id=i.id,
        name=i.name,
        resource_group=resource_group_of(i.id),
        location=i.location,
        client_id=i.client_id,
        principal_id=i.principal_id,
        tenant_id=i.tenant_id,
        tags=dict(i.tags or {}),
    )


def _role_json(r: dict[str, Any]) -> RoleDefinition:
    props = r.get("properties") or {}
    actions: list[str] = []
    data_actions: list[str] = []
    for perm in props.get("permissions") or []:
        actions += perm.get("actions") or []
        data_actions += perm.get("dataActions") or []
    return RoleDefinition(
        id=r["id"],
        guid=r["name"].lower(),
        name=props.get("roleName") or r["name"],
        description=props.get("description") or "",
        builtin=str(props.get("type") or "").lower() == "builtinrole",
        actions=tuple(actions),
        data_actions=tuple(data_actions),
    )


def _assignment(a: Any) -> RoleAssignment:
    return RoleAssignment(
        id=a.id,
        name=a.name,
        scope=a.scope,
        role_guid=role_guid_of(a.role_definition_id),
        principal_id=a.principal_id,
        principal_type=str(getattr(a.principal_type, "value", a.principal_type) or "") or None,
        created_on=a.created_on.isoformat() if getattr(a, "created_on", None) else None,
    )


def app_from_json(raw: dict[str, Any]) -> ContainerApp:
    """A container app from ARM JSON (a GET, a list item, an operation's result)."""
    return _app(raw)


def _app(raw: dict[str, Any]) -> ContainerApp:
    props = raw.get("properties") or {}
    identity = raw.get("identity") or {}
    template = props.get("template") or {}
    config = props.get("configuration") or {}
    return ContainerApp(
        id=raw["id"],
        name=raw["name"],
        resource_group=resource_group_of(raw["id"]),
        subscription=subscription_of(raw["id"]),
        location=raw.get("location", ""),
        environment_id=props.get("environmentId") or props.get("managedEnvironmentId") or "",
        revision_mode=str(config.get("activeRevisionsMode") or "Single"),
        latest_revision=props.get("latestRevisionName"),
        provisioning_state=str(props.get("provisioningState") or ""),
        identity_type=str(identity.get("type") or "None"),
        system_principal_id=identity.get("principalId"),
        user_identities=tuple(
            LinkedIdentity(rid, (v or {}).get("principalId"), (v or {}).get("clientId"))
            for rid, v in (identity.get("userAssignedIdentities") or {}).items()
        ),
        containers=list(template.get("containers") or []),
        template=dict(template),
        configuration=dict(config),
        tags=dict(raw.get("tags") or {}),
        workload_profile=props.get("workloadProfileName"),
        raw=raw,
    )


def _claims(token: str) -> dict[str, Any]:
    """The JWT's claims (read only for tid/oid/upn; the token itself is never stored or shown)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


def allows(blocks: list[Permission], action: str) -> bool:
    """Whether ARM would allow `action` given the caller's permission blocks."""
    return allowed(((b.actions, b.not_actions) for b in blocks), action)


def translate_response(response: Any, what: str) -> GatewayError:
    try:
        err = response.json().get("error", {})
    except ValueError:
        err = {}
    return GatewayError(
        what, str(err.get("code") or response.status_code), str(err.get("message") or ""), response.status_code
    )
