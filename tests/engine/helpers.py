"""Shared pieces for engine tests: a gateway on a running sandbox, demo ids, quick plans."""

from __future__ import annotations

import copy
from typing import Any

from wizard.apply import Applier
from wizard.azure.connection import Connection
from wizard.azure.gateway import Gateway
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.rollback import RollbackOutcome, execute, plan_rollback, read_run

SECRET_VALUE = "sandbox-agent-token-value"  # the demo's agent-token secret: must never leak


def connection(running: Any, **overrides: Any) -> Connection:
    settings: dict[str, Any] = {
        "arm_endpoint": running.info.arm_endpoint,
        "ca_bundle": running.info.ca_bundle,
        "managed_identity_only": True,
        "poll_interval": 0.01,
        "retry_total": 3,
        "retry_backoff": 0.01,
    }
    settings.update(overrides)
    return Connection(**settings)


def gateway(running: Any, **overrides: Any) -> Gateway:
    gw = Gateway(connection(running, **overrides))
    gw.principal_retry_delays = (0.05, 0.05)
    return gw


def applier(gw: Gateway, tmp_path: Any, **kwargs: Any) -> Applier:
    return Applier(gw, journal_dir=tmp_path, **kwargs)


async def roll_back(gw: Gateway, journal: Any) -> RollbackOutcome:
    """Plan the rollback of the run journaled at `journal`, then do it (what --yes does)."""
    return await execute(gw, await plan_rollback(gw, read_run(journal)))


def ids(running: Any) -> dict[str, str]:
    sub = running.prod
    rg = f"/subscriptions/{sub}/resourceGroups"
    return {
        "sub": sub,
        "dev": running.info.subscription_ids[1],
        "app": f"{rg}/rg-runner/providers/Microsoft.App/containerApps/maia-runner",
        "staging": f"{rg}/rg-runner/providers/Microsoft.App/containerApps/maia-runner-staging",
        "vault": f"{rg}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod",
        "legacy_vault": f"{rg}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-legacy-policies",
        "storage": f"{rg}/rg-data/providers/Microsoft.Storage/storageAccounts/stmaiadata01",
        "legacy_identity": f"{rg}/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-legacy-runner",
        "group": f"{rg}/rg-runner",
    }


def runner_plan(running: Any, name: str = "id-maia-runner", app: str | None = "app", **identity: Any) -> Plan:
    i = ids(running)
    return Plan(
        subscription=i["sub"],
        identity=IdentitySpec(resource_group="rg-runner", name=name, **identity),
        role_assignments=[
            RoleRequest("Key Vault Secrets User", i["vault"]),
            RoleRequest("Storage Blob Data Reader", None),
        ],
        container_app=AppTarget(i[app], "runner") if app else None,
    )


def snapshot(running: Any, resource_id: str) -> dict[str, Any]:
    """What the sandbox holds for a resource, taken on the sandbox's own loop."""
    return running.thread.call(lambda: copy.deepcopy(running.store.get(resource_id)))


def secrets_of(running: Any, resource_id: str) -> dict[str, Any]:
    return running.thread.call(lambda: copy.deepcopy(running.store.hidden_for(resource_id).get("secrets", {})))


def install_app(
    running: Any,
    name: str,
    containers: list[dict[str, Any]],
    *,
    identity: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    state: str = "Succeeded",
    template: dict[str, Any] | None = None,
) -> str:
    """Put a container app straight into the sandbox's store (shapes a client could not write) and
    return its id. It gets one revision, as an app that has run."""
    from wizard.sandbox.providers.container_apps import fill_read_only, new_revision

    i = ids(running)
    app_id = f"{i['group']}/providers/Microsoft.App/containerApps/{name}"
    env_id = f"{i['group']}/providers/Microsoft.App/managedEnvironments/cae-maia"

    def install() -> None:
        store = running.store
        app = {
            "id": app_id,
            "name": name,
            "type": "Microsoft.App/containerApps",
            "location": "westeurope",
            "tags": {"team": "runners"},
            "identity": copy.deepcopy(identity or {"type": "None"}),
            "properties": {
                "provisioningState": state,
                "environmentId": env_id,
                "managedEnvironmentId": env_id,
                "configuration": {
                    "activeRevisionsMode": "Single",
                    "secrets": [{"name": s} for s in secrets or {}],
                    **copy.deepcopy(configuration or {}),
                },
                "template": {
                    "containers": copy.deepcopy(containers),
                    "scale": {"minReplicas": 1, "maxReplicas": 2},
                    **copy.deepcopy(template or {}),
                },
            },
        }
        fill_read_only(store, app)
        store.put(app)
        store.hidden_for(app_id)["secrets"] = {k: {"value": v} for k, v in (secrets or {}).items()}
        new_revision(store, app)

    running.thread.call(install)
    return app_id


