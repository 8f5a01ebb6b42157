"""api-versions are per resource type: every version today's clients send is served, any other is refused
as ARM refuses it (NoRegisteredProviderFound on a provider's route, InvalidApiVersionParameter on ARM's
own), and the provider registration lists each type's versions and locations.
"""

from __future__ import annotations

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
