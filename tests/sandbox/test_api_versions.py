"""api-versions are per resource type: every version today's clients send is served, any other is refused
as ARM refuses it (NoRegisteredProviderFound on a provider's route, InvalidApiVersionParameter on ARM's
own), and the provider registration lists each type's versions and locations.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import assert_arm_error, http
from wizard.sandbox.api_versions import ARM_NAMESPACE, supported_versions

RG = "/subscriptions/{sub}/resourceGroups/rg-runner/providers"
# One GET route of each resource type the sandbox serves, keyed by (namespace, type).
ROUTES = {
    ("Microsoft.App", "containerApps"): RG + "/Microsoft.App/containerApps/maia-runner",
    ("Microsoft.App", "managedEnvironments"): RG + "/Microsoft.App/managedEnvironments/cae-maia",
    ("Microsoft.ManagedIdentity", "userAssignedIdentities"): RG
    + "/Microsoft.ManagedIdentity/userAssignedIdentities/id-legacy-runner",
    ("Microsoft.Authorization", "roleAssignments"): "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments",
    ("Microsoft.Authorization", "roleDefinitions"): "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions",
    ("Microsoft.Authorization", "permissions"): RG + "/Microsoft.Authorization/permissions",
    ("Microsoft.KeyVault", "vaults"): "/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults",
    ("Microsoft.Storage", "storageAccounts"): "/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts",
}
ARM_ROUTES = [
    "/subscriptions",
    "/tenants",
    "/subscriptions/{sub}",
    "/subscriptions/{sub}/locations",
    "/subscriptions/{sub}/providers",
    "/subscriptions/{sub}/providers/Microsoft.App",
    "/subscriptions/{sub}/resourcegroups",
    "/subscriptions/{sub}/resourcegroups/rg-runner",
    "/subscriptions/{sub}/resources",
]
TOOLS = Path(__file__).resolve().parents[2] / "tools"
SERVED_TYPES = {(ns.lower(), t.lower()) for ns, t in ROUTES} | {
    ("microsoft.app", "locations"),
    ("microsoft.managedidentity", "operations"),
}
dates = st.dates().map(lambda d: d.isoformat()) | st.dates().map(lambda d: d.isoformat() + "-preview")


def sdk_versions(running: RunningSandbox) -> dict[tuple[str, str], str]:
    """The api-version each installed SDK client sends for a type."""
    cred, kw, sub = running.credential(), running.client_kwargs(), running.prod
    apps = ContainerAppsAPIClient(cred, sub, **kw)._config.api_version
    roles = AuthorizationManagementClient(cred, sub, **kw)
    return {
        ("Microsoft.App", "containerApps"): apps,
        ("Microsoft.App", "managedEnvironments"): apps,
        ("Microsoft.ManagedIdentity", "userAssignedIdentities"): ManagedServiceIdentityClient(
            cred, sub, **kw
        ).user_assigned_identities._api_version,
        ("Microsoft.Authorization", "roleAssignments"): roles.role_assignments._api_version,
        ("Microsoft.Authorization", "roleDefinitions"): roles.role_definitions._api_version,
        ("Microsoft.Authorization", "permissions"): roles.permissions._api_version,
        (ARM_NAMESPACE, "resourceGroups"): ResourceManagementClient(cred, sub, **kw)._config.api_version,
        (ARM_NAMESPACE, "subscriptions"): SubscriptionClient(cred, **kw)._config.api_version,
    }


def test_every_version_the_installed_sdks_send_is_served(shared_demo) -> None:
    for (namespace, rtype), version in sdk_versions(shared_demo).items():
        assert version in supported_versions(namespace, rtype), (namespace, rtype, version)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(ROUTES)), data=st.data())
def test_each_listed_version_of_a_type_is_accepted_on_its_route(shared_demo, key: tuple[str, str], data) -> None:
    version = data.draw(st.sampled_from(supported_versions(*key)))

    answer = http(shared_demo, "GET", ROUTES[key].format(sub=shared_demo.prod), api_version=version)

    assert answer.status_code == 200, answer.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(ROUTES)), version=dates)
def test_a_version_a_type_does_not_have_is_no_registered_provider_found(
    shared_demo, key: tuple[str, str], version: str
) -> None:
    namespace, rtype = key
    if version in supported_versions(namespace, rtype):
        return

    answer = http(shared_demo, "GET", ROUTES[key].format(sub=shared_demo.prod), api_version=version)

    error = assert_arm_error(answer, 400, "NoRegisteredProviderFound")
    message = error["message"]
    assert f"API version '{version}'" in message
    assert f"for type '{rtype}'" in message
    listed = message.split("The supported api-versions are '")[1].split("'")[0].split(", ")
    assert listed == supported_versions(namespace, rtype)
    assert "The supported locations are '" in message


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ARM_ROUTES), version=dates)
def test_a_version_arm_does_not_have_is_invalid_api_version_parameter(shared_demo, path: str, version: str) -> None:
    supported = supported_versions(ARM_NAMESPACE, "resourceGroups")
    if version in supported:
        return

    answer = http(shared_demo, "GET", path.format(sub=shared_demo.prod), api_version=version)

    error = assert_arm_error(answer, 400, "InvalidApiVersionParameter")
    assert error["message"].startswith(f"The api-version '{version}' is invalid. The supported versions are '")
    assert error["message"].split("'")[3].split(",") == supported


def test_a_new_version_a_sandbox_type_lacks_reaches_the_sdk_as_an_error(shared_demo) -> None:
    from azure.core.exceptions import HttpResponseError

    client = ContainerAppsAPIClient(
        shared_demo.credential(), shared_demo.prod, api_version="2099-01-01", **shared_demo.client_kwargs()
    )

    with pytest.raises(HttpResponseError) as caught:
        client.container_apps.get("rg-runner", "maia-runner")

    assert caught.value.status_code == 400
    assert caught.value.error.code == "NoRegisteredProviderFound"
    assert "2026-07-01" in caught.value.error.message


@pytest.mark.parametrize(
    ("namespace", "rtype"),
    [
        ("Microsoft.App", "containerApps"),
        ("Microsoft.ManagedIdentity", "userAssignedIdentities"),
        ("Microsoft.Authorization", "roleAssignments"),
        ("Microsoft.KeyVault", "vaults"),
    ],
)
def test_the_provider_lists_each_types_versions_and_locations(shared_demo, namespace: str, rtype: str) -> None:
    client = ResourceManagementClient(shared_demo.credential(), shared_demo.prod, **shared_demo.client_kwargs())

    provider = client.providers.get(namespace)
    listed = next(t for t in provider.resource_types if t.resource_type == rtype)

    assert listed.api_versions == supported_versions(namespace, rtype)
    assert listed.locations
    in_list = next(p for p in client.providers.list() if p.namespace == namespace)
    assert next(t for t in in_list.resource_types if t.resource_type == rtype).api_versions == listed.api_versions


# -- what the az CLI sends -------------------------------------------------------------------------
AZ_IDENTITY_VERSIONS = ["2025-05-31-preview", "2025-01-31-preview"]  # az 2.91's AAZ `az identity` commands


@pytest.mark.parametrize("version", AZ_IDENTITY_VERSIONS)
def test_the_versions_az_identity_sends_create_and_read_an_identity(demo, version: str) -> None:
    """`az identity create/show/list` (az 2.91) send the AAZ module's own api-version, not the SDK's:
    through the generic resources client, which sends any version, as az does."""
    resources = ResourceManagementClient(demo.credential(), demo.prod, **demo.client_kwargs())
    rid = (RG + "/Microsoft.ManagedIdentity/userAssignedIdentities/id-az").format(sub=demo.prod)

    created = resources.resources.begin_create_or_update_by_id(
        rid, {"location": "westeurope"}, api_version=version
    ).result()
    read = resources.resources.get_by_id(rid, api_version=version)

    assert created.id == read.id == rid
    assert read.properties["clientId"]


def _az_cli_site_packages() -> Path | None:
    """The site-packages of an az CLI installation on this machine (AZ_CLI_SITE_PACKAGES, or az's own
    virtual environment found through $AZ_CLI or the `az` on PATH, as the benchmarks find it), or None."""
    given_path = os.environ.get("AZ_CLI_SITE_PACKAGES")
    candidates = [Path(given_path)] if given_path else []
    for az in (os.environ.get("AZ_CLI"), shutil.which("az")):
        if az and Path(az).exists():
            candidates += sorted(Path(az).resolve().parent.parent.glob("lib/python3*/site-packages"))
    return next((c for c in candidates if (c / "azure" / "cli" / "command_modules").is_dir()), None)


def test_every_version_the_az_cli_on_this_machine_sends_is_served() -> None:
    """The table's completeness against a real az installation (tools/derive_api_versions.py --az-cli
    reads the same): each AAZ operation's and each bundled SDK's version for a type the sandbox serves."""
    site = _az_cli_site_packages()
    if site is None:
        pytest.skip("no az CLI installation on this machine")
    spec = importlib.util.spec_from_file_location("derive_api_versions", TOOLS / "derive_api_versions.py")
    assert spec is not None and spec.loader is not None
    derive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(derive)

    missing = [
        (label, namespace, rtype, version)
        for label, namespace, rtype, version in derive.from_az_cli(site)
        if (namespace.lower(), rtype.lower()) in SERVED_TYPES
        and version not in supported_versions(namespace, rtype)
    ]

    assert not missing, missing[:10]
