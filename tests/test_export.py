"""The az CLI and Bicep exports, from step plans built by hand (no sandbox, no network)."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wizard.azure.gateway import assignment_name
from wizard.export import render_az, render_bicep
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


# ================================================================================================
# az CLI
# ================================================================================================


def bash_syntax_ok(script: str) -> None:
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_az_script_makes_every_change_with_the_az_cli() -> None:
    script = render_az(fresh())
    bash_syntax_ok(script)
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    header = script.split("set -euo pipefail")[0]
    assert "Generated by runner-identity" in header
    assert SUB in header and IDENTITY_ID in header and APP_ID in header
    assert "5 to create, 0 to change, 0 unchanged" in header
    assert 'az account set --subscription "$SUBSCRIPTION"' in script
    assert f"SUBSCRIPTION={SUB}" in script
    assert (
        'az identity create --resource-group "$IDENTITY_GROUP" --name "$IDENTITY_NAME" --location westeurope '
        "--tags 'owner=data team' -o none"
    ) in script
    assert (
        'CLIENT_ID=$(az identity show --resource-group "$IDENTITY_GROUP" --name "$IDENTITY_NAME" --query clientId -o tsv)'
        in script
    )
    assert "--query principalId -o tsv)" in script
    for scope, guid in (
        (VAULT, ROLES["Key Vault Secrets User"]),
        (f"{RG}/rg-runner", ROLES["Storage Blob Data Reader"]),
    ):
        assert f'NAME=$(assignment_name {scope} "$PRINCIPAL_ID" {guid})' in script
        assert (
            'assign_role az role assignment create --assignee-object-id "$PRINCIPAL_ID" '
            f'--assignee-principal-type ServicePrincipal --role {guid} --scope {scope} --name "$NAME" -o none'
        ) in script
    assert (
        'az containerapp identity assign --name maia-runner --resource-group rg-runner --user-assigned "$IDENTITY_ID" -o none'
    ) in script
    assert (
        "az containerapp update --name maia-runner --resource-group rg-runner --container-name runner "
        '--set-env-vars AZURE_CLIENT_ID="$CLIENT_ID" -o none'
    ) in script
    # the four writes come in apply's order
    order = [
        script.index(s)
        for s in (
            "\naz identity create",
            "\nassign_role az role",
            "\naz containerapp identity",
            "\naz containerapp update",
        )
    ]
    assert order == sorted(order)
    assert "exit 1" not in script
    assert SECRET_VALUE not in script and "agent-token" not in script


def test_az_unchanged_steps_are_comments_but_the_ids_are_still_read() -> None:
    script = render_az(all_done())
    bash_syntax_ok(script)
    assert "# unchanged: reuse managed identity id-maia-runner" in script
    assert "# unchanged: 'Key Vault Secrets User' at vaults kv-maia-prod is assigned" in script
    assert "# unchanged: id-maia-runner is linked to maia-runner" in script
    assert "# unchanged: AZURE_CLIENT_ID on container runner of maia-runner holds the client ID" in script
    assert "--query clientId -o tsv" in script and "--query principalId -o tsv" in script
    for command in (
        "az identity create",
        "az role assignment create",
        "containerapp identity assign",
        "containerapp update",
    ):
        assert not any(line.startswith(command) or f" {command}" in line for line in _commands(script)), command
    assert "assignment_name()" not in script  # no assignment to name


def test_az_reuse_with_new_tags_and_a_mix_of_steps() -> None:
    plan = new_plan(tags={"owner": "data team", "note": "it's $(rm -rf /) `x` ${y}"})
    sp = step_plan(
        plan,
        identity=existing_identity(location="northeurope"),
        assignments=[RoleAssignment("x", "n", VAULT, ROLES["Key Vault Secrets User"], PRINCIPAL_ID)],
    )
    script = render_az(sp)
    bash_syntax_ok(script)
    # the update re-PUTs with the identity's own location and every tag, as apply does
    assert (
        "--location northeurope --tags 'owner=data team' cost=42 'note=it'\"'\"'s $(rm -rf /) `x` ${y}' -o none"
        in script
    )
    assert "# unchanged: 'Key Vault Secrets User'" in script
    assert sum(1 for line in _commands(script) if line.startswith("assign_role az role assignment create")) == 1
    assert "containerapp identity assign" in script and "containerapp update" in script
    identity = block(render_bicep(sp), "resource identity ")
    assert "location: 'northeurope'" in identity
    assert "    cost: '42'\n    note: 'it\\'s $(rm -rf /) `x` \\${y}'\n" in identity


def test_az_script_with_problems_stops_before_writing(tmp_path: Path) -> None:
    sp = step_plan(new_plan(), group=None)
    assert sp.problems
    script = render_az(sp)
    bash_syntax_ok(script)
    head = script.split("az account set")[0]
    assert "# apply would refuse this plan" in head and "exit 1" in head
    assert "rg-runner' was not found" in head
    result, calls = run_with_fake_az(tmp_path, script)
    assert result.returncode == 1 and "this plan has problems" in result.stderr
    assert calls == []


def test_az_comment_text_cannot_break_out_of_a_comment() -> None:
    sp = fresh()
    sp.steps[0].details.append("evil\nrm -rf ~")
    script = render_az(sp)
    assert "\nrm -rf ~" not in script
    assert "#     evil rm -rf ~" in script


def test_az_app_in_another_subscription_names_it() -> None:
    other = f"/subscriptions/{OTHER_SUB}/resourceGroups/rg-x/providers/Microsoft.App/containerApps/maia-runner"
    plan = new_plan()
    plan.container_app = AppTarget(other, "runner")
    sp = step_plan(plan, app=app(id=other, resource_group="rg-x", subscription=OTHER_SUB))
    script = render_az(sp)
    assert f"--name maia-runner --resource-group rg-x --subscription {OTHER_SUB} --user-assigned" in script


def _commands(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _function(script: str, name: str) -> str:
    match = re.search(rf"^{name}\(\) {{\n.*?^}}$", script, re.S | re.M)
    assert match, f"{name} is not in the script"
    return match.group(0)


def _run_assignment_name(script: str, args: list[str], path: str | None = None) -> str:
    namespace = next(line for line in script.splitlines() if line.startswith("ASSIGNMENT_NAMESPACE="))
    snippet = f'set -euo pipefail\n{namespace}\n{_function(script, "assignment_name")}\nassignment_name "$@"\n'
    env = {**os.environ, "PATH": path} if path else None
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(
        [bash, "-c", snippet, "assignment_name", *args], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.strip()


@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 is not on PATH")
def test_the_scripts_assignment_name_is_the_gateways() -> None:
    script = render_az(fresh())
    scope = f"/subscriptions/{SUB.upper()}/resourceGroups/RG-Runner/providers/Microsoft.KeyVault/vaults/KV-Maia"
    for principal in (PRINCIPAL_ID, PRINCIPAL_ID.upper()):
        args = [scope, principal, ROLES["Reader"]]
        assert _run_assignment_name(script, args) == assignment_name(*args)


@pytest.mark.skipif(shutil.which("uuidgen") is None, reason="util-linux uuidgen is not installed")
def test_the_uuidgen_fallback_gives_the_same_name(tmp_path: Path) -> None:
    for tool in ("uuidgen", "tr"):
        (tmp_path / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    script = render_az(fresh())
    args = [f"/subscriptions/{SUB}/resourceGroups/RG-Runner", PRINCIPAL_ID, ROLES["Reader"]]
    assert _run_assignment_name(script, args, path=str(tmp_path)) == assignment_name(*args)


FAKE_AZ = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["AZ_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:2] == ["identity", "show"]:
    print({{"clientId": "{client}", "principalId": "{principal}"}}[args[args.index("--query") + 1]])
fail = os.environ.get("AZ_FAIL")
if fail and args[:3] == ["role", "assignment", "create"]:
    print("(" + fail + ") it failed", file=sys.stderr)
    sys.exit(1)
"""


