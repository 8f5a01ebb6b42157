"""Helpers for the sandbox suite: the raw ARM JSON behind an SDK call, every response a pipeline saw,
a plain HTTPS client for what no SDK can send, and Azure's own response examples.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import requests
from azure.core.exceptions import ResponseNotReadError

from tests.conftest import RunningSandbox
from wizard.sandbox.api_versions import addressed_type, supported_versions

# Microsoft's example responses, copied into the repository by tools/vendor_spec_examples.py so
# that the shape tests run everywhere, CI included (a missing example fails, it never skips).
SPECS = Path(__file__).resolve().parents[1] / "data" / "azure-specs"
EXAMPLE_DIRS = {
    "ContainerApps": "app/resource-manager/Microsoft.App/ContainerApps/stable/2026-07-01/examples",
    "Identity": "msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/stable/2024-11-30/examples",
    "RoleAssignments": "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/examples",
    "Get": "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/examples",
    "CreateResourceGroup": "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/examples",
    "GetSubscription": "resources/resource-manager/Microsoft.Resources/subscriptions/stable/2022-12-01/examples",
}
API = "2022-12-01"  # ARM's own routes (subscriptions, groups); a provider's route gets one its type accepts


def wire(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """`cls=wire` makes an SDK operation return the JSON ARM sent instead of a model."""
    return json.loads(pipeline_response.http_response.text())


def status_and_body(pipeline_response: Any, deserialized: Any, _headers: Any) -> tuple[int, Any]:
    """`cls=status_and_body`: the HTTP status with the SDK's model (201 vs 200 is invisible otherwise)."""
    return pipeline_response.http_response.status_code, deserialized


class Recorder:
    """A `raw_response_hook` that sees every response the SDK's pipeline gets, retries included."""

    def __init__(self) -> None:
        self.responses: list[tuple[str, str, int, dict[str, str]]] = []
        self.bodies: list[str] = []

    def __call__(self, pipeline_response: Any) -> None:
        request, response = pipeline_response.http_request, pipeline_response.http_response
        self.responses.append((request.method, request.url, response.status_code, dict(response.headers)))
        try:
            self.bodies.append(response.text())
        except ResponseNotReadError:  # a long-running operation's first answer is streamed to the poller
            self.bodies.append("")

    def json(self, index: int = -1) -> Any:
        return json.loads(self.bodies[index])

    @property
    def statuses(self) -> list[int]:
        return [r[2] for r in self.responses]


def token(running: RunningSandbox, resource: str = "https://management.azure.com/", **params: str) -> str:
    """A bearer token from the sandbox's App Service managed-identity endpoint."""
    answer = requests.get(
        running.info.identity_endpoint,
        params={"resource": resource, "api-version": "2019-08-01", **params},
        headers={"X-IDENTITY-HEADER": running.info.identity_header},
        verify=running.info.ca_bundle,
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def http(
    running: RunningSandbox,
    method: str,
    path: str,
    *,
    bearer: str | None = "caller",
    api_version: str | None = API,
    **kwargs: Any,
) -> requests.Response:
    """One plain HTTPS request to the sandbox (CA checked), for what the SDKs never send."""
    headers = dict(kwargs.pop("headers", {}))
    if bearer == "caller":
        bearer = token(running)
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    params = dict(kwargs.pop("params", {}))
    if api_version == API:
        api_version = (supported_versions(*addressed_type(path)) or [API])[0]
    if api_version is not None:
        params["api-version"] = api_version
    return requests.request(
        method,
        running.info.arm_endpoint + path,
        params=params,
        headers=headers,
        verify=running.info.ca_bundle,
        timeout=10,
        **kwargs,
    )


def assert_arm_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """An ARM error as a user sees it: the status, `{"error": {"code", "message"}}`, a request id."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers.get("x-ms-request-id")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"] and "Traceback" not in body["error"]["message"]
    return dict(body["error"])


@cache
def example(name: str) -> dict[str, Any]:
    folder = next(
        EXAMPLE_DIRS[prefix] for prefix in sorted(EXAMPLE_DIRS, key=len, reverse=True) if name.startswith(prefix)
    )
    path = SPECS / folder / f"{name}.json"
    assert path.exists(), f"Azure's example {path} is missing: run python tools/vendor_spec_examples.py"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def example_body(name: str, status: str = "200") -> dict[str, Any]:
    body = example(name)["responses"][status]["body"]
    return dict(body["value"][0] if "value" in body else body)


# Keys ARM adds to any resource envelope beyond a provider's example (tags, systemData, ...).
ENVELOPE_EXTRAS = {"tags", "systemData", "kind", "sku", "managedBy", "etag", "identity", "plan", "zones"}


def assert_shape(actual: dict[str, Any], expected: dict[str, Any], extras: set[str] = ENVELOPE_EXTRAS) -> None:
    """`actual` has every key of Azure's example, and nothing beyond ARM's common envelope."""
    assert set(expected) <= set(actual), f"missing {set(expected) - set(actual)}"
    assert set(actual) - set(expected) <= extras, f"unexpected {set(actual) - set(expected) - extras}"
