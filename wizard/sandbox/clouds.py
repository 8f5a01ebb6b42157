"""The Azure clouds a sandbox can present: their names, Resource Manager audiences and DNS suffixes, and
the cloud metadata document (`/metadata/endpoints`) in the shapes clients read.

Values are those of Azure's own metadata documents and the az CLI's built-in clouds (azure-cli-core
2.91.0, azure/cli/core/cloud.py). The sandbox stands in for every endpoint a client would call (Resource
Manager, sign-in, portal, graph), so those point at it; identifiers that are never called (audiences,
suffixes) keep the cloud's real values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cloud:
    name: str
    login: str  # Entra ID's sign-in host, named in ARM's WWW-Authenticate challenge
    # Token audiences Resource Manager accepts, the classic one first (as the metadata document lists them).
    audiences: tuple[str, str]
    graph_audience: str
    suffixes: dict[str, str]


CLOUDS = {
    "AzureCloud": Cloud(
        "AzureCloud",
        "https://login.microsoftonline.com",
        ("https://management.core.windows.net/", "https://management.azure.com/"),
        "https://graph.windows.net/",
        {
            "storage": "core.windows.net",
            "keyVaultDns": "vault.azure.net",
            "sqlServerHostname": "database.windows.net",
            "acrLoginServer": "azurecr.io",
            "mhsmDns": "managedhsm.azure.net",
        },
    ),
    "AzureUSGovernment": Cloud(
        "AzureUSGovernment",
        "https://login.microsoftonline.us",
        ("https://management.core.usgovcloudapi.net/", "https://management.usgovcloudapi.net/"),
        "https://graph.windows.net/",
        {
            "storage": "core.usgovcloudapi.net",
            "keyVaultDns": "vault.usgovcloudapi.net",
            "sqlServerHostname": "database.usgovcloudapi.net",
            "acrLoginServer": "azurecr.us",
            "mhsmDns": "managedhsm.usgovcloudapi.net",
        },
    ),
    "AzureChinaCloud": Cloud(
        "AzureChinaCloud",
        "https://login.chinacloudapi.cn",
        ("https://management.core.chinacloudapi.cn/", "https://management.chinacloudapi.cn/"),
        "https://graph.chinacloudapi.cn/",
        {
            "storage": "core.chinacloudapi.cn",
            "keyVaultDns": "vault.azure.cn",
            "sqlServerHostname": "database.chinacloudapi.cn",
            "acrLoginServer": "azurecr.cn",
            "mhsmDns": "managedhsm.azure.cn",
        },
    ),
}


def cloud_named(name: str) -> Cloud:
    """The cloud called `name`, or ValueError listing the ones there are (a usage error at start)."""
    try:
        return CLOUDS[name]
    except KeyError:
        raise ValueError(f"unknown cloud {name!r}: choose one of {', '.join(CLOUDS)}") from None


def accepts_audience(cloud: Cloud, audience: str) -> bool:
    """Whether Resource Manager in `cloud` takes a token minted for `audience` (trailing slash and case
    aside, as Entra ID issues both spellings)."""
    return audience.rstrip("/").lower() in {a.rstrip("/").lower() for a in cloud.audiences}


def metadata(cloud: Cloud, base_url: str, tenant: str, api_version: str) -> Any:
    """`/metadata/endpoints` as Resource Manager answers it for `api_version`: the one-cloud object of
    2022-09-01 and later (what the Go and Terraform clients read); the list of clouds of 2019-05-01 up to
    it (what `az` reads through ARM_CLOUD_METADATA_URL); the Azure Stack object of 2015-01-01."""
    base = base_url.rstrip("/") + "/"
    if api_version and api_version < "2019-05-01":
        return {
            "galleryEndpoint": base,
            "graphEndpoint": base,
            "portalEndpoint": base,
            "authentication": {"loginEndpoint": base, "audiences": list(cloud.audiences)},
        }
    document = {
        "name": cloud.name,
        "portal": base,
        "resourceManager": base,
        "authentication": {
            "loginEndpoint": base,
            "audiences": list(cloud.audiences),
            "tenant": tenant,
            "identityProvider": "AAD",
        },
        "graph": base,
        "graphAudience": cloud.graph_audience,
        # Not only an audience: az calls Microsoft Graph at this URL (azure-cli's GraphClient), and with the
        # real one a sandbox token would leave the machine. The sandbox answers there with ARM's 404,
        # which az takes as Graph being unavailable (`az role assignment list` shows no principal names).
        "microsoftGraphResourceId": base,
        "suffixes": dict(cloud.suffixes),
    }
    if api_version and api_version < "2022-09-01":
        return [document]
    return document