def run_with_fake_az(
    tmp_path: Path, script: str, fail: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable, client=CLIENT_ID, principal=PRINCIPAL_ID))
    az.chmod(az.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "az.log"
    log.write_text("")
    path = tmp_path / "export.sh"
    path.write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AZ_LOG": str(log), "AZ_FAIL": fail}
    result = subprocess.run(["bash", str(path)], capture_output=True, text=True, env=env, check=False, timeout=60)
    return result, [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 is not on PATH")
def test_the_script_runs_and_passes_exact_arguments(tmp_path: Path) -> None:
    plan = new_plan(tags={"owner": "data team", "note": "it's $(echo pwned) ${x}"})
    result, calls = run_with_fake_az(tmp_path, render_az(step_plan(plan)))
    assert result.returncode == 0, result.stderr
    assert calls[0] == ["account", "set", "--subscription", SUB]
    assert calls[1] == [
        "identity", "create", "--resource-group", "rg-runner", "--name", "id-maia-runner",
        "--location", "westeurope", "--tags", "owner=data team", "note=it's $(echo pwned) ${x}", "-o", "none",
    ]  # fmt: skip
    creates = [c for c in calls if c[:3] == ["role", "assignment", "create"]]
    assert len(creates) == 2
    for call, (scope, guid) in zip(
        creates,
        ((VAULT, ROLES["Key Vault Secrets User"]), (f"{RG}/rg-runner", ROLES["Storage Blob Data Reader"])),
        strict=True,
    ):
        assert call == [
            "role", "assignment", "create", "--assignee-object-id", PRINCIPAL_ID,
            "--assignee-principal-type", "ServicePrincipal", "--role", guid, "--scope", scope,
            "--name", assignment_name(scope, PRINCIPAL_ID, guid), "-o", "none",
        ]  # fmt: skip
    assert calls[-2] == [
        "containerapp", "identity", "assign", "--name", "maia-runner", "--resource-group", "rg-runner",
        "--user-assigned", IDENTITY_ID, "-o", "none",
    ]  # fmt: skip
    assert calls[-1] == [
        "containerapp", "update", "--name", "maia-runner", "--resource-group", "rg-runner",
        "--container-name", "runner", "--set-env-vars", f"AZURE_CLIENT_ID={CLIENT_ID}", "-o", "none",
    ]  # fmt: skip


@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 is not on PATH")
def test_an_existing_equal_assignment_counts_as_done_and_other_errors_stop(tmp_path: Path) -> None:
    script = render_az(fresh())
    result, calls = run_with_fake_az(tmp_path, script, fail="RoleAssignmentExists")
    assert result.returncode == 0, result.stderr
    assert calls[-1][:2] == ["containerapp", "update"]
    result, calls = run_with_fake_az(tmp_path, script, fail="AuthorizationFailed")
    assert result.returncode != 0
    assert "AuthorizationFailed" in result.stderr
    assert not any(c[0] == "containerapp" for c in calls)


# ================================================================================================
# Bicep
# ================================================================================================


def block(text: str, opening: str) -> str:
    """The text of the resource or param declared on the line starting with `opening`, up to its closing brace."""
    start = text.index(opening)
    end = text.index("\n}\n", start)
    return text[start : end + 2]


def strip_bicep(text: str) -> str:
    """The Bicep without comments and with every string emptied, checking each string's escapes."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if text.startswith("//", i):
            i = text.index("\n", i)
            continue
        if char == "'":
            i += 1
            while text[i] != "'":
                assert text[i] != "\n", "a string runs past its line"
                if text[i] == "\\":
                    assert text[i + 1] in "\\'nrt$u", f"bad escape \\{text[i + 1]}"
                    i += 1
                elif text[i] == "$":
                    assert text[i + 1] != "{" or text.startswith("${identity.id}", i), "unescaped ${ in a string"
                i += 1
            out.append("''")
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def balanced(code: str) -> bool:
    depth: list[str] = []
    pairs = {"}": "{", "]": "[", ")": "("}
    for char in code:
        if char in "{[(":
            depth.append(char)
        elif char in pairs and (not depth or depth.pop() != pairs[char]):
            return False
    return not depth


def check_structure(text: str) -> None:
    code = strip_bicep(text)
    assert balanced(code)
    for line in code.splitlines():
        assert line == line.rstrip(), "trailing whitespace"
        assert not line.startswith(" ") or not line.lstrip().startswith(("resource ", "param ", "output ")), line
    bicep = shutil.which("bicep")
    if bicep:  # the real compiler, where it is installed; never installed by the tests
        path = Path(os.environ.get("TMPDIR", "/tmp")) / "runner-identity-export-test.bicep"
        path.write_text(text)
        result = subprocess.run([bicep, "build", str(path), "--stdout"], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


def test_bicep_declares_identity_roles_and_the_whole_app() -> None:
    text = render_bicep(fresh())
    check_structure(text)
    assert "Generated by runner-identity" in text and SUB in text
    assert "targetScope = 'resourceGroup'" in text
    assert "az deployment group create --subscription " + SUB + " --resource-group rg-runner" in text

    identity = block(text, "resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {")
    assert "  name: 'id-maia-runner'\n" in identity
    assert "  location: 'westeurope'\n" in identity
    assert "  tags: {\n    owner: 'data team'\n  }\n" in identity

    vault = block(text, "resource scope_vaults_kv_maia_prod 'Microsoft.KeyVault/vaults@2023-07-01' existing = {")
    assert "name: 'kv-maia-prod'" in vault
    assignments = re.findall(r"^resource (\w+) 'Microsoft.Authorization/roleAssignments@2022-04-01' = \{$", text, re.M)
    assert len(assignments) == 2
    kv = block(text, f"resource {assignments[0]} ")
    guid = ROLES["Key Vault Secrets User"]
    assert f"  name: guid(scope_vaults_kv_maia_prod.id, identity.id, '{guid}')\n" in kv
    assert "  scope: scope_vaults_kv_maia_prod\n" in kv
    assert f"roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{guid}')" in kv
    assert "principalId: identity.properties.principalId" in kv
    assert "principalType: 'ServicePrincipal'" in kv
    group = block(text, f"resource {assignments[1]} ")
    guid = ROLES["Storage Blob Data Reader"]
    assert f"name: guid(resourceGroup().id, identity.id, '{guid}')" in group
    assert "scope:" not in group
    assert f"subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{guid}')" in group

    app_text = block(text, "resource app 'Microsoft.App/containerApps@2025-01-01' = {")
    assert "  name: 'maia-runner'\n  location: 'westeurope'\n" in app_text
    assert "    type: 'SystemAssigned,UserAssigned'\n" in app_text
    assert f"      '{LEGACY}': {{}}\n      '${{identity.id}}': {{}}\n" in app_text
    assert f"    environmentId: '{ENV_ID}'\n" in app_text
    assert "      activeRevisionsMode: 'Single'\n" in app_text
    assert "          name: 'runner'\n" in app_text and "          name: 'log-shipper'\n" in app_text
    assert "image: 'maiaaihybrid.azurecr.io/maia/runner:2.14.0'" in app_text
    assert "              name: 'AGENT_TOKEN'\n              secretRef: 'agent-token'\n" in app_text
    assert "              name: 'SHIP_KEY'\n              secretRef: 'ship-key'\n" in app_text
    assert "              name: 'AZURE_CLIENT_ID'\n              value: identity.properties.clientId\n" in app_text
    assert app_text.count("AZURE_CLIENT_ID") == 1
    # probes, mounts and every other field as live, with numbers, bools and nulls as Bicep literals
    assert "port: 8080" in app_text and "periodSeconds: 30" in app_text and "mountPath: '/work'" in app_text
    assert "cpu: json('1.0')" in app_text and "cpu: json('0.25')" in app_text
    assert "tty: false" in app_text and "extra: null" in app_text
    assert "args: [\n            '--verbose'\n            '--retries=-1'\n          ]" in app_text

    # secrets: declared as @secure() params, referenced by the app, never valued
    for name, param in (("agent-token", "secret_agent_token"), ("ship-key", "secret_ship_key")):
        assert re.search(rf"@secure\(\)\n@description\('[^\n]*{name}'\)\nparam {param} string\n", text)
        assert f"          name: '{name}'\n          value: {param}\n" in app_text
    assert "Secret values are never returned by Azure, so they cannot be exported" in text
    assert SECRET_VALUE not in text
    assert "full PUT" in text
    # the rest of the app, as Azure returned it: a full PUT must not drop any of it
    assert "volumes: [" in app_text and "storageType: 'EmptyDir'" in app_text and "maxReplicas: 1" in app_text
    assert "targetPort: 8080" in app_text and "passwordSecretRef: 'registry-pass'" in app_text
    assert "team: 'runners'" in app_text and "workloadProfileName: 'Consumption'" in app_text
    # a secret no variable uses still needs its value; one held in Key Vault is declared by reference
    assert "param secret_registry_pass string" in text
    assert "keyVaultUrl: 'https://kv.vault.azure.net/secrets/x'" in app_text
    assert "secret_vault_held" not in text

    assert "output identityClientId string = identity.properties.clientId" in text


def test_bicep_escapes_quotes_backslashes_and_interpolation() -> None:
    plan = new_plan(tags={"note": "it's ${x} \\ '${y}'"})
    text = render_bicep(step_plan(plan))
    check_structure(text)
    assert "note: 'it\\'s \\${x} \\\\ \\'\\${y}\\''" in text
    assert "value: 'it\\'s \\${HOME} \\\\ done\\nnext'" in text
    assert "${HOME}" not in text.replace("\\${HOME}", "")


def test_bicep_scopes_outside_the_resource_group_are_marked_comments() -> None:
    requests = [
        RoleRequest("Reader", SUBSCRIPTION_SCOPE),
        RoleRequest("Key Vault Secrets User", SHARED_VAULT),
        RoleRequest("Storage Blob Data Reader", BLOB_CONTAINER),
        RoleRequest("Azure Service Bus Data Receiver", BUS),
        RoleRequest("Reader", ODD),
    ]
    text = render_bicep(step_plan(new_plan(requests)))
    check_structure(text)
    code_lines = [line for line in text.splitlines() if not line.startswith("//")]
    # same resource group: existing references, whatever the type
    assert (
        "resource scope_containers_stmaiadata01_default_runner_logs "
        "'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {"
    ) in code_lines
    assert "  name: 'stmaiadata01/default/runner-logs'" in code_lines
    assert "resource scope_namespaces_sb_maia 'Microsoft.ServiceBus/namespaces@2021-11-01' existing = {" in code_lines
    assert "resource scope_widgets_w1 'Contoso.Widgets/widgets@2023-01-01' existing = {" in code_lines
    assert "does not know Contoso.Widgets/widgets's API versions" in text
    assert sum(1 for line in code_lines if "'Microsoft.Authorization/roleAssignments@2022-04-01' = {" in line) == 3
    # the subscription and another resource group: comment blocks with the deployment to run
    sub_note = text[text.index(f"// ---- NOT DEPLOYED BY THIS FILE: 'Reader' at {SUBSCRIPTION_SCOPE}") :]
    assert "az deployment sub create --subscription " + SUB in sub_note
    assert "// targetScope = 'subscription'" in sub_note
    assert f"//   name: guid(subscription().id, principalId, '{ROLES['Reader']}')" in sub_note
    shared = text[text.index(f"// ---- NOT DEPLOYED BY THIS FILE: 'Key Vault Secrets User' at {SHARED_VAULT}") :]
    assert "--resource-group rg-shared-secrets --template-file" in shared
    assert "// resource target 'Microsoft.KeyVault/vaults@2023-07-01' existing = {" in shared
    assert "//   scope: target" in shared
    assert (
        f"az role assignment create --assignee-object-id <identityPrincipalId output> --assignee-principal-type ServicePrincipal --role {ROLES['Key Vault Secrets User']} --scope {SHARED_VAULT}"
        in shared
    )
    assert SHARED_VAULT.lower() not in "\n".join(code_lines).lower()


def test_bicep_keeps_live_names_and_leaves_a_finished_app_alone() -> None:
    text = render_bicep(all_done())
    check_structure(text)
    assert "  name: 'ra-vault-by-portal'\n" in text
    assert "  name: 'ra-group'\n" in text
    assert "guid(" not in text
    assert "resource app " not in text and "param secret_" not in text
    assert "the app is not\n// declared" in text
    identity = block(text, "resource identity ")
    assert "cost: '42'" in identity  # the live tags, so deploying changes nothing


def test_bicep_links_without_duplicating_an_already_linked_identity() -> None:
    linked = (*app().user_identities, LinkedIdentity(IDENTITY_ID.upper(), PRINCIPAL_ID, CLIENT_ID))
    sp = step_plan(
        new_plan(), identity=existing_identity(), app=app(user_identities=linked, identity_type="UserAssigned")
    )
    assert sp.step("link").action == "unchanged"  # type: ignore[union-attr]
    app_text = block(render_bicep(sp), "resource app ")
    assert IDENTITY_ID.upper() not in app_text
    assert app_text.count("'${identity.id}': {}") == 1
    assert "type: 'UserAssigned'" in app_text


def test_bicep_replaces_a_secret_variable_but_keeps_declaring_its_secret() -> None:
    current = containers()
    current[0]["env"].append({"name": "AZURE_CLIENT_ID", "secretRef": "old-client"})
    sp = step_plan(new_plan(), app=app(containers=current))
    text = render_bicep(sp)
    app_text = block(text, "resource app ")
    assert "secretRef: 'old-client'" not in app_text
    assert "              name: 'AZURE_CLIENT_ID'\n              value: identity.properties.clientId\n" in app_text
    assert "param secret_old_client string" in text  # still in the app's secrets, so still declared


def test_bicep_app_in_another_resource_group_is_a_separate_file_in_comments() -> None:
    other = f"{RG}/rg-apps/providers/Microsoft.App/containerApps/maia-runner"
    plan = new_plan()
    plan.container_app = AppTarget(other, "runner")
    text = render_bicep(step_plan(plan, app=app(id=other, resource_group="rg-apps")))
    check_structure(text)
    assert "\nresource app " not in text and "\nparam secret_" not in text
    assert "NOT DEPLOYED BY THIS FILE: container app maia-runner is in resource group rg-apps" in text
    assert "// resource app 'Microsoft.App/containerApps@2025-01-01' = {" in text
    assert f"//       '{IDENTITY_ID}': {{}}" in text
    assert "//               value: identityClientId" in text
    assert "// param secret_agent_token string" in text


def test_renderers_are_deterministic() -> None:
    for build in (fresh, all_done):
        assert render_az(build()) == render_az(build())
        assert render_bicep(build()) == render_bicep(build())
    copied = fresh()
    copied.live.app.containers = copy.deepcopy(copied.live.app.containers)  # type: ignore[union-attr]
    assert render_bicep(copied) == render_bicep(fresh())


def test_an_unknown_role_is_named_but_never_assigned() -> None:
    plan = new_plan([RoleRequest("No Such Role", VAULT)])
    sp = step_plan(plan, roles=[None])
    assert any("No Such Role" in p for p in sp.problems)
    script = render_az(sp)
    bash_syntax_ok(script)
    assert "# the role was not found: no command" in script
    assert "assign_role az" not in script and "exit 1" in script
    text = render_bicep(sp)
    check_structure(text)
    assert "// the role was not found: nothing declared" in text
    assert "roleAssignments@" not in text


def test_single_container_app_without_a_named_container() -> None:
    plan = new_plan([])
    plan.container_app = AppTarget(APP_ID)
    sp = step_plan(plan, app=app(containers=containers()[:1]))
    assert not sp.problems
    script = render_az(sp)
    assert "--container-name runner" in script
    text = render_bicep(sp)
    check_structure(text)
    assert "container runner, variable AZURE_CLIENT_ID" in text
    assert "param secret_ship_key string" in text  # still declared in the configuration: a full PUT keeps it
