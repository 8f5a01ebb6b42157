"""Reads are authorized too: a principal with no role at a scope gets 403 AuthorizationFailed naming the
read action and the scope, a list shows only what the caller may read, Reader reads everything; and a
bearer token is checked for its validity window (nbf, exp, iat) as Entra ID's tokens are at ARM.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import assert_arm_error, http

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
APP = "Microsoft.App/containerApps"


def new_principal(running: RunningSandbox, name: str) -> tuple[Any, ManagedIdentityCredential]:
    """A fresh user-assigned identity (no role anywhere) and a credential that signs in as it."""
    identity = ManagedServiceIdentityClient(
        running.credential(), running.prod, **running.client_kwargs()
    ).user_assigned_identities.create_or_update("rg-runner", name, {"location": "westeurope"})
    return identity, ManagedIdentityCredential(client_id=identity.client_id, connection_verify=running.info.ca_bundle)


def grant_reader(running: RunningSandbox, scope: str, principal_id: str) -> None:
    AuthorizationManagementClient(running.credential(), running.prod, **running.client_kwargs()).role_assignments.create(
        scope,
        str(uuid.uuid4()),
        {
            "role_definition_id": f"/subscriptions/{running.prod}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
            "principal_id": principal_id,
            "principal_type": "ServicePrincipal",
        },
    )


def test_a_principal_without_a_role_cannot_read_an_app_or_list_there(demo) -> None:
    identity, as_identity = new_principal(demo, "id-nobody")
    apps = ContainerAppsAPIClient(as_identity, demo.prod, **demo.client_kwargs()).container_apps
    group = f"/subscriptions/{demo.prod}/resourceGroups/rg-runner"

    with pytest.raises(HttpResponseError) as read:
        apps.get("rg-runner", "maia-runner")
    with pytest.raises(HttpResponseError) as listed:
        list(apps.list_by_resource_group("rg-runner"))
    with pytest.raises(HttpResponseError) as groups:
        list(ResourceManagementClient(as_identity, demo.prod, **demo.client_kwargs()).resource_groups.list())

    assert read.value.status_code == 403
    assert read.value.error.code == "AuthorizationFailed"
    assert f"'{APP}/read'" in read.value.error.message
    assert f"over scope '{group}/providers/{APP}/maia-runner'" in read.value.error.message
    assert identity.principal_id in read.value.error.message
    assert listed.value.status_code == 403
    assert f"'{APP}/read'" in listed.value.error.message and f"'{group}'" in listed.value.error.message
    assert groups.value.status_code == 403
    assert "Microsoft.Resources/subscriptions/resourceGroups/read" in groups.value.error.message
    assert [s.subscription_id for s in SubscriptionClient(as_identity, **demo.client_kwargs()).subscriptions.list()] == []


def test_even_a_missing_resource_is_403_to_a_caller_who_may_not_read_there(demo) -> None:
    _, as_identity = new_principal(demo, "id-nobody")
    apps = ContainerAppsAPIClient(as_identity, demo.prod, **demo.client_kwargs()).container_apps

    with pytest.raises(HttpResponseError) as caught:
        apps.get("rg-runner", "no-such-app")

    assert caught.value.status_code == 403


def test_reader_on_a_group_reads_there_and_lists_show_only_what_it_may_read(demo) -> None:
    identity, as_identity = new_principal(demo, "id-group-reader")
    grant_reader(demo, f"/subscriptions/{demo.prod}/resourceGroups/rg-runner", identity.principal_id)
    kw = demo.client_kwargs()

    app = ContainerAppsAPIClient(as_identity, demo.prod, **kw).container_apps.get("rg-runner", "maia-runner")
    in_subscription = [a.name for a in ContainerAppsAPIClient(as_identity, demo.prod, **kw).container_apps.list_by_subscription()]
    groups = [g.name for g in ResourceManagementClient(as_identity, demo.prod, **kw).resource_groups.list()]
    resources = {r.id.split("/")[4] for r in ResourceManagementClient(as_identity, demo.prod, **kw).resources.list()}
    subscriptions = [s.subscription_id for s in SubscriptionClient(as_identity, **kw).subscriptions.list()]

    assert app.name == "maia-runner"
    assert sorted(in_subscription) == ["maia-runner", "maia-runner-staging"]
    assert groups == ["rg-runner"]
    assert resources == {"rg-runner"}
    assert subscriptions == [demo.prod]
    with pytest.raises(HttpResponseError) as caught:
        ResourceManagementClient(as_identity, demo.prod, **kw).resource_groups.get("rg-data")
    assert caught.value.status_code == 403
    with pytest.raises(HttpResponseError) as dev:
        list(ContainerAppsAPIClient(as_identity, demo.info.subscription_ids[1], **kw).container_apps.list_by_subscription())
    assert dev.value.status_code == 403


def test_a_reader_may_read_but_not_write(start_sandbox) -> None:
    running = start_sandbox(caller_role="Reader")
    kw = running.client_kwargs()

    app = ContainerAppsAPIClient(running.credential(), running.prod, **kw).container_apps.get("rg-runner", "maia-runner")
    with pytest.raises(HttpResponseError) as caught:
        ManagedServiceIdentityClient(running.credential(), running.prod, **kw).user_assigned_identities.create_or_update(
            "rg-runner", "id-reader-write", {"location": "westeurope"}
        )

    assert app.name == "maia-runner"
    assert caught.value.status_code == 403


# -- the token's validity window ----------------------------------------------------------------
def forged(running: RunningSandbox, **claims: Any) -> str:
    token, _ = running.sandbox.tokens.issue(
        "https://management.azure.com/", running.store.caller["object_id"], "app", extra=claims
    )
    return token


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"nbf": int(time.time()) + 3600}, "InvalidAuthenticationToken"),
        ({"iat": int(time.time()) + 3600}, "InvalidAuthenticationToken"),
        ({"exp": int(time.time()) - 3600}, "ExpiredAuthenticationToken"),
        ({"exp": None}, "InvalidAuthenticationToken"),
        ({"nbf": "soon"}, "InvalidAuthenticationToken"),
    ],
    ids=["not-yet-valid", "issued-in-the-future", "expired", "no-expiry", "nbf-not-a-number"],
)
def test_a_token_outside_its_validity_window_is_refused(shared_demo, claims: dict[str, Any], code: str) -> None:
    answer = http(shared_demo, "GET", "/subscriptions", bearer=forged(shared_demo, **claims))

    assert_arm_error(answer, 401, code)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_a_token_within_the_clock_skew_is_accepted(shared_demo) -> None:
    answer = http(shared_demo, "GET", "/subscriptions", bearer=forged(shared_demo, nbf=int(time.time()) + 60))

    assert answer.status_code == 200
