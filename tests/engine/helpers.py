"""Shared pieces for engine tests: a gateway on a running sandbox, demo ids, quick plans."""

from __future__ import annotations

import copy
from typing import Any

from wizard.apply import Applier
from wizard.azure.connection import Connection
from wizard.azure.gateway import Gateway
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest

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
