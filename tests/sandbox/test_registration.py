"""Resource provider registration: a subscription where Microsoft.ManagedIdentity or Microsoft.App is
NotRegistered refuses writes there with ARM's MissingSubscriptionRegistration until someone whose role
allows `{namespace}/register/action` registers it (Registering, then Registered).
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import http
from wizard.cli import build_parser, sandbox_config

MSI = "Microsoft.ManagedIdentity"
MESSAGE = (
    "The subscription is not registered to use namespace 'Microsoft.ManagedIdentity'. "
    "See https://aka.ms/rps-not-found for how to register subscriptions."
)


def providers(running: RunningSandbox, sub: str | None = None):
    return ResourceManagementClient(running.credential(), sub or running.prod, **running.client_kwargs()).providers


def identities(running: RunningSandbox, sub: str | None = None):
    return ManagedServiceIdentityClient(
        running.credential(), sub or running.prod, **running.client_kwargs()
    ).user_assigned_identities


def test_an_unregistered_provider_refuses_writes_with_arms_exact_error(start_sandbox) -> None:
    # This role may create identities but not register providers, so the SDK's own attempt to
    # register (azure-mgmt-core's auto-registration policy) is refused and the 409 reaches the caller.
    running = start_sandbox(unregistered=(MSI,), caller_role="Managed Identity Contributor")

    with pytest.raises(HttpResponseError) as caught:
        identities(running).create_or_update("rg-runner", "id-unregistered", {"location": "westeurope"})

    assert caught.value.status_code == 409
    assert caught.value.error.code == "MissingSubscriptionRegistration"
    assert caught.value.error.message == MESSAGE
    body = caught.value.response.json()["error"]
    assert body["details"] == [{"code": "MissingSubscriptionRegistration", "target": MSI, "message": MESSAGE}]
    register = [r for r in running.sandbox.request_log if r[0] == "POST" and r[1].lower().endswith("/register")]
    assert [r[2] for r in register] == [403]
    group = f"/subscriptions/{running.prod}/resourceGroups/rg-runner"
    assert running.store.get(f"{group}/providers/{MSI}/userAssignedIdentities/id-unregistered") is None


def test_the_provider_says_not_registered_and_other_providers_are_registered(start_sandbox) -> None:
    running = start_sandbox(unregistered=(MSI,))

    for sub in running.info.subscription_ids:
        assert providers(running, sub).get(MSI).registration_state == "NotRegistered"
        assert providers(running, sub).get("Microsoft.App").registration_state == "Registered"


def test_reader_may_not_register(start_sandbox) -> None:
    running = start_sandbox(unregistered=(MSI,), caller_role="Reader")

    with pytest.raises(HttpResponseError) as caught:
        providers(running).register(MSI)

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert f"'{MSI}/register/action'" in caught.value.error.message
    assert providers(running).get(MSI).registration_state == "NotRegistered"


@pytest.mark.parametrize("role", ["Contributor", "Owner"])
def test_registering_goes_registering_then_registered_and_then_writes_work(start_sandbox, role: str) -> None:
    running = start_sandbox(unregistered=(MSI,), caller_role=role, lro_polls=2)

    states = [providers(running).register(MSI).registration_state]
    states += [providers(running).get(MSI).registration_state for _ in range(3)]
    created = identities(running).create_or_update("rg-runner", "id-after", {"location": "westeurope"})

    assert states == ["Registering", "Registering", "Registering", "Registered"]
    assert created.name == "id-after"
    other = running.info.subscription_ids[1]
    assert providers(running, other).get(MSI).registration_state == "NotRegistered"


def test_a_write_while_registering_is_still_refused(start_sandbox) -> None:
    running = start_sandbox(unregistered=(MSI,), lro_polls=5)
    providers(running).register(MSI)

    answer = http(
        running,
        "PUT",
        f"/subscriptions/{running.prod}/resourceGroups/rg-runner/providers/{MSI}/userAssignedIdentities/id-x",
        json={"location": "westeurope"},
    )

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "MissingSubscriptionRegistration"
    assert "'Registering'" in answer.json()["error"]["message"]
    assert answer.json()["error"]["message"].endswith(
        f"namespace '{MSI}'. See https://aka.ms/rps-not-found for how to register subscriptions."
    )


def test_one_subscription_can_be_named_by_id_or_display_name(start_sandbox) -> None:
    by_name = start_sandbox(unregistered=("Microsoft.App@Contoso Dev/Test",))
    prod, dev = by_name.info.subscription_ids

    assert providers(by_name, dev).get("Microsoft.App").registration_state == "NotRegistered"
    assert providers(by_name, prod).get("Microsoft.App").registration_state == "Registered"
    by_id = start_sandbox(unregistered=(f"microsoft.app@{prod}",))
    assert providers(by_id, prod).get("Microsoft.App").registration_state == "NotRegistered"
    assert providers(by_id, dev).get("Microsoft.App").registration_state == "Registered"


def test_sandbox_serve_takes_unregistered_and_cloud() -> None:
    args = build_parser().parse_args(
        ["sandbox", "serve", "--unregistered", "Microsoft.App", "--unregistered", f"{MSI}@Contoso Production",
         "--cloud", "AzureUSGovernment"]
    )

    config = sandbox_config(args)

    assert config.unregistered == ("Microsoft.App", f"{MSI}@Contoso Production")
    assert config.cloud == "AzureUSGovernment"


@pytest.mark.parametrize(
    "spec", ["Microsoft.Nonexistent", "Microsoft.Authorization", "Microsoft.App@no-such-subscription", "@x"]
)
def test_an_unknown_namespace_or_subscription_is_a_usage_error(start_sandbox, spec: str) -> None:
    with pytest.raises(ValueError) as caught:
        start_sandbox(unregistered=(spec,))

    assert spec.split("@")[0] in str(caught.value) or "subscription" in str(caught.value)
