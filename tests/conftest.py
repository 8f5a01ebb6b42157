"""Fixtures that start a sandbox in-process and connect the real Azure SDK clients to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from wizard.sandbox.server import SandboxInfo, SandboxThread
from wizard.sandbox.state import SandboxConfig

ARM_SCOPE = "https://management.azure.com/.default"
# Variables that would make DefaultAzureCredential pick something other than the sandbox.
FOREIGN_CREDENTIAL_VARS = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
)


@dataclass
class RunningSandbox:
    info: SandboxInfo
    thread: SandboxThread

    @property
    def sandbox(self):  # the live Sandbox object, for inspecting what it holds
        return self.thread.sandbox

    @property
    def store(self):
        return self.thread.sandbox.store

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.info.arm_endpoint,
            "credential_scopes": [ARM_SCOPE],
            "connection_verify": self.info.ca_bundle,
            "polling_interval": 0.01,
        }

    def credential(self) -> Any:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(connection_verify=self.info.ca_bundle)

    def async_credential(self) -> Any:
        from azure.identity.aio import DefaultAzureCredential

        return DefaultAzureCredential(connection_verify=self.info.ca_bundle)

    @property
    def prod(self) -> str:
        return self.info.subscription_ids[0]


def sandbox_starter(mp: pytest.MonkeyPatch) -> Iterator[Callable[..., RunningSandbox]]:
    """Yield `start(**SandboxConfig fields)`; every sandbox started is stopped afterwards, and the
    SDK's credential (IDENTITY_ENDPOINT/IDENTITY_HEADER through `mp`) points at the latest one."""
    started: list[SandboxThread] = []
    for var in FOREIGN_CREDENTIAL_VARS:
        mp.delenv(var, raising=False)

    def start(**config: Any) -> RunningSandbox:
        config.setdefault("retry_after_s", 0)
        thread = SandboxThread(SandboxConfig(**config))
        info = thread.start()
        started.append(thread)
        for key, value in info.environment().items():
            mp.setenv(key, value)
        return RunningSandbox(info, thread)

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A test's journals stay in the test: the machine's state dir holds other runs (rollback reads
    them as this machine's runs), and other test sessions may write there at the same time."""
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def start_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., RunningSandbox]]:
    """Start a sandbox for one test with the given SandboxConfig fields."""
    yield from sandbox_starter(monkeypatch)


@pytest.fixture(scope="module")
def start_shared_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """Like `start_sandbox`, but one sandbox for a whole module: only for tests that change nothing
    (or change what no other test of the module looks at)."""
    with pytest.MonkeyPatch.context() as mp:
        yield from sandbox_starter(mp)


@pytest.fixture
def demo(start_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_sandbox()
