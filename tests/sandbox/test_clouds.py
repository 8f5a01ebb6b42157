"""Sovereign clouds: `--cloud AzureUSGovernment|AzureChinaCloud` makes the sandbox present that cloud: its
metadata document (names, audiences, suffixes) in the shapes clients read, and ARM accepting only tokens
minted for that cloud's Resource Manager audience.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import assert_arm_error, http, token

AUDIENCES = {
    "AzureCloud": ("https://management.core.windows.net/", "https://management.azure.com/"),
    "AzureUSGovernment": ("https://management.core.usgovcloudapi.net/", "https://management.usgovcloudapi.net/"),
    "AzureChinaCloud": ("https://management.core.chinacloudapi.cn/", "https://management.chinacloudapi.cn/"),
}
VAULT_SUFFIX = {
    "AzureCloud": "vault.azure.net",
    "AzureUSGovernment": "vault.usgovcloudapi.net",
    "AzureChinaCloud": "vault.azure.cn",
}
# The keys `az` reads from one cloud of the document (azure-cli's cloud._arm_to_cli_mapper).
AZ_CLI_KEYS = {"name", "authentication", "suffixes", "resourceManager"}


def metadata(running: RunningSandbox, api_version: str | None) -> requests.Response:
    params = {"api-version": api_version} if api_version else {}
    return requests.get(
        running.info.arm_endpoint + "/metadata/endpoints", params=params, verify=running.info.ca_bundle, timeout=10
    )


@pytest.fixture(scope="module", params=sorted(AUDIENCES))
def cloud(request, start_shared_sandbox) -> tuple[str, RunningSandbox]:
    return request.param, start_shared_sandbox(cloud=request.param)


def test_the_2022_09_01_document_names_the_cloud_and_its_audiences(cloud) -> None:
    name, running = cloud

    body = metadata(running, "2022-09-01").json()

    assert body["name"] == name
    assert body["resourceManager"] == running.info.arm_endpoint + "/"
    assert tuple(body["authentication"]["audiences"]) == AUDIENCES[name]
    assert body["authentication"]["tenant"] == running.info.tenant_id
    assert body["suffixes"]["keyVaultDns"] == VAULT_SUFFIX[name]
    assert set(body) >= AZ_CLI_KEYS


def test_the_2019_05_01_document_is_a_list_of_clouds_as_az_reads_it(cloud) -> None:
    name, running = cloud

    body = metadata(running, "2019-05-01").json()

    assert isinstance(body, list)
    assert [c["name"] for c in body] == [name]
    assert set(body[0]) >= AZ_CLI_KEYS
    assert body[0]["authentication"]["audiences"][0] == AUDIENCES[name][0]


def test_the_2015_01_01_document_is_azure_stacks_shape(cloud) -> None:
    name, running = cloud

    body = metadata(running, "2015-01-01").json()

    assert {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"} <= set(body)
    assert body["authentication"]["audiences"][0] == AUDIENCES[name][0]


def test_only_this_clouds_audience_is_accepted(cloud) -> None:
    name, running = cloud

    for own in AUDIENCES[name]:
        assert http(running, "GET", "/subscriptions", bearer=token(running, own)).status_code == 200
    for other, audiences in AUDIENCES.items():
        if other == name:
            continue
        for foreign in audiences:
            answer = http(running, "GET", "/subscriptions", bearer=token(running, foreign))
            error = assert_arm_error(answer, 401, "InvalidAuthenticationTokenAudience")
            assert foreign in error["message"]


def test_the_sdk_signs_in_for_the_government_cloud_against_it(start_sandbox) -> None:
    running = start_sandbox(cloud="AzureUSGovernment")
    kwargs = {**running.client_kwargs(), "credential_scopes": ["https://management.usgovcloudapi.net/.default"]}
    public = {**running.client_kwargs(), "credential_scopes": ["https://management.azure.com/.default"]}

    names = [s.display_name for s in SubscriptionClient(running.credential(), **kwargs).subscriptions.list()]
    with pytest.raises(ClientAuthenticationError) as caught:
        list(SubscriptionClient(running.credential(), **public).subscriptions.list())

    assert names == ["Contoso Production", "Contoso Dev/Test"]
    assert caught.value.error.code == "InvalidAuthenticationTokenAudience"


def test_an_unknown_cloud_is_refused(start_sandbox) -> None:
    with pytest.raises(ValueError) as caught:
        start_sandbox(cloud="AzureGermanCloud")

    assert "AzureUSGovernment" in str(caught.value)


@pytest.mark.parametrize("api_version", ["2022-09-01", "2019-05-01"])
def test_every_endpoint_a_client_calls_is_the_sandbox_itself(cloud, api_version: str) -> None:
    """Nothing a tool reads from the document may send it (and a sandbox token) off this machine: az uses
    `microsoftGraphResourceId` as the base URL of its Microsoft Graph calls (`az role assignment list`
    resolving principals; azure-cli's GraphClient), and falls back to the real cloud's when it is absent."""
    _, running = cloud
    body = metadata(running, api_version).json()
    document = body[0] if isinstance(body, list) else body
    sandbox = urlparse(running.info.arm_endpoint).netloc

    called = {
        "resourceManager": document["resourceManager"],
        "portal": document["portal"],
        "graph": document["graph"],
        "microsoftGraphResourceId": document.get("microsoftGraphResourceId"),
        "authentication.loginEndpoint": document["authentication"]["loginEndpoint"],
    }

    assert {key: urlparse(url or "").netloc for key, url in called.items()} == dict.fromkeys(called, sandbox)
