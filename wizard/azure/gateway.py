"""The typed async gateway: every read and write runner-identity makes, returning `wizard.model`
objects. ARM errors become one `GatewayError`.

Every request goes through one Resource Manager pipeline (azure-mgmt-core's `AsyncARMPipelineClient`,
built by `Connection.client_kwargs`) as plain JSON, and long-running operations are polled by
azure-mgmt-core's `AsyncARMPolling`: the azure-mgmt-* clients' generated operations and models cost
about 0.1 s to import for the five of them, more than a round trip to Azure, and each answer was
turned into `wizard.model` objects here anyway. The api-versions are the ones those clients send.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

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
# The api-version of each request: what the azure-mgmt-* client named beside it sends.
VAULT_API = "2023-07-01"
STORAGE_API = "2023-05-01"
PERMISSIONS_API = "2022-04-01"  # azure-mgmt-authorization 4.0.0: permissions, role definitions, role assignments
GROUPS_API = "2025-04-01"  # azure-mgmt-resource 26.0.0: resource groups, providers
SUBSCRIPTIONS_API = "2022-12-01"  # azure-mgmt-resource-subscriptions 1.0.0: subscriptions, locations
MSI_API = "2024-11-30"  # azure-mgmt-msi 7.1.0: user-assigned identities
APPS_API = "2026-07-01"  # azure-mgmt-appcontainers 5.1.0: container apps, revisions
MAX_PAGE = 1000  # the largest page ARM serves for a `$top`


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


def async_transport(connection: Connection) -> Any:
    """The HTTP transport of every request: azure-core's `AsyncioRequestsTransport` (requests on the
    event loop's worker threads), trusting `connection.ca_bundle` when set. Not aiohttp, azure-core's
    default: importing it costs about 0.2 s on every command (it builds a TLS context as it loads),
    while requests is loaded anyway (azure-identity's msal needs it)."""
    from azure.core.pipeline.transport import AsyncioRequestsTransport

    return AsyncioRequestsTransport(connection_verify=connection.ca_bundle or True)


class Gateway:
    def __init__(self, connection: Connection, credential: Any = None) -> None:
        self.connection = connection
        # The credential gets a transport of its own: each pipeline closes its transport with it.
        self.credential = credential or make_credential(connection, transport=async_transport(connection))
        self._pipeline: Any = None
        self._role_cache: dict[str, list[RoleDefinition]] = {}
        self._role_locks: dict[str, asyncio.Lock] = {}
        # Seconds to wait between retries of a role assignment refused with PrincipalNotFound.
        self.principal_retry_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)

    async def close(self) -> None:
        if self._pipeline is not None:
            await self._pipeline.close()
            self._pipeline = None
        with contextlib.suppress(Exception):
            await self.credential.close()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the pipeline ---------------------------------------------------------------------------
    def _arm(self) -> Any:
        """The one Resource Manager pipeline client, built on first use. The pipeline is
        `Connection.client_kwargs`': one retry layer that reports its retries, a guard that sends nothing
        to another host, and no silent resource provider registration."""
        if self._pipeline is None:
            from azure.mgmt.core import AsyncARMPipelineClient

            kw = self.connection.client_kwargs(self.credential)
            for unused in ("credential_scopes", "polling_interval"):  # the clients' own settings, not the pipeline's
                kw.pop(unused, None)
            self._pipeline = AsyncARMPipelineClient(transport=async_transport(self.connection), **kw)
        return self._pipeline

    async def _send(
        self,
        what: str,
        method: str,
        path: str,
        api_version: str | None,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One request to Resource Manager: `path` relative to the endpoint (or a whole nextLink, with
        `api_version` None), `body` sent as JSON. Returns the response (its body read). Raises GatewayError
        when it cannot be sent (after the pipeline's retries); error statuses are the caller's to judge."""
        from azure.core.rest import HttpRequest

        query = dict(params or {})
        if api_version:
            query["api-version"] = api_version
        client = self._arm()
        request = HttpRequest(
            method, client.format_url(path), params=query, json=body, headers={"Accept": "application/json"}
        )
        return await self._call(what, client.send_request(request))

    async def _json(
        self, what: str, method: str, path: str, api_version: str, body: Any = None, missing_ok: bool = False
    ) -> Any:
        """The JSON answer of one request ({} for an empty body); None for a 404 when `missing_ok`.
        Raises GatewayError for any other error status."""
        response = await self._send(what, method, path, api_version, body)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise translate_response(response, what)
        return response.json() if response.content else {}

    async def _call(self, what: str, coro: Awaitable[T]) -> T:
        try:
            return await coro
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
        found = await self._raw_list("list subscriptions", "/subscriptions", SUBSCRIPTIONS_API)
        subs = [
            Subscription(
                id=s["subscriptionId"],
                name=s.get("displayName") or s["subscriptionId"],
                tenant_id=s.get("tenantId") or "",
                state=str(s.get("state") or ""),
                is_default=bool(default and s["subscriptionId"].lower() == default.lower()),
            )
            for s in found
        ]
        return sorted(subs, key=lambda s: (not s.is_default, s.name.lower()))

    async def resource_groups(self, subscription: str) -> list[ResourceGroup]:
        """Every resource group in the subscription the caller may read, sorted by name."""
        return await _whole(self.resource_group_pages(subscription))

    def resource_group_pages(self, subscription: str) -> AsyncIterator[Page[ResourceGroup]]:
        """The resource groups a page at a time (ResourceGroups_List). `$top` is a page size there
        (Azure/azure-sdk-for-python#541) and ARM serves at most 1000 (InvalidTopInQueryString above it,
        Azure/azure-sdk-for-js#18535): a subscription holds at most 980 groups, so one page holds them all."""
        path = f"/subscriptions/{_q(subscription)}/resourcegroups"
        return self._pages("list resource groups", path, GROUPS_API, _group, {"$top": str(MAX_PAGE)})

    async def locations(self, subscription: str) -> list[Location]:
        """The regions `subscription` offers, for the identity's region (GET
        /subscriptions/{id}/locations, Microsoft.Resources' Subscriptions_ListLocations), sorted by
        display name, physical regions first (logical ones such as "Europe" hold no resources)."""
        path = f"/subscriptions/{_q(subscription)}/locations"
        found = await self._raw_list("list the subscription's regions", path, SUBSCRIPTIONS_API)
        regions = []
        for loc in found:
            kind = str((loc.get("metadata") or {}).get("regionType") or "Physical")
            if loc.get("name"):
                name = str(loc["name"])
                regions.append(Location(name, str(loc.get("displayName") or name), kind.lower() != "logical"))
        return sorted(regions, key=lambda r: (not r.physical, r.display_name.lower()))

    async def resource_group(self, subscription: str, name: str) -> ResourceGroup | None:
        path = f"/subscriptions/{_q(subscription)}/resourcegroups/{_q(name)}"
        found = await self._json(f"read resource group {name}", "GET", path, GROUPS_API, missing_ok=True)
        return _group(found) if found is not None else None

    async def identities(self, subscription: str, resource_group: str | None = None) -> list[Identity]:
        """The user-assigned identities in the subscription (or one of its groups), sorted by name."""
        return await _whole(self.identity_pages(subscription, resource_group))

    def identity_pages(self, subscription: str, resource_group: str | None = None) -> AsyncIterator[Page[Identity]]:
        """The user-assigned identities a page at a time (UserAssignedIdentities_ListBySubscription or
        _ListByResourceGroup: no `$top`, the provider decides the page size)."""
        scope = f"/subscriptions/{_q(subscription)}"
        if resource_group:
            scope += f"/resourceGroups/{_q(resource_group)}"
        path = f"{scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
        return self._pages("list managed identities", path, MSI_API, _identity)

    async def identity(self, subscription: str, resource_group: str, name: str) -> Identity | None:
        path = _identity_path(subscription, resource_group, name)
        found = await self._json(f"read identity {name}", "GET", path, MSI_API, missing_ok=True)
        return _identity(found) if found is not None else None

    async def identity_by_id(self, identity_id: str) -> Identity | None:
        """A user-assigned identity by resource id (any subscription); None when it no longer exists."""
        name = identity_id.rstrip("/").rsplit("/", 1)[-1]
        return await self.identity(subscription_of(identity_id), resource_group_of(identity_id), name)

    async def provider_state(self, subscription: str, namespace: str) -> str:
        """A resource provider's `registrationState` in the subscription ("Registered", "NotRegistered",
        "Registering", ...), from GET /subscriptions/{id}/providers/{namespace} (Providers_Get)."""
        path = f"/subscriptions/{_q(subscription)}/providers/{_q(namespace)}"
        found = await self._json(f"read resource provider {namespace}", "GET", path, GROUPS_API)
        return str(found.get("registrationState") or "")

    async def register_provider(self, subscription: str, namespace: str) -> str:
        """POST .../providers/{namespace}/register (Providers_Register): asks Azure to register the provider
        for the whole subscription; returns the state it answers (usually "Registering")."""
        path = f"/subscriptions/{_q(subscription)}/providers/{_q(namespace)}/register"
        found = await self._json(f"register resource provider {namespace}", "POST", path, GROUPS_API)
        return str(found.get("registrationState") or "")

    async def role_definitions(self, subscription: str) -> list[RoleDefinition]:
        """Built-in and custom roles usable in the subscription, read once per run."""
        key = subscription.lower()
        lock = self._role_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._role_cache:
                path = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions"
                found = await self._raw_list("list role definitions", path, PERMISSIONS_API)
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
        path = f"/subscriptions/{_q(subscription)}/providers/Microsoft.Authorization/roleAssignments"
        found = await self._raw_list(
            "list role assignments", path, PERMISSIONS_API, {"$filter": f"principalId eq '{principal_id}'"}
        )
        return [_assignment(a) for a in found]

    async def scope_resources(self, subscription: str) -> list[ScopeResource]:
        """Key Vaults (with their permission model) and storage accounts in the subscription.

        Each provider's own list carries the properties (a vault's enableRbacAuthorization), so
        this is one round trip; the generic resource list would need a read per vault after it.
        """
        base = f"/subscriptions/{_q(subscription)}/providers"
        vaults, accounts = await asyncio.gather(
            self._raw_list("list key vaults", f"{base}/{ARM_TYPE_VAULT}", VAULT_API),
            self._raw_list("list storage accounts", f"{base}/{ARM_TYPE_STORAGE}", STORAGE_API),
        )
        found = [_scope_resource_json(r) for r in (*vaults, *accounts)]
        return sorted(found, key=lambda r: (not r.is_vault, r.name.lower()))

    async def vaults(self, subscription: str) -> list[ScopeResource]:
        """Every Key Vault in the subscription the caller may read, with its permission model."""
        path = f"/subscriptions/{subscription}/providers/{ARM_TYPE_VAULT}"
        found = await self._raw_list("list key vaults", path, VAULT_API)
        return [_scope_resource_json(r) for r in found]

    async def scope_resource(self, resource_id: str) -> ScopeResource | None:
        """One vault or storage account by id, with a vault's permission model; None if it is gone."""
        name = resource_id.rstrip("/").rsplit("/", 1)[-1]
        api = VAULT_API if "/microsoft.keyvault/" in resource_id.lower() else STORAGE_API
        found = await self._json(f"read {name}", "GET", resource_id, api, missing_ok=True)
        return _scope_resource_json(found) if found is not None else None

    async def container_apps(self, subscription: str) -> list[ContainerApp]:
        """Every container app in the subscription the caller may read, sorted by name."""
        return await _whole(self.container_app_pages(subscription))

    def container_app_pages(self, subscription: str) -> AsyncIterator[Page[ContainerApp]]:
        """The container apps a page at a time (ContainerApps_ListBySubscription: no `$top`, the
        provider decides the page size)."""
        path = f"/subscriptions/{subscription}/providers/{ARM_TYPE_CONTAINER_APP}"
        return self._pages("list container apps", path, APPS_API, _app)

    async def container_app(self, app_id: str) -> ContainerApp | None:
        raw = await self.container_app_raw(app_id)
        return _app(raw) if raw is not None else None

    async def container_app_raw(self, app_id: str) -> dict[str, Any] | None:
        name = split_id(app_id)[2]
        found = await self._json(f"read container app {name}", "GET", _app_path(app_id), APPS_API, missing_ok=True)
        return dict(found) if found is not None else None

    async def revisions(self, app_id: str) -> list[Revision]:
        name = split_id(app_id)[2]
        found = await self._raw_list(f"list revisions of {name}", f"{_app_path(app_id)}/revisions", APPS_API)
        result = []
        for raw in found:
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
        found = await self._raw_list(f"read permissions at {scope}", path, PERMISSIONS_API)
        return [Permission(tuple(p.get("actions") or []), tuple(p.get("notActions") or [])) for p in found]

    async def _raw_list(
        self, what: str, path: str, api_version: str, params: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every page of an ARM list as plain JSON. Raises GatewayError."""
        items: list[dict[str, Any]] = []
        async for page in self._pages(what, path, api_version, lambda item: item, params):
            items += page.items
        return items

    async def _pages(
        self,
        what: str,
        path: str,
        api_version: str,
        convert: Callable[[dict[str, Any]], T],
        params: dict[str, str] | None = None,
    ) -> AsyncIterator[Page[T]]:
        """An ARM list a page at a time as it arrives, each item converted, following `nextLink`
        (which carries its own query). Raises GatewayError."""
        url: str = path
        version: str | None = api_version
        while url:
            response = await self._send(what, "GET", url, version, params=params)
            if response.status_code >= 400:
                raise translate_response(response, what)
            doc = response.json()
            url, version, params = doc.get("nextLink") or "", None, None
            yield Page([convert(item) for item in doc.get("value") or []], more=bool(url))

    async def can(self, scope: str, action: str) -> bool:
        return allows(await self.permissions(scope), action)

    # -- writes ---------------------------------------------------------------------------------
    async def create_identity(
        self, subscription: str, resource_group: str, name: str, location: str, tags: dict[str, str]
    ) -> Identity:
        body = {"location": location, "tags": tags}
        path = _identity_path(subscription, resource_group, name)
        return _identity(await self._json(f"create identity {name}", "PUT", path, MSI_API, body))

    async def delete_identity(self, identity_id: str) -> None:
        sub, rg, name = split_id(identity_id)
        await self._json(f"delete identity {name}", "DELETE", _identity_path(sub, rg, name), MSI_API)

    async def create_role_assignment(
        self, scope: str, role: RoleDefinition, principal_id: str, name: str | None = None
    ) -> RoleAssignment:
        """Assign a role to a service principal; an assignment that already exists counts as done."""
        sub = subscription_of(scope)
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
        path = f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{_q(name)}"
        for delay in (*self.principal_retry_delays, None):
            try:
                return _assignment(await self._json(what, "PUT", path, PERMISSIONS_API, body))
            except GatewayError as err:
                if err.code == "RoleAssignmentExists":
                    existing = await self.find_assignment(scope, principal_id, role.guid)
                    if existing is not None:
                        return existing
                if err.code == "PrincipalNotFound" and delay is not None:
                    notify_retry("Entra ID has not replicated the new identity yet (PrincipalNotFound)", delay)
                    await asyncio.sleep(delay)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def find_assignment(self, scope: str, principal_id: str, role_guid: str) -> RoleAssignment | None:
        for assignment in await self.role_assignments(subscription_of(scope), principal_id):
            if assignment.scope.lower() == scope.lower() and assignment.role_guid == role_guid.lower():
                return assignment
        return None

    async def delete_role_assignment(self, assignment_id: str) -> None:
        await self._json("delete role assignment", "DELETE", assignment_id, PERMISSIONS_API)

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
        name = split_id(app_id)[2]
        what = f"update container app {name}"
        poller = await self._begin_update(what, app_id, body)
        try:
            result = await self._call(what, _watched(poller, on_status))
        except GatewayError as err:
            if not err.transient:
                raise
            # Azure accepted the PATCH; only its operation's status could not be read (after the
            # SDK's retries). The app's own provisioningState tells the same story.
            log.info("operation status of %s unreadable (%s); watching the app instead", name, err.code)
            return dict((await self.settled_app(app_id)).raw)
        return dict(result)

    async def _begin_update(self, what: str, app_id: str, body: dict[str, Any]) -> Any:
        """PATCH the app and return the poller of its long-running operation: azure-core's
        AsyncLROPoller with azure-mgmt-core's AsyncARMPolling (Azure-AsyncOperation, then Location, then
        the app's provisioningState; Retry-After honoured, else `Connection.poll_interval`), as
        azure-mgmt-appcontainers' `begin_update` builds it. The result is the app as ARM JSON."""
        from azure.core.polling import AsyncLROPoller
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.polling.async_arm_polling import AsyncARMPolling

        client = self._arm()
        request = HttpRequest(
            "PATCH",
            client.format_url(_app_path(app_id)),
            params={"api-version": APPS_API},
            json=body,
            headers={"Accept": "application/json"},
        )
        # The pipeline response (not only the HTTP one) starts the poller, as the generated clients do.
        initial = await self._call(what, client._pipeline.run(request))
        if initial.http_response.status_code not in (200, 202):
            raise translate_response(initial.http_response, what)
        endpoint = {"endpoint": self.connection.endpoint}
        polling = AsyncARMPolling(self.connection.poll_interval, path_format_arguments=endpoint)
        return AsyncLROPoller(client, initial, lambda response: response.http_response.json(), polling)


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


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `more`: a nextLink follows it."""

    items: list[T]
    more: bool


async def _whole(pages: AsyncIterator[Page[Any]]) -> list[Any]:
    """Every page's items, sorted by name (ignoring case), as every list is shown."""
    items: list[Any] = []
    async for page in pages:
        items += page.items
    return sorted(items, key=lambda item: item.name.lower())


def _q(segment: str) -> str:
    """One path segment, quoted as the azure-mgmt-* clients quote names in their URLs."""
    return quote(segment, safe="")


def _identity_path(subscription: str, resource_group: str, name: str) -> str:
    return (
        f"/subscriptions/{_q(subscription)}/resourceGroups/{_q(resource_group)}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{_q(name)}"
    )


def _app_path(app_id: str) -> str:
    sub, rg, name = split_id(app_id)
    return f"/subscriptions/{_q(sub)}/resourceGroups/{_q(rg)}/providers/Microsoft.App/containerApps/{_q(name)}"


def _group(g: dict[str, Any]) -> ResourceGroup:
    return ResourceGroup(id=g["id"], name=g["name"], location=g.get("location", ""), tags=dict(g.get("tags") or {}))


def _identity(i: dict[str, Any]) -> Identity:
    props = i.get("properties") or {}
    return Identity(
        id=i["id"],
        name=i["name"],
        resource_group=resource_group_of(i["id"]),
        location=i.get("location", ""),
        client_id=props.get("clientId") or "",
        principal_id=props.get("principalId") or "",
        tenant_id=props.get("tenantId") or "",
        tags=dict(i.get("tags") or {}),
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


def _assignment(a: dict[str, Any]) -> RoleAssignment:
    props = a.get("properties") or {}
    return RoleAssignment(
        id=a["id"],
        name=a["name"],
        scope=props.get("scope") or "",
        role_guid=role_guid_of(props.get("roleDefinitionId") or ""),
        principal_id=props.get("principalId") or "",
        principal_type=str(props.get("principalType") or "") or None,
        created_on=str(props["createdOn"]) if props.get("createdOn") else None,
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
