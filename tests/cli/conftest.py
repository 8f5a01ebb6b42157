"""The console script as a user runs it: a subprocess, its exit code, stdout and stderr, against a
sandbox on loopback (in-process via --sandbox, or served by this test process and reached with
--arm-endpoint/--ca-bundle, so a test can read what the sandbox was sent)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FOREIGN_CREDENTIAL_VARS, RunningSandbox
from wizard.sandbox.scenarios import build_store

DEMO = build_store("demo")
SUB = next(iter(DEMO.subscriptions.values()))["subscriptionId"]
RG = f"/subscriptions/{SUB}/resourceGroups"
APP = f"{RG}/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
VAULT = f"{RG}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod"
SECRET_VALUE = "sandbox-agent-token-value"  # the demo's agent-token secret: must never leak
PLAN_TOML = f"""subscription = "{SUB}"

[identity]
resource_group = "rg-runner"
name = "id-maia-runner"

[[role_assignments]]
role = "Key Vault Secrets User"
scope = "{VAULT}"

[container_app]
id = "{APP}"
container = "runner"
"""


def script() -> list[str]:
    found = Path(sys.executable).with_name("runner-identity")
    return [str(found)] if found.exists() else [sys.executable, "-m", "wizard.cli"]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Cli:
    """Runs `runner-identity ARGS` in `cwd` with an isolated environment."""

    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 240, **env: str) -> Ran:
        done = subprocess.run(
            [*script(), *args],
            cwd=self.cwd,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*script(), *args],
            cwd=self.cwd,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def state_dir(self) -> Path:
        return Path(self.env["RUNNER_IDENTITY_STATE_DIR"])


def isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_CREDENTIAL_VARS}
    env.pop("IDENTITY_ENDPOINT", None)
    env.pop("IDENTITY_HEADER", None)
    env.pop("AZURE_SUBSCRIPTION_ID", None)
    env.update(
        RUNNER_IDENTITY_STATE_DIR=str(tmp_path / "state"),
        AZURE_CONFIG_DIR=str(tmp_path / "no-az"),
        # Sign-in without the sandbox must fail here, fast and offline: IMDS at a closed local port.
        AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:9",
        COLUMNS="200",
    )
    return env


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, isolated_env(tmp_path))


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN_TOML, encoding="utf-8")
    return path


@dataclass
class Remote:
    """A sandbox served by the test process, and the options and environment to reach it."""

    running: RunningSandbox

    @property
    def flags(self) -> list[str]:
        return ["--arm-endpoint", self.running.info.arm_endpoint, "--ca-bundle", self.running.info.ca_bundle]

    @property
    def env(self) -> dict[str, str]:
        return self.running.info.environment()

    def requests(self, method: str, path_part: str) -> list[tuple[str, str, int]]:
        log = self.running.thread.call(lambda: list(self.running.sandbox.request_log))
        return [r for r in log if r[0] == method and path_part.lower() in r[1].lower()]


@pytest.fixture
def remote(start_sandbox: Callable[..., RunningSandbox]) -> Iterator[Callable[..., Remote]]:
    def start(**config: Any) -> Remote:
        # Long-running operations ask to be polled every 0.2 s: with Retry-After 0 the console script
        # polls at its default interval (5 s), and the sandbox's operations would end by time (10 s).
        config.setdefault("retry_after_s", 0.2)
        return Remote(start_sandbox(**config))

    yield start
