"""The Bicep export: every file parses with two Bicep parsers, and it declares what a deployment needs."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.export.bicep_check import check_files
from tests.export.fixtures import (
    APP_ID,
    BLOB_CONTAINER,
    BUS,
    CLIENT_ID,
    ENV_ID,
    IDENTITY_ID,
    LEGACY,
    ODD,
    PRINCIPAL_ID,
    RG,
    ROLES,
    SECRET_VALUE,
    SHARED_VAULT,
    SUB,
    SUBSCRIPTION_SCOPE,
    VAULT,
    all_done,
    app,
    containers,
    existing_identity,
    fresh,
    new_plan,
    step_plan,
)
from wizard.arm_guid import arm_guid
from wizard.azure.gateway import APPS_API, assignment_name
from wizard.export import MAIN, bicep_files, render_bicep
from wizard.export.appschema import app_shape
from wizard.model import LinkedIdentity
from wizard.plan import AppTarget, RoleRequest

NAME_EXPRESSION = (
    "name: empty(existingName) ? guid(scopeKey, toLower(principalId), toLower(roleDefinitionGuid)) : existingName"
)


def block(text: str, opening: str) -> str:
    """The declaration starting with `opening`, up to its closing brace at the start of a line."""
    start = text.index(opening)
    end = text.index("\n}\n", start)
    return text[start : end + 2]


def unescape(raw: str) -> str:
    """A Bicep string literal's value: Bicep's escapes \\\\ \\' \\n \\r \\t \\$ and \\u{hex} undone."""
    body = raw[1:-1] if raw.startswith("'") else raw
    out, i = [], 0
    simple = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
    while i < len(body):
        if body[i] == "\\":
            if body[i + 1] == "u":
                end = body.index("}", i)
                out.append(chr(int(body[i + 3 : end], 16)))
                i = end + 1
                continue
            out.append(simple[body[i + 1]])
            i += 2
            continue
        out.append(body[i])
        i += 1
    return "".join(out)


def raw_app(**extra: Any) -> dict[str, Any]:
    """The demo app as ARM returns it, read-only fields and all."""
    wire = {
        "id": APP_ID,
        "name": "maia-runner",
        "type": "Microsoft.App/containerApps",
        "location": "westeurope",
        "tags": {"team": "runners"},
        "systemData": {"createdBy": "someone"},
        "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
        "properties": {
            "provisioningState": "Succeeded",
            "runningStatus": "Running",
            "environmentId": ENV_ID,
            "workloadProfileName": "Consumption",
            "outboundIpAddresses": ["20.0.0.1"],
            "latestRevisionName": "maia-runner--abc",
            "latestReadyRevisionName": "maia-runner--abc",
            "latestRevisionFqdn": "maia-runner--abc.example.io",
            "customDomainVerificationId": "x",
            "eventStreamEndpoint": "https://example/eventstream",
            "configuration": {
                "activeRevisionsMode": "Single",
                "ingress": {"external": True, "targetPort": 8080, "fqdn": "maia-runner.example.io"},
                "secrets": [{"name": "agent-token"}],
            },
            "template": {"revisionSuffix": "v7", "containers": containers()[:1], "scale": {"maxReplicas": 1}},
        },
    }
    wire.update(extra)
    return wire


def from_raw(wire: dict[str, Any]) -> Any:
    from wizard.azure.gateway import _app  # the gateway's own conversion, as for a real read

    return _app(wire)


