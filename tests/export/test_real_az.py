"""The exported script run by the real Azure CLI against the sandbox; skipped where no `az` is on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunningSandbox
from tests.engine.helpers import ids, runner_plan, snapshot
from tests.export.test_az_sandbox import script_for

AZ = shutil.which("az")
pytestmark = pytest.mark.skipif(AZ is None, reason="the Azure CLI (az) is not on PATH")


def az_env(running: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    """An az signed in to the sandbox, in a config folder of its own (the user's az is left alone)."""
    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(tmp_path / "azure-config"),
        "REQUESTS_CA_BUNDLE": running.info.ca_bundle,
        "SSL_CERT_FILE": running.info.ca_bundle,
        "AZURE_CORE_COLLECT_TELEMETRY": "no",
        "TMPDIR": str(tmp_path),
        **running.info.environment(),
    }
    for argv in (
        ["cloud", "register", "--name", "runner-identity-sandbox",
         f"--endpoint-resource-manager={running.info.arm_endpoint}",
         "--endpoint-active-directory=https://login.microsoftonline.com",
         "--endpoint-active-directory-resource-id=https://management.core.windows.net/",
         "--endpoint-active-directory-graph-resource-id=https://graph.windows.net/"],
        ["cloud", "set", "--name", "runner-identity-sandbox"],
        ["login", "--identity", "--output", "none"],
    ):  # fmt: skip
        result = subprocess.run([AZ, *argv], env=env, capture_output=True, text=True, check=False, timeout=300)  # type: ignore[list-item]
        assert result.returncode == 0, result.stderr
    return env


def test_the_real_az_runs_the_script_and_a_rerun_writes_nothing(demo: RunningSandbox, tmp_path: Path) -> None:
    env = az_env(demo, tmp_path)
    tags = {"owner": "data", "--resource-group": "rg-other", "a=b": "c", "x": "$(touch pwned) `id` '\"\n"}
    plan = runner_plan(demo, tags=tags)
    script = tmp_path / "setup.sh"
    script.write_text(script_for(demo, plan), encoding="utf-8")
    first = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False, timeout=600)
    assert first.returncode == 0, first.stderr
    assert snapshot(demo, plan.identity_id)["tags"] == tags
    client_id = snapshot(demo, plan.identity_id)["properties"]["clientId"]
    runner = snapshot(demo, ids(demo)["app"])["properties"]["template"]["containers"][0]
    assert {"name": "AZURE_CLIENT_ID", "value": client_id} in runner["env"]
    assert [w[0] for w in demo.sandbox.writes()] == ["PUT", "PUT", "PUT", "PATCH"]
    second = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False, timeout=600)
    assert second.returncode == 0, second.stderr
    assert len(demo.sandbox.writes()) == 4
    assert not list(tmp_path.rglob("pwned"))
