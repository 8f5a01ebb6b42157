"""Signing in and ARM's request pipeline: the managed-identity token endpoint, bearer-token checks,
cloud metadata, subscriptions and providers, and the errors every route answers the same way.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient as AsyncSubscriptionClient

from tests.conftest import ARM_SCOPE, RunningSandbox
from tests.sandbox.helpers import (
    API,
    Recorder,
    assert_arm_error,
    assert_shape,
    example_body,
    http,
    token,
    wire,
)

MISSING_SUB = "00000000-0000-0000-0000-000000000000"


def claims(jwt: str) -> dict[str, Any]:
    parts = jwt.split(".")
    assert len(parts) == 3 and all(parts)
    return dict(json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))))


def msi(running: RunningSandbox, headers: dict[str, str], **params: str) -> requests.Response:
    return requests.get(
        running.info.identity_endpoint,
        params={"api-version": "2019-08-01", **params},
        headers=headers,
        verify=running.info.ca_bundle,
        timeout=10,
    )


# -- the token endpoint -------------------------------------------------------------------------
def test_token_endpoint_answers_the_app_service_protocol_with_a_jwt_for_the_caller(shared_demo) -> None:
    answer = msi(
        shared_demo, {"X-IDENTITY-HEADER": shared_demo.info.identity_header}, resource="https://management.azure.com/"
    )

    assert answer.status_code == 200
    body = answer.json()
    assert {"access_token", "expires_on", "resource", "token_type", "client_id"} <= set(body)
    assert body["token_type"] == "Bearer"
    assert body["expires_on"].isdigit()
    seen = claims(body["access_token"])
    assert seen["tid"] == shared_demo.info.tenant_id
    assert seen["oid"] == shared_demo.store.caller["object_id"]
    assert seen["aud"] == "https://management.azure.com/"
    assert int(seen["exp"]) == int(body["expires_on"])


@pytest.mark.parametrize(
    ("header", "params", "status", "error"),
    [
        (None, {"resource": "https://management.azure.com/"}, 401, "unauthorized"),
        ("not-the-header", {"resource": "https://management.azure.com/"}, 401, "unauthorized"),
        ("right", {}, 400, "invalid_request"),
        ("right", {"resource": "https://management.azure.com/", "client_id": MISSING_SUB}, 400, "invalid_request"),
    ],
    ids=["no-header", "wrong-header", "no-resource", "unknown-client-id"],
)
def test_token_endpoint_refuses_what_app_service_refuses(
    shared_demo, header: str | None, params: dict[str, str], status: int, error: str
) -> None:
    if header == "right":
        header = shared_demo.info.identity_header
    answer = msi(shared_demo, {} if header is None else {"X-IDENTITY-HEADER": header}, **params)

    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["error_description"]


def test_client_id_gives_the_user_assigned_identitys_token(shared_demo) -> None:
    legacy = next(iter(shared_demo.store.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")))["properties"]
    credential = ManagedIdentityCredential(client_id=legacy["clientId"], connection_verify=shared_demo.info.ca_bundle)

    seen = claims(credential.get_token(ARM_SCOPE).token)

    assert seen["oid"] == legacy["principalId"]
    assert seen["appid"] == legacy["clientId"]
    assert seen["tid"] == shared_demo.info.tenant_id


# -- bearer tokens at ARM -----------------------------------------------------------------------
def test_arm_refuses_a_request_without_a_token(shared_demo) -> None:
    answer = http(shared_demo, "GET", "/subscriptions", bearer=None)

    assert_arm_error(answer, 401, "AuthenticationFailed")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_arm_refuses_a_token_another_sandbox_issued(shared_demo, start_sandbox) -> None:
    other = start_sandbox()  # same seed, so the same tenant id: only the signature tells them apart
    foreign = token(other)

    assert_arm_error(http(shared_demo, "GET", "/subscriptions", bearer=foreign), 401, "InvalidAuthenticationToken")
    assert http(other, "GET", "/subscriptions", bearer=foreign).status_code == 200


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer not-a-jwt", "InvalidAuthenticationToken"),
        ("Bearer a.b.c", "InvalidAuthenticationToken"),
        ("Basic YWRtaW46cGFzcw==", "AuthenticationFailedInvalidHeader"),
    ],
)
def test_arm_refuses_malformed_authorization(shared_demo, authorization: str, code: str) -> None:
    answer = http(shared_demo, "GET", "/subscriptions", bearer=None, headers={"Authorization": authorization})

    assert_arm_error(answer, 401, code)


def test_arm_refuses_an_expired_token(shared_demo) -> None:
    expired, _ = shared_demo.sandbox.tokens.issue(
        "https://management.azure.com/", shared_demo.store.caller["object_id"], "app", now=1_000_000
    )

    assert_arm_error(http(shared_demo, "GET", "/subscriptions", bearer=expired), 401, "ExpiredAuthenticationToken")


def test_a_token_for_another_audience_is_refused_through_the_sdk(shared_demo) -> None:
    kwargs = {**shared_demo.client_kwargs(), "credential_scopes": ["https://vault.azure.net/.default"]}
    client = SubscriptionClient(shared_demo.credential(), **kwargs)

    with pytest.raises(ClientAuthenticationError) as caught:
        list(client.subscriptions.list())

    assert caught.value.status_code == 401
    assert caught.value.error.code == "InvalidAuthenticationTokenAudience"


# -- metadata, subscriptions, providers ---------------------------------------------------------
def test_cloud_metadata_points_every_endpoint_at_the_sandbox(shared_demo) -> None:
    answer = requests.get(
        shared_demo.info.arm_endpoint + "/metadata/endpoints",
        params={"api-version": "2022-09-01"},
        verify=shared_demo.info.ca_bundle,
        timeout=10,
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["resourceManager"] == shared_demo.info.arm_endpoint + "/"
    assert body["authentication"]["tenant"] == shared_demo.info.tenant_id
    assert "https://management.azure.com/" in body["authentication"]["audiences"]


def test_subscriptions_list_and_get_through_the_sdk(shared_demo) -> None:
    client = SubscriptionClient(shared_demo.credential(), **shared_demo.client_kwargs())

    listed = list(client.subscriptions.list())
    prod = client.subscriptions.get(shared_demo.prod)
    raw = client.subscriptions.get(shared_demo.prod, cls=wire)

    assert [s.display_name for s in listed] == ["Contoso Production", "Contoso Dev/Test"]
    assert [s.subscription_id for s in listed] == shared_demo.info.subscription_ids
    assert prod.display_name == "Contoso Production"
    assert prod.state == "Enabled"
    assert prod.tenant_id == shared_demo.info.tenant_id
    assert_shape(raw, example_body("GetSubscription"))


def test_an_unknown_subscription_is_subscription_not_found(shared_demo) -> None:
    client = SubscriptionClient(shared_demo.credential(), **shared_demo.client_kwargs())

    with pytest.raises(ResourceNotFoundError) as caught:
        client.subscriptions.get(MISSING_SUB)

    assert caught.value.error.code == "SubscriptionNotFound"


async def test_subscriptions_through_the_async_sdk(shared_demo) -> None:
    async with (
        shared_demo.async_credential() as credential,
        AsyncSubscriptionClient(credential, **shared_demo.client_kwargs()) as client,
    ):
        names = [s.display_name async for s in client.subscriptions.list()]
        dev = await client.subscriptions.get(shared_demo.info.subscription_ids[1])

    assert names == ["Contoso Production", "Contoso Dev/Test"]
    assert dev.display_name == "Contoso Dev/Test"


@pytest.mark.parametrize(
    "namespace", ["Microsoft.ManagedIdentity", "Microsoft.Authorization", "Microsoft.App", "microsoft.keyvault"]
)
def test_providers_are_registered(shared_demo, namespace: str) -> None:
    client = ResourceManagementClient(shared_demo.credential(), shared_demo.prod, **shared_demo.client_kwargs())

    provider = client.providers.get(namespace)

    assert provider.registration_state == "Registered"
    assert provider.namespace.lower() == namespace.lower()
    assert provider.resource_types


def test_an_unknown_provider_namespace_is_refused(shared_demo) -> None:
    client = ResourceManagementClient(shared_demo.credential(), shared_demo.prod, **shared_demo.client_kwargs())

    with pytest.raises(ResourceNotFoundError) as caught:
        client.providers.get("Microsoft.Nonexistent")

    assert caught.value.error.code == "InvalidResourceNamespace"


# -- the pipeline -------------------------------------------------------------------------------
def test_every_answer_carries_request_ids_and_echoes_the_client_request_id(shared_demo) -> None:
    seen = Recorder()
    client = SubscriptionClient(shared_demo.credential(), **shared_demo.client_kwargs())

    client.subscriptions.get(shared_demo.prod, raw_response_hook=seen, headers={"x-ms-client-request-id": "abc-123"})

    (_, _, status, headers) = seen.responses[-1]
    assert status == 200
    assert headers["x-ms-request-id"]
    assert headers["x-ms-correlation-request-id"] == "abc-123"


def test_paths_are_matched_without_regard_to_case_and_answered_in_stored_casing(shared_demo) -> None:
    answer = http(shared_demo, "GET", f"/SUBSCRIPTIONS/{shared_demo.prod.upper()}/RESOURCEGROUPS/RG-RUNNER")

    assert answer.status_code == 200
    assert answer.json()["name"] == "rg-runner"
    assert answer.json()["id"] == f"/subscriptions/{shared_demo.prod}/resourceGroups/rg-runner"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/subscriptions", {"api_version": None}, 400, "MissingApiVersionParameter"),
        ("GET", "/subscriptions", {"api_version": "latest"}, 400, "InvalidApiVersionParameter"),
        ("GET", "/subscriptions", {"api_version": "2022-13"}, 400, "InvalidApiVersionParameter"),
        ("GET", "/no/such/route", {}, 404, "NoRegisteredProviderFound"),
        ("DELETE", "/subscriptions", {}, 405, "HttpMethodNotAllowed"),
        ("POST", "/subscriptions/{sub}/resourceGroups/rg-runner", {}, 405, "HttpMethodNotAllowed"),
        (
            "GET",
            "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.Foo/bars/x",
            {},
            404,
            "ResourceNotFound",
        ),
        ("GET", "/subscriptions/{sub}/resourceGroups/rg-nowhere", {}, 404, "ResourceGroupNotFound"),
    ],
    ids=[
        "missing-api-version",
        "api-version-word",
        "api-version-short",
        "unknown-route",
        "wrong-method",
        "wrong-method-on-group",
        "unknown-resource",
        "unknown-group",
    ],
)
def test_bad_requests_get_arm_errors(
    shared_demo, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    answer = http(shared_demo, method, path.format(sub=shared_demo.prod), **kwargs)

    assert_arm_error(answer, status, code)


IDENTITY = "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
APP = "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.App/containerApps"
ASSIGNMENT = (
    "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.Authorization/roleAssignments/"
    "5d3f0c1e-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
)
ENV = "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.App/managedEnvironments/cae-maia"
CONTAINERS = {"containers": [{"name": "app", "image": "nginx"}]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", IDENTITY + "/id-bad", b'{"location": "westeurope",'),
        ("PUT", IDENTITY + "/id-bad", b"\xff\xfe not utf-8"),
        ("PUT", IDENTITY + "/id-bad", b'["a", "list"]'),
        ("PUT", ASSIGNMENT, b"{'single': 'quotes'}"),
        ("PATCH", APP + "/maia-runner", b"{"),
        ("PUT", "/subscriptions/{sub}/resourceGroups/rg-bad", b"null"),
    ],
    ids=["truncated", "not-utf8", "a-list", "single-quotes", "patch-brace", "null"],
)
def test_malformed_json_is_invalid_request_content(shared_demo, method: str, path: str, body: bytes) -> None:
    answer = http(
        shared_demo,
        method,
        path.format(sub=shared_demo.prod),
        data=body,
        headers={"Content-Type": "application/json"},
    )

    assert_arm_error(answer, 400, "InvalidRequestContent")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", IDENTITY + "/id-typed", {"location": "westeurope", "tags": ["a"]}),
        ("PUT", IDENTITY + "/id-typed", {"location": 5}),
        ("PATCH", IDENTITY + "/id-legacy-runner", {"tags": {"a": 1}}),
        ("PUT", ASSIGNMENT, {"properties": "x"}),
        ("PUT", ASSIGNMENT, {"properties": {"roleDefinitionId": 5, "principalId": []}}),
        ("PUT", APP + "/app-typed", {"location": "westeurope", "properties": "x"}),
        ("PUT", APP + "/app-typed", {"location": "westeurope", "properties": {"environmentId": 5}}),
        (
            "PUT",
            APP + "/app-typed",
            {
                "location": "westeurope",
                "properties": {"environmentId": ENV, "configuration": "x", "template": CONTAINERS},
            },
        ),
        (
            "PUT",
            APP + "/app-typed",
            {
                "location": "westeurope",
                "properties": {"environmentId": ENV, "configuration": {"secrets": ["x"]}, "template": CONTAINERS},
            },
        ),
        (
            "PUT",
            APP + "/app-typed",
            {"location": "westeurope", "identity": "x", "properties": {"environmentId": ENV, "template": CONTAINERS}},
        ),
        ("PATCH", APP + "/maia-runner", {"properties": {"configuration": {"activeRevisionsMode": 5}}}),
        ("PATCH", APP + "/maia-runner", {"properties": {"configuration": {"secrets": "x"}}}),
        ("PATCH", APP + "/maia-runner", {"properties": {"template": {"containers": ["x"]}}}),
        ("PATCH", APP + "/maia-runner", {"identity": {"type": "UserAssigned", "userAssignedIdentities": ["x"]}}),
        ("PATCH", APP + "/maia-runner", {"properties": {"template": None}}),
    ],
)
def test_wrongly_typed_fields_are_a_400_never_a_500(shared_demo, method: str, path: str, body: Any) -> None:
    answer = http(shared_demo, method, path.format(sub=shared_demo.prod), json=body)

    assert answer.status_code == 400, answer.text
    assert_arm_error(answer, 400, answer.json()["error"]["code"])
    app = shared_demo.store.get(f"{APP.format(sub=shared_demo.prod)}/maia-runner")
    assert app is not None and app["properties"]["provisioningState"] == "Succeeded"


def test_an_error_is_json_even_when_the_client_asks_for_something_else(shared_demo) -> None:
    answer = http(shared_demo, "GET", "/subscriptions", api_version=None, headers={"Accept": "text/html"})

    assert_arm_error(answer, 400, "MissingApiVersionParameter")


def test_the_certificate_is_trusted_only_through_the_sandbox_ca(shared_demo) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(shared_demo.info.arm_endpoint + "/subscriptions", params={"api-version": API}, timeout=10)