# -- the whole export -----------------------------------------------------------------------------
def test_bicep_declares_identity_role_modules_and_the_whole_app(tmp_path: Path) -> None:
    files = bicep_files(fresh())
    parsed = check_files(files, tmp_path)
    text = files[MAIN]
    assert list(files) == [
        MAIN,
        "modules/role-assignment-Microsoft-KeyVault-vaults.bicep",
        "modules/role-assignment-resource-group.bicep",
    ]
    assert "targetScope = 'resourceGroup'" in text
    assert (
        f"az deployment group create --subscription {SUB} --resource-group rg-runner --template-file main.bicep" in text
    )

    identity = parsed[MAIN]["resources"]["identity"]
    assert identity["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"
    assert identity["config"]["name"] == "id-maia-runner" and identity["config"]["tags"] == {"owner": "data team"}
    assert "  location: resourceGroup().location\n" in block(text, "resource identity ")  # the plan names none

    modules = parsed[MAIN]["modules"]
    vault = modules["role_Key_Vault_Secrets_User"]["config"]
    assert vault["scope"]["function"]["parameters"] == {"resource_group_name": "rg-runner", "subscription_id": SUB}
    assert vault["params"]["roleDefinitionGuid"] == ROLES["Key Vault Secrets User"]
    assert vault["params"]["scopeKey"] == VAULT.lower() and vault["params"]["resourceName"] == "kv-maia-prod"
    assert "principalId: identity.properties.principalId" in block(text, "module role_Key_Vault_Secrets_User ")
    group = modules["role_Storage_Blob_Data_Reader"]["config"]
    assert group["params"]["scopeKey"] == f"{RG}/rg-runner".lower()
    vault_module = files["modules/role-assignment-Microsoft-KeyVault-vaults.bicep"]
    assert (
        "resource target 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: resourceName\n}" in vault_module
    )
    assert "  scope: target\n" in vault_module and NAME_EXPRESSION in vault_module
    assert "principalType: 'ServicePrincipal'" in vault_module
    assert (
        "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)"
        in (vault_module)
    )
    group_module = files["modules/role-assignment-resource-group.bicep"]
    assert "scope:" not in group_module and NAME_EXPRESSION in group_module

    app_text = block(text, f"resource app 'Microsoft.App/containerApps@{APPS_API}' = {{")
    app_decl = parsed[MAIN]["resources"]["app"]["config"]
    assert app_decl["identity"]["type"] == "SystemAssigned,UserAssigned"
    assert f"      '{LEGACY}': {{}}\n      '${{identity.id}}': {{}}\n" in app_text
    assert app_decl["properties"]["environmentId"] == ENV_ID
    assert app_decl["properties"]["workloadProfileName"] == "Consumption"
    runner, shipper = app_decl["properties"]["template"]["containers"]
    assert [e["name"] for e in runner["env"]] == [
        "AGENT_ID",
        "AGENT_TOKEN",
        "HTTP_PROXY",
        "GREETING",
        "AZURE_CLIENT_ID",
    ]
    assert "              name: 'AZURE_CLIENT_ID'\n              value: identity.properties.clientId\n" in app_text
    assert "cpu: json('1.0')" in app_text and "cpu: json('0.25')" in app_text
    assert shipper["args"] == ["--verbose", "--retries=-1"]
    # fields the API version does not know are not declared
    assert "tty" not in app_text and "extra" not in app_text
    # secrets: @secure() params referenced by the app, never valued; a Key Vault one by reference
    for name, param in (("agent-token", "secret_agent_token"), ("ship-key", "secret_ship_key")):
        assert re.search(rf"@secure\(\)\n@description\('[^\n]*{name}'\)\nparam {param} string\n", text)
        assert f"          name: '{name}'\n          value: {param}\n" in app_text
    assert "param secret_registry_pass string" in text and "keyVaultUrl: 'https://kv.vault.azure.net/secrets/x'" in text
    assert "secret_vault_held" not in text and SECRET_VALUE not in render_bicep(fresh())
    assert "output identityClientId string = identity.properties.clientId" in text


def test_role_assignment_names_are_applys_names() -> None:
    """The module's name expression, evaluated with what the main file passes, is apply's name."""
    scopes = (VAULT, f"{RG}/rg-runner", SUBSCRIPTION_SCOPE, SHARED_VAULT, BLOB_CONTAINER)
    requests = [RoleRequest("Reader", scope) for scope in scopes]
    files = bicep_files(step_plan(new_plan(requests)))
    parsed = check_files(files)
    for module in parsed[MAIN]["modules"].values():
        assert NAME_EXPRESSION in files[module["detail"]["path"]]
        params = module["config"]["params"]
        scope = next(s for s in scopes if s.lower() == params["scopeKey"])
        # guid(scopeKey, toLower(principalId), toLower(roleDefinitionGuid)) for the principal ARM returns
        evaluated = arm_guid(params["scopeKey"], PRINCIPAL_ID.lower(), params["roleDefinitionGuid"].lower())
        assert evaluated == assignment_name(scope, PRINCIPAL_ID, ROLES["Reader"])


def test_scopes_in_other_groups_and_the_subscription_are_modules_deployed_there(tmp_path: Path) -> None:
    requests = [
        RoleRequest("Reader", SUBSCRIPTION_SCOPE),
        RoleRequest("Key Vault Secrets User", SHARED_VAULT),
        RoleRequest("Storage Blob Data Reader", BLOB_CONTAINER),
        RoleRequest("Azure Service Bus Data Receiver", BUS),
        RoleRequest("Reader", ODD),
        RoleRequest("Reader", f"{RG}/rg-other"),
    ]
    files = bicep_files(step_plan(new_plan(requests)))
    parsed = check_files(files, tmp_path)
    modules = {m["config"]["params"]["scopeKey"]: m for m in parsed[MAIN]["modules"].values()}
    assert len(modules) == 6
    subscription = modules[SUBSCRIPTION_SCOPE.lower()]
    assert subscription["config"]["scope"]["function"]["type"] == "subscription"
    assert "subscription('" + SUB + "')" in files[MAIN]
    assert "targetScope = 'subscription'" in files[subscription["detail"]["path"]]
    shared = modules[SHARED_VAULT.lower()]["config"]
    assert shared["scope"]["function"]["parameters"]["resource_group_name"] == "rg-shared-secrets"
    assert shared["params"]["resourceName"] == "kv-shared"
    other = modules[f"{RG}/rg-other".lower()]
    assert other["detail"]["path"] == "modules/role-assignment-resource-group.bicep"
    blob = modules[BLOB_CONTAINER.lower()]
    assert blob["config"]["params"]["resourceName"] == "stmaiadata01/default/runner-logs"
    assert (
        "'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing"
        in files[blob["detail"]["path"]]
    )
    odd = files[modules[ODD.lower()]["detail"]["path"]]
    assert "does not know Contoso.Widgets/widgets's API versions" in odd
    assert "NOT DEPLOYED" not in files[MAIN] and "az role assignment create" not in files[MAIN]


def test_bicep_keeps_live_names_and_leaves_a_finished_app_alone() -> None:
    files = bicep_files(all_done())
    parsed = check_files(files)
    names = {m["config"]["params"]["existingName"] for m in parsed[MAIN]["modules"].values()}
    assert names == {"ra-vault-by-portal", "ra-group"}
    text = files[MAIN]
    assert "resource app " not in text and "param secret_" not in text
    assert "the app is not\n// declared" in text
    assert "cost: '42'" in block(text, "resource identity ")  # the live tags, so deploying changes nothing


# -- the app as declared --------------------------------------------------------------------------
def test_the_app_is_declared_at_its_read_version_with_only_writable_fields(tmp_path: Path) -> None:
    wire = raw_app(
        kind="workflowapp",
        managedBy="/subscriptions/x/resourceGroups/y/providers/Contoso.Manager/managers/m",
        extendedLocation={"name": "/subscriptions/x/customLocations/cl", "type": "CustomLocation"},
    )
    sp = step_plan(new_plan([]), app=from_raw(wire))
    files = bicep_files(sp)
    parsed = check_files(files, tmp_path)
    text = files[MAIN]
    assert f"resource app 'Microsoft.App/containerApps@{APPS_API}' = {{" in text
    assert app_shape(APPS_API)  # a shape was derived for the version the gateway reads apps with
    decl = parsed[MAIN]["resources"]["app"]["config"]
    assert decl["kind"] == "workflowapp" and decl["managedBy"] == wire["managedBy"]
    assert decl["extendedLocation"] == {"name": "/subscriptions/x/customLocations/cl", "type": "CustomLocation"}
    assert decl["properties"]["workloadProfileName"] == "Consumption"
    app_text = block(text, "resource app ")
    for readonly in (
        "provisioningState",
        "runningStatus",
        "outboundIpAddresses",
        "latestRevisionName",
        "latestReadyRevisionName",
        "latestRevisionFqdn",
        "customDomainVerificationId",
        "eventStreamEndpoint",
        "fqdn",
        "systemData",
        "principalId: 'p'",
        "tenantId",
    ):
        assert readonly not in app_text, readonly
    assert decl["properties"]["configuration"]["ingress"] == {"external": True, "targetPort": 8080}
    assert "revisionSuffix" not in app_text
    assert "fixed revision suffix is left out" in text
    assert decl["properties"]["template"]["scale"] == {"maxReplicas": 1}


def test_bicep_escapes_quotes_backslashes_and_interpolation() -> None:
    plan = new_plan(tags={"note": "it's ${x} \\ '${y}'"})
    text = bicep_files(step_plan(plan))[MAIN]
    parsed = check_files({MAIN: text})
    assert unescape(parsed[MAIN]["resources"]["identity"]["config"]["tags"]["note"]) == "it's ${x} \\ '${y}'"
    assert "value: 'it\\'s \\${HOME} \\\\ done\\nnext'" in text


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=30, deadline=None)
@given(tags=st.dictionaries(TEXT.filter(lambda k: k.strip() != ""), TEXT, min_size=1, max_size=4), value=TEXT)
@example(tags={"//": "// x", "a": "\\"}, value="//")
def test_any_tag_or_variable_text_parses_back_to_itself(tags: dict[str, str], value: str) -> None:
    current = containers()
    current[0]["env"][0]["value"] = value
    sp = step_plan(new_plan(tags=tags), app=app(containers=current))
    parsed = check_files(bicep_files(sp))[MAIN]
    declared = parsed["resources"]["identity"]["config"]["tags"]
    assert {unescape(k): unescape(v) for k, v in declared.items()} == tags
    runner = parsed["resources"]["app"]["config"]["properties"]["template"]["containers"][0]
    assert unescape(runner["env"][0]["value"]) == value


