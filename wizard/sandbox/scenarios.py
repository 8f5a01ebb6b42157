"""The tenants a sandbox can start with: `demo` (believable), `empty`, and `large` (for scale).

Every id is derived from the scenario seed, so the same scenario always yields the same
tenant, subscriptions and principals: screenshots, snapshots and docs stay stable.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .providers.authorization import add_assignment, builtin_by_name
from .providers.container_apps import event_stream_endpoint, new_revision
from .store import Principal, Store

SCENARIOS = ("demo", "empty", "large")
_NS = uuid.UUID("6f1d52a4-6c55-4a36-9d57-6e0b7a1c2f10")
LONG_AGO = time.time() - 90 * 24 * 3600


def _guid(seed: int, label: str) -> str:
    return str(uuid.uuid5(_NS, f"{seed}:{label}"))


class _Builder:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        tenant = _guid(seed, "tenant")
        caller = _guid(seed, "caller")
        self.store = Store(
            tenant_id=tenant,
            caller={
                "object_id": caller,
                "upn": "admin@contoso-sandbox.onmicrosoft.com",
                "display_name": "Sandbox Admin",
                "tenant_name": "Contoso (sandbox)",
            },
        )
        self.store.add_principal(Principal(caller, "User", "Sandbox Admin", created=LONG_AGO))

    def guid(self, label: str) -> str:
        return _guid(self.seed, label)

    def subscription(self, label: str, name: str) -> str:
        sid = self.guid(f"subscription:{label}")
        self.store.subscriptions[sid] = {
            "id": f"/subscriptions/{sid}",
            "subscriptionId": sid,
            "tenantId": self.store.tenant_id,
            "displayName": name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "EnterpriseAgreement_2014-09-01",
                "spendingLimit": "Off",
            },
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "tags": {},
        }
        return sid

    def group(self, sub: str, name: str, location: str = "westeurope", tags: dict[str, str] | None = None) -> str:
        rid = f"/subscriptions/{sub}/resourceGroups/{name}"
        self.store.put(
            {
                "id": rid,
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": tags or {},
                "properties": {"provisioningState": "Succeeded"},
            }
        )
        return rid

    def vault(self, group: str, name: str, rbac: bool, location: str = "westeurope") -> str:
        rid = f"{group}/providers/Microsoft.KeyVault/vaults/{name}"
        self.store.put(
            {
                "id": rid,
                "name": name,
                "type": "Microsoft.KeyVault/vaults",
                "location": location,
                "tags": {},
                "properties": {
                    "tenantId": self.store.tenant_id,
                    "sku": {"family": "A", "name": "standard"},
                    "enableRbacAuthorization": rbac,
                    "accessPolicies": [],
                    "vaultUri": f"https://{name}.vault.azure.net/",
                    "enableSoftDelete": True,
                    "softDeleteRetentionInDays": 90,
                    "provisioningState": "Succeeded",
                },
            }
        )
        return rid

    def storage(self, group: str, name: str, location: str = "westeurope") -> str:
        rid = f"{group}/providers/Microsoft.Storage/storageAccounts/{name}"
        self.store.put(
            {
                "id": rid,
                "name": name,
                "type": "Microsoft.Storage/storageAccounts",
                "location": location,
                "kind": "StorageV2",
                "sku": {"name": "Standard_LRS", "tier": "Standard"},
                "tags": {},
                "properties": {
                    "primaryEndpoints": {"blob": f"https://{name}.blob.core.windows.net/"},
                    "provisioningState": "Succeeded",
                    "allowSharedKeyAccess": False,
                },
            }
        )
        return rid

    def identity(self, group: str, name: str, location: str = "westeurope") -> dict[str, Any]:
        rid = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        principal = self.guid(f"principal:{rid}")
        self.store.add_principal(Principal(principal, "ServicePrincipal", name, created=LONG_AGO))
        return self.store.put(
            {
                "id": rid,
                "name": name,
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "location": location,
                "tags": {"owner": "platform"},
                "properties": {
                    "tenantId": self.store.tenant_id,
                    "principalId": principal,
                    "clientId": self.guid(f"client:{rid}"),
                    "isolationScope": "None",
                },
            }
        )

    def environment(self, group: str, name: str, location: str = "westeurope") -> str:
        rid = f"{group}/providers/Microsoft.App/managedEnvironments/{name}"
        self.store.put(
            {
                "id": rid,
                "name": name,
                "type": "Microsoft.App/managedEnvironments",
                "location": location,
                "tags": {},
                "properties": {
                    "provisioningState": "Succeeded",
                    "defaultDomain": f"{name}.{location}.azurecontainerapps.io",
                    "staticIp": "20.0.0.10",
                    "zoneRedundant": False,
                    "workloadProfiles": [{"name": "Consumption", "workloadProfileType": "Consumption"}],
                },
            }
        )
        return rid

    def app(
        self,
        group: str,
        name: str,
        environment: str,
        containers: list[dict[str, Any]],
        secrets: dict[str, str] | None = None,
        identity: dict[str, Any] | None = None,
        revision_mode: str = "Single",
        location: str = "westeurope",
        revisions: int = 1,
    ) -> dict[str, Any]:
        rid = f"{group}/providers/Microsoft.App/containerApps/{name}"
        app: dict[str, Any] = {
            "id": rid,
            "name": name,
            "type": "Microsoft.App/containerApps",
            "location": location,
            "tags": {},
            "properties": {
                "provisioningState": "Succeeded",
                "runningStatus": "Running",
                "environmentId": environment,
                "managedEnvironmentId": environment,
                "workloadProfileName": "Consumption",
                "outboundIpAddresses": ["20.0.0.1"],
                "eventStreamEndpoint": event_stream_endpoint(rid, location),
                "configuration": {
                    "activeRevisionsMode": revision_mode,
                    "maxInactiveRevisions": 100,
                    "secrets": [{"name": n} for n in (secrets or {})],
                    "registries": [],
                },
                "template": {
                    "containers": containers,
                    "scale": {"minReplicas": 1, "maxReplicas": 1},
                    "volumes": [{"name": "work", "storageType": "EmptyDir"}],
                },
            },
        }
        if identity:
            app["identity"] = identity
        self.store.put(app)
        self.store.hidden_for(rid)["secrets"] = {n: {"value": v} for n, v in (secrets or {}).items()}
        for _ in range(revisions):
            new_revision(self.store, app)
        app["properties"]["latestReadyRevisionName"] = app["properties"]["latestRevisionName"]
        return app

    def system_identity(self, label: str) -> dict[str, Any]:
        principal = self.guid(f"system:{label}")
        self.store.add_principal(Principal(principal, "ServicePrincipal", label, created=LONG_AGO))
        return {"type": "SystemAssigned", "principalId": principal, "tenantId": self.store.tenant_id}

    def assign(self, scope: str, role_name: str, principal: str, kind: str = "ServicePrincipal") -> None:
        add_assignment(self.store, scope, builtin_by_name(role_name)["name"], principal, kind)

    def custom_role(self, sub: str, name: str, description: str, actions: list[str], data: list[str]) -> None:
        guid = self.guid(f"role:{name}")
        self.store.put(
            {
                "id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                "name": guid,
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    "roleName": name,
                    "type": "CustomRole",
                    "description": description,
                    "assignableScopes": [f"/subscriptions/{sub}"],
                    "permissions": [{"actions": actions, "notActions": [], "dataActions": data, "notDataActions": []}],
                    "createdOn": "2025-03-01T09:00:00Z",
                    "updatedOn": "2025-03-01T09:00:00Z",
                    "createdBy": self.store.caller["object_id"],
                    "updatedBy": self.store.caller["object_id"],
                },
            }
        )


def _runner_containers(agent: str, account: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "runner",
            "image": "maiaaihybrid.azurecr.io/maia/runner:2.14.0",
            "resources": {"cpu": 1.0, "memory": "2Gi"},
            "env": [
                {"name": "AGENT_ID", "value": agent},
                {"name": "ACCOUNT_ID", "value": account},
                {"name": "AGENT_TOKEN", "secretRef": "agent-token"},
                {"name": "HTTP_PROXY", "value": ""},
                {"name": "LOG_LEVEL", "value": "info"},
            ],
            "probes": [
                {"type": "Liveness", "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 30},
            ],
            "volumeMounts": [{"volumeName": "work", "mountPath": "/work"}],
        },
        {
            "name": "log-shipper",
            "image": "mcr.microsoft.com/azuremonitor/containerinsights/ciprod:3.1.2",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"},
            "env": [{"name": "SHIP_TO", "value": "loganalytics"}],
            "volumeMounts": [{"volumeName": "work", "mountPath": "/var/log/runner"}],
        },
    ]


def _demo(b: _Builder) -> None:
    store = b.store
    caller = store.caller["object_id"]
    prod = b.subscription("prod", "Contoso Production")
    dev = b.subscription("dev", "Contoso Dev/Test")
    b.assign(f"/subscriptions/{prod}", "Owner", caller, "User")
    b.assign(f"/subscriptions/{dev}", "Contributor", caller, "User")

    runner = b.group(prod, "rg-runner", tags={"workload": "maia"})
    secrets_rg = b.group(prod, "rg-shared-secrets")
    data = b.group(prod, "rg-data", "northeurope")
    b.group(prod, "rg-network")
    b.group(prod, "NetworkWatcherRG")
    kv = b.vault(secrets_rg, "kv-maia-prod", rbac=True)
    b.vault(secrets_rg, "kv-legacy-policies", rbac=False)
    b.storage(data, "stmaiadata01", "northeurope")
    b.storage(runner, "stmaiarunnerlogs")
    env = b.environment(runner, "cae-maia")
    legacy = b.identity(runner, "id-legacy-runner")
    b.assign(kv, "Key Vault Secrets User", legacy["properties"]["principalId"])
    b.custom_role(
        prod,
        "Maia Runner Secrets Reader",
        "Reads Key Vault secrets and lists blobs for the Maia runner.",
        ["Microsoft.KeyVault/vaults/read", "Microsoft.Storage/storageAccounts/read"],
        [
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        ],
    )
    system = b.system_identity("maia-runner")
    b.app(
        runner,
        "maia-runner",
        env,
        _runner_containers("agt-7f3a91", "acc-20417"),
        secrets={"agent-token": "sandbox-agent-token-value"},
        identity=system,
    )
    b.assign(runner, "Reader", system["principalId"])
    staging = _runner_containers("agt-staging", "acc-20417")[:1]
    staging[0]["env"].append({"name": "AZURE_CLIENT_ID", "value": legacy["properties"]["clientId"]})
    b.app(
        runner,
        "maia-runner-staging",
        env,
        staging,
        secrets={"agent-token": "sandbox-staging-token"},
        identity={
            "type": "UserAssigned",
            "userAssignedIdentities": {
                legacy["id"]: {
                    "principalId": legacy["properties"]["principalId"],
                    "clientId": legacy["properties"]["clientId"],
                }
            },
        },
        revision_mode="Multiple",
        revisions=2,
    )

    dev_rg = b.group(dev, "rg-dev-runner", "northeurope")
    b.group(dev, "rg-experiments", "swedencentral")
    dev_env = b.environment(dev_rg, "cae-dev", "northeurope")
    b.vault(dev_rg, "kv-maia-dev", rbac=True, location="northeurope")
    b.app(
        dev_rg,
        "maia-runner-dev",
        dev_env,
        _runner_containers("agt-dev", "acc-dev")[:1],
        secrets={"agent-token": "sandbox-dev-token"},
        location="northeurope",
    )


def _empty(b: _Builder) -> None:
    sub = b.subscription("empty", "Empty Subscription")
    b.assign(f"/subscriptions/{sub}", "Owner", b.store.caller["object_id"], "User")


# ARM's limit of resource groups in one subscription: a big tenant is many subscriptions.
MAX_GROUPS = 980
LARGE_SUBSCRIPTIONS = 300
LARGE_APPS = 2000
_REGIONS = ("westeurope", "northeurope", "eastus", "westus2", "uksouth")


def _large_app(b: _Builder, group: str, env: str, i: int, location: str) -> None:
    containers = [
        {
            "name": "app",
            "image": f"contoso.azurecr.io/svc-{i % 40}:1.{i % 9}",
            "resources": {"cpu": 0.5, "memory": "1Gi"},
            "env": [{"name": "SERVICE_ID", "value": f"svc-{i:04d}"}],
        }
    ]
    b.app(group, f"app-{i:04d}", env, containers, location=location)


def _large(b: _Builder) -> None:
    """A tenant as big tenants are: the demo's two subscriptions, one enterprise subscription at ARM's limit
    of 980 resource groups holding half the 2,000 container apps, and team subscriptions (300 in all) with
    a few groups and apps each. The caller is Owner of the big one, Contributor of most team subscriptions
    and Reader of every tenth. Everything derives from the seed."""
    _demo(b)
    caller = b.store.caller["object_id"]
    big = b.subscription("large", "Contoso Enterprise (large)")
    b.assign(f"/subscriptions/{big}", "Owner", caller, "User")
    groups = [b.group(big, f"rg-team-{i:04d}", _REGIONS[i % len(_REGIONS)]) for i in range(MAX_GROUPS)]
    envs = [b.environment(groups[i * 120], f"cae-{i:02d}", _REGIONS[(i * 120) % len(_REGIONS)]) for i in range(8)]
    big_apps = LARGE_APPS // 2
    for i in range(big_apps):
        g = (i * 7) % len(groups)
        _large_app(b, groups[g], envs[i % len(envs)], i, _REGIONS[g % len(_REGIONS)])
    teams = LARGE_SUBSCRIPTIONS - len(b.store.subscriptions)
    for n in range(teams):
        sub = b.subscription(f"team-{n:03d}", f"Contoso Team {n:03d}")
        b.assign(f"/subscriptions/{sub}", "Reader" if n % 10 == 0 else "Contributor", caller, "User")
        region = _REGIONS[n % len(_REGIONS)]
        team_groups = [b.group(sub, f"rg-team{n:03d}-{k}", region) for k in range(2 + n % 3)]
        env = b.environment(team_groups[0], f"cae-team{n:03d}", region)
        # The other half of the apps, dealt round the team subscriptions.
        for i in range(big_apps + n, LARGE_APPS, teams):
            _large_app(b, team_groups[i % len(team_groups)], env, i, region)


def build_store(scenario: str, seed: int = 0) -> Store:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    builder = _Builder(seed)
    {"demo": _demo, "empty": _empty, "large": _large}[scenario](builder)
    builder.store.dirty = True
    return builder.store
