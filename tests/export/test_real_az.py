"""The exported script run by the real Azure CLI against the sandbox; skipped where no `az` is on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
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


def run_real(script: str, env: dict[str, str], tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    file = tmp_path / name
    file.write_text(script, encoding="utf-8")
    return subprocess.run(["bash", str(file)], env=env, capture_output=True, text=True, check=False, timeout=600)


def test_the_real_az_runs_scripts_exported_before_and_after_apply_and_relinks_a_recreated_identity(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    from tests.export.test_az_live_state import _recreate, linked_principal
    from tests.export.test_az_sandbox import apply_plan

    env = az_env(demo, tmp_path)
    plan = runner_plan(demo, tags={"owner": "data"})
    before = script_for(demo, plan)
    assert apply_plan(demo, plan, tmp_path).status == "applied"
    after = script_for(demo, plan)
    writes = len(demo.sandbox.writes())
    revision = snapshot(demo, ids(demo)["app"])["properties"]["latestRevisionName"]
    for name, script in (("before.sh", before), ("after.sh", after)):
        run = run_real(script, env, tmp_path, name)
        assert run.returncode == 0, run.stderr
    assert len(demo.sandbox.writes()) == writes  # apply did it all: either script writes nothing

    # deleted and re-created under its name (the app holds a stale entry), with a tag named in another case
    again = _recreate(demo, plan, {"OWNER": "someone", "cost": "1"})
    run = run_real(before, env, tmp_path, "before.sh")
    assert run.returncode == 0, run.stderr
    assert "removed the stale entry" in run.stdout
    assert linked_principal(demo, plan.identity_id) == again.principal_id
    assert snapshot(demo, plan.identity_id)["tags"] == {"owner": "data", "cost": "1"}
    runner = snapshot(demo, ids(demo)["app"])["properties"]["template"]["containers"][0]
    assert runner["env"][-1] == {"name": "AZURE_CLIENT_ID", "value": again.client_id}
    relinked = snapshot(demo, ids(demo)["app"])["properties"]["latestRevisionName"]
    assert relinked != revision  # the variable changed: a new revision, once
    writes = len(demo.sandbox.writes())
    run = run_real(before, env, tmp_path, "before.sh")
    assert run.returncode == 0, run.stderr
    assert len(demo.sandbox.writes()) == writes
    assert snapshot(demo, ids(demo)["app"])["properties"]["latestRevisionName"] == relinked
    assert apply_plan(demo, plan, tmp_path).status == "nothing to do"


def test_the_real_az_registers_a_provider_the_subscription_lacks(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    running = start_sandbox(unregistered=("Microsoft.ManagedIdentity", "Microsoft.App"))
    env = az_env(running, tmp_path)
    plan = runner_plan(running)
    script = script_for(running, plan)
    run = run_real(script, env, tmp_path, "setup.sh")
    assert run.returncode == 0, run.stderr
    assert "registering the resource provider Microsoft.ManagedIdentity" in run.stdout
    assert "registering the resource provider Microsoft.App" in run.stdout
    writes = len(running.sandbox.writes())
    run = run_real(script, env, tmp_path, "setup.sh")
    assert run.returncode == 0, run.stderr
    assert "registering" not in run.stdout and len(running.sandbox.writes()) == writes