def test_bicep_links_without_duplicating_an_already_linked_identity() -> None:
    linked = (*app().user_identities, LinkedIdentity(IDENTITY_ID.upper(), PRINCIPAL_ID, CLIENT_ID))
    sp = step_plan(
        new_plan(), identity=existing_identity(), app=app(user_identities=linked, identity_type="UserAssigned")
    )
    assert sp.step("link").action == "unchanged"  # type: ignore[union-attr]
    app_text = block(bicep_files(sp)[MAIN], "resource app ")
    assert IDENTITY_ID.upper() not in app_text
    assert app_text.count("'${identity.id}': {}") == 1
    assert "type: 'UserAssigned'" in app_text


def test_bicep_replaces_a_secret_variable_but_keeps_declaring_its_secret() -> None:
    current = containers()
    current[0]["env"].append({"name": "AZURE_CLIENT_ID", "secretRef": "old-client"})
    text = bicep_files(step_plan(new_plan(), app=app(containers=current)))[MAIN]
    app_text = block(text, "resource app ")
    assert "secretRef: 'old-client'" not in app_text
    assert "              name: 'AZURE_CLIENT_ID'\n              value: identity.properties.clientId\n" in app_text
    assert "param secret_old_client string" in text


def test_an_app_in_another_resource_group_is_a_module_deployed_there(tmp_path: Path) -> None:
    other = f"{RG}/rg-apps/providers/Microsoft.App/containerApps/maia-runner"
    plan = new_plan()
    plan.container_app = AppTarget(other, "runner")
    files = bicep_files(step_plan(plan, app=app(id=other, resource_group="rg-apps")))
    parsed = check_files(files, tmp_path)
    module = parsed[MAIN]["modules"]["app"]
    assert module["detail"]["path"] == "modules/container-app.bicep"
    assert module["config"]["scope"]["function"]["parameters"] == {
        "resource_group_name": "rg-apps",
        "subscription_id": SUB,
    }
    main_block = block(files[MAIN], "module app ")
    assert "identityId: identity.id" in main_block and "clientId: identity.properties.clientId" in main_block
    assert "secret_agent_token: secret_agent_token" in main_block
    app_module = files["modules/container-app.bicep"]
    assert "param identityId string" in app_module and "@secure()" in app_module
    assert "'${identityId}': {}" in app_module and "value: clientId" in app_module
    assert "NOT DEPLOYED" not in files[MAIN]