def edit_resource(running: Any, resource_id: str, change: Any) -> None:
    """Someone else's change, made in the sandbox's store on its own loop: `change(resource)`."""

    def edit() -> None:
        resource = running.store.get(resource_id)
        change(resource)
        running.store.put(resource)

    running.thread.call(edit)


def caller_with_custom_role(running: Any, name: str, not_actions: list[str]) -> None:
    """Make the caller's only role, at every subscription, a custom role: Owner minus `not_actions`."""
    import uuid

    from wizard.sandbox.providers.authorization import add_assignment, assignments_of

    def grant() -> None:
        store = running.store
        caller = store.caller["object_id"]
        for assignment in assignments_of(store, caller):
            store.delete(assignment["id"])
        for sub in store.subscriptions.values():
            guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub['id']}|{name}"))
            store.put(
                {
                    "id": f"{sub['id']}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                    "name": guid,
                    "type": "Microsoft.Authorization/roleDefinitions",
                    "properties": {
                        "roleName": name,
                        "type": "CustomRole",
                        "description": f"Owner without {', '.join(not_actions)}",
                        "assignableScopes": [sub["id"]],
                        "permissions": [
                            {"actions": ["*"], "notActions": not_actions, "dataActions": [], "notDataActions": []}
                        ],
                    },
                }
            )
            add_assignment(store, sub["id"], guid, caller, "User")

    running.thread.call(grant)


def store_bytes(running: Any) -> bytes:
    """Everything the sandbox holds, as bytes: equal bytes mean nothing changed."""
    import json

    return running.thread.call(lambda: json.dumps(running.store.to_json(), sort_keys=True).encode())


async def link_then_delete(gw: Gateway, running: Any, name: str) -> str:
    """Someone links a new identity to maia-runner (keeping what it holds), then deletes the identity:
    the app keeps an entry for an identity that no longer exists. Returns that identity's id."""
    i = ids(running)
    doomed = await gw.create_identity(i["sub"], "rg-runner", name, "westeurope", {})
    raw = await gw.container_app_raw(i["app"])
    users = {k: {} for k in ((raw or {}).get("identity") or {}).get("userAssignedIdentities") or {}}
    await gw.patch_container_app(
        i["app"],
        {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {**users, doomed.id: {}}}},
    )
    await gw.delete_identity(doomed.id)
    return str(doomed.id)


def name_in_registry(running: Any, app_id: str, identity_id: str) -> None:
    """Someone points the app's registry at `identity_id` (a registry pull identity)."""
    edit_resource(
        running,
        app_id,
        lambda app: app["properties"]["configuration"].__setitem__(
            "registries", [{"server": "contoso.azurecr.io", "identity": identity_id}]
        ),
    )


def assert_demo_app_linked(
    running: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    secrets_before: dict[str, Any],
    identity_id: str,
    client_id: str,
) -> None:
    """The demo's two-container app after a run that links `identity_id` and sets AZURE_CLIENT_ID:
    the runner container gains only that variable, the shipper and the configuration are as `before`,
    the system-assigned identity is kept beside the one linked, and no secret changed."""
    runner, shipper = after["properties"]["template"]["containers"]
    old_runner, old_shipper = before["properties"]["template"]["containers"]
    assert runner["env"] == [*old_runner["env"], {"name": "AZURE_CLIENT_ID", "value": client_id}]
    assert {k: v for k, v in runner.items() if k != "env"} == {k: v for k, v in old_runner.items() if k != "env"}
    assert shipper == old_shipper
    assert after["identity"]["type"] == "SystemAssigned,UserAssigned"
    assert after["identity"]["principalId"] == before["identity"]["principalId"]
    assert list(after["identity"]["userAssignedIdentities"]) == [identity_id]
    assert after["properties"]["configuration"] == before["properties"]["configuration"]
    assert secrets_of(running, ids(running)["app"]) == secrets_before
