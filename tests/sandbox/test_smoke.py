"""The whole portal path once, through the real SDK clients: the sandbox is usable end to end."""

from __future__ import annotations

from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.appcontainers.models import ContainerApp, ManagedServiceIdentity, Template
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient


def test_identity_role_link_and_env_var_through_the_sdk(demo) -> None:
    cred, kw, sub = demo.credential(), demo.client_kwargs(), demo.prod
    identity = ManagedServiceIdentityClient(cred, sub, **kw).user_assigned_identities.create_or_update(
        "rg-runner", "id-smoke", {"location": "westeurope"}
    )
    auth = AuthorizationManagementClient(cred, sub, **kw)
    role = next(
        iter(auth.role_definitions.list(f"/subscriptions/{sub}", filter="roleName eq 'Key Vault Secrets User'"))
    )
    vault = f"/subscriptions/{sub}/resourceGroups/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod"
    auth.role_assignments.create(
        vault,
        "0b6c8f7e-7d0b-4c1b-9a53-5b0d2a0e4c11",
        {"role_definition_id": role.id, "principal_id": identity.principal_id, "principal_type": "ServicePrincipal"},
    )
    apps = ContainerAppsAPIClient(cred, sub, **kw).container_apps
    app = apps.get("rg-runner", "maia-runner")
    containers = app.template.containers
    containers[0].env.append({"name": "AZURE_CLIENT_ID", "value": identity.client_id})
    patch = ContainerApp(
        location=app.location,
        identity=ManagedServiceIdentity(type="SystemAssigned,UserAssigned", user_assigned_identities={identity.id: {}}),
        template=Template(containers=containers),
    )
    result = apps.begin_update("rg-runner", "maia-runner", patch, polling_interval=0.01).result()

    held = demo.store.get(app.id)
    env = {e["name"]: e for e in held["properties"]["template"]["containers"][0]["env"]}
    assert env["AZURE_CLIENT_ID"]["value"] == identity.client_id
    assert env["AGENT_TOKEN"] == {"name": "AGENT_TOKEN", "secretRef": "agent-token"}
    assert held["identity"]["principalId"] == app.identity.principal_id  # system-assigned kept
    assert identity.id in held["identity"]["userAssignedIdentities"]
    assert result.latest_revision_name != app.latest_revision_name
    assert [c["name"] for c in held["properties"]["template"]["containers"]] == ["runner", "log-shipper"]