def test_renderers_are_deterministic() -> None:
    for build in (fresh, all_done):
        assert bicep_files(build()) == bicep_files(build())
    copied = fresh()
    copied.live.app.containers = copy.deepcopy(copied.live.app.containers)  # type: ignore[union-attr]
    assert bicep_files(copied) == bicep_files(fresh())


def test_an_unknown_role_is_named_but_never_assigned() -> None:
    sp = step_plan(new_plan([RoleRequest("No Such Role", VAULT)]), roles=[None])
    assert any("No Such Role" in p for p in sp.problems)
    files = bicep_files(sp)
    check_files(files)
    assert "// the role was not found: nothing declared" in files[MAIN]
    assert "module " not in files[MAIN] and len(files) == 1


def test_single_container_app_without_a_named_container() -> None:
    plan = new_plan([])
    plan.container_app = AppTarget(APP_ID)
    sp = step_plan(plan, app=app(containers=containers()[:1]))
    assert not sp.problems
    text = bicep_files(sp)[MAIN]
    check_files({MAIN: text})
    assert "container runner, variable AZURE_CLIENT_ID" in text
    assert "param secret_ship_key string" in text  # still declared in the configuration: a full PUT keeps it


def test_render_bicep_shows_every_file() -> None:
    text = render_bicep(fresh())
    assert text.startswith(bicep_files(fresh())[MAIN])
    assert "// ===== modules/role-assignment-resource-group.bicep (a separate file, next to main.bicep) =====" in text
