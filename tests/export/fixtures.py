"""Step plans built by hand for the export tests (no sandbox, no network): a demo-like app and plans."""

from __future__ import annotations

from typing import Any

from wizard.model import ContainerApp, Identity, LinkedIdentity, ResourceGroup, RoleAssignment, RoleDefinition
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.steps import LiveState, StepPlan, build_steps

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
OTHER_SUB = "6f0c2a55-9e35-4f7e-8c3a-1d2e3f405162"
RG = f"/subscriptions/{SUB}/resourceGroups"
APP_ID = f"{RG}/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
ENV_ID = f"{RG}/rg-runner/providers/Microsoft.App/managedEnvironments/cae-maia"
VAULT = f"{RG}/rg-runner/providers/Microsoft.KeyVault/vaults/kv-maia-prod"
STORAGE = f"{RG}/rg-runner/providers/Microsoft.Storage/storageAccounts/stmaiadata01"
BLOB_CONTAINER = f"{STORAGE}/blobServices/default/containers/runner-logs"
BUS = f"{RG}/rg-runner/providers/Microsoft.ServiceBus/namespaces/sb-maia"
ODD = f"{RG}/rg-runner/providers/Contoso.Widgets/widgets/w1"
SHARED_VAULT = f"{RG}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-shared"
SUBSCRIPTION_SCOPE = f"/subscriptions/{SUB}"
LEGACY = f"{RG}/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-legacy-runner"
IDENTITY_ID = f"{RG}/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-maia-runner"
CLIENT_ID = "11111111-2222-4333-8444-555555555555"
PRINCIPAL_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
SECRET_VALUE = "sandbox-agent-token-value"  # never known to runner-identity; must never appear

ROLES = {
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
}


def role(name: str) -> RoleDefinition:
    guid = ROLES[name]
    return RoleDefinition(
        id=f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        guid=guid,
        name=name,
        description="",
        builtin=True,
    )


def containers() -> list[dict[str, Any]]:
    return [
        {
            "name": "runner",
            "image": "maiaaihybrid.azurecr.io/maia/runner:2.14.0",
            "resources": {"cpu": 1.0, "memory": "2Gi"},
            "env": [
                {"name": "AGENT_ID", "value": "agt-7f3a91"},
                {"name": "AGENT_TOKEN", "secretRef": "agent-token"},
                {"name": "HTTP_PROXY", "value": ""},
                {"name": "GREETING", "value": "it's ${HOME} \\ done\nnext"},
            ],
            "probes": [{"type": "Liveness", "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 30}],
            "volumeMounts": [{"volumeName": "work", "mountPath": "/work"}],
        },
        {
            "name": "log-shipper",
            "image": "mcr.microsoft.com/azuremonitor/containerinsights/ciprod:3.1.2",
            "resources": {"cpu": 0.25, "memory": "0.5Gi"},
            "env": [{"name": "SHIP_TO", "value": "loganalytics"}, {"name": "SHIP_KEY", "secretRef": "ship-key"}],
            "args": ["--verbose", "--retries=-1"],
            "tty": False,
            "extra": None,
        },
    ]


def app(**changes: Any) -> ContainerApp:
    fields: dict[str, Any] = {
        "id": APP_ID,
        "name": "maia-runner",
        "resource_group": "rg-runner",
        "subscription": SUB,
        "location": "westeurope",
        "environment_id": ENV_ID,
        "revision_mode": "Single",
        "latest_revision": "maia-runner--abc123",
        "provisioning_state": "Succeeded",
        "identity_type": "SystemAssigned, UserAssigned",
        "system_principal_id": "99999999-9999-4999-8999-999999999999",
        "user_identities": (LinkedIdentity(LEGACY, "p-legacy", "c-legacy"),),
        "containers": containers(),
        "template": {
            "scale": {"minReplicas": 1, "maxReplicas": 1},
            "volumes": [{"name": "work", "storageType": "EmptyDir"}],
        },
        "configuration": {
            "activeRevisionsMode": "Single",
            "ingress": {"external": False, "targetPort": 8080},
            "registries": [{"server": "contoso.azurecr.io", "passwordSecretRef": "registry-pass"}],
            "secrets": [
                {"name": "agent-token"},
                {"name": "ship-key"},
                {"name": "registry-pass"},
                {"name": "vault-held", "keyVaultUrl": "https://kv.vault.azure.net/secrets/x", "identity": "system"},
            ],
        },
        "tags": {"team": "runners"},
        "workload_profile": "Consumption",
    }
    fields.update(changes)
    return ContainerApp(**fields)


def new_plan(requests: list[RoleRequest] | None = None, **identity: Any) -> Plan:
    spec = {"resource_group": "rg-runner", "name": "id-maia-runner", "tags": {"owner": "data team"}, **identity}
    return Plan(
        subscription=SUB,
        identity=IdentitySpec(**spec),
        role_assignments=requests
        if requests is not None
        else [
            RoleRequest("Key Vault Secrets User", VAULT),
            RoleRequest("Storage Blob Data Reader", None),
        ],
        container_app=AppTarget(APP_ID, "runner"),
    )


def step_plan(plan: Plan, **live: Any) -> StepPlan:
    state = LiveState(
        group=ResourceGroup(f"{RG}/rg-runner", "rg-runner", "westeurope"),
        roles=[role(r.role) if r.role in ROLES else None for r in plan.role_assignments],
        app=app(),
    )
    for key, value in live.items():
        setattr(state, key, value)
    return build_steps(plan, state)


def fresh() -> StepPlan:
    """Nothing exists yet: every step writes."""
    return step_plan(new_plan())


def existing_identity(**changes: Any) -> Identity:
    fields: dict[str, Any] = {
        "id": IDENTITY_ID,
        "name": "id-maia-runner",
        "resource_group": "rg-runner",
        "location": "westeurope",
        "client_id": CLIENT_ID,
        "principal_id": PRINCIPAL_ID,
        "tenant_id": "t",
        "tags": {"owner": "data team", "cost": "42"},
    }
    fields.update(changes)
    return Identity(**fields)


def all_done() -> StepPlan:
    """Everything the plan asks for is already there."""
    plan = new_plan()
    held = [
        RoleAssignment(f"{VAULT}/x/1", "ra-vault-by-portal", VAULT, ROLES["Key Vault Secrets User"], PRINCIPAL_ID),
        RoleAssignment(
            f"{RG}/rg-runner/x/2", "ra-group", f"{RG}/rg-runner", ROLES["Storage Blob Data Reader"], PRINCIPAL_ID
        ),
    ]
    containers_now = containers()
    containers_now[0]["env"].append({"name": "AZURE_CLIENT_ID", "value": CLIENT_ID})
    linked = (*app().user_identities, LinkedIdentity(IDENTITY_ID, PRINCIPAL_ID, CLIENT_ID))
    return step_plan(
        plan,
        identity=existing_identity(),
        assignments=held,
        app=app(user_identities=linked, containers=containers_now),
    )
