"""Each permission apply checks before its first write is tested with a caller lacking just that one,
and the commands that only read leave the sandbox byte for byte as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine.helpers import applier, caller_with_custom_role, gateway, ids, runner_plan, snapshot, store_bytes
from wizard.cli import main
from wizard.plan import IdentitySpec, Plan
from wizard.steps import APP_WRITE, IDENTITY_ASSIGN, IDENTITY_WRITE, RA_WRITE

PREFLIGHTS = {
    # the permission: (a plan that needs it, what the problem says)
    IDENTITY_WRITE: ("new identity", "create the identity"),
    "tag": ("tagged identity", "tag the identity"),
    RA_WRITE: ("new identity", "you cannot assign roles"),
    APP_WRITE: ("new identity", "update maia-runner"),
    IDENTITY_ASSIGN: ("new identity", "link id-maia-runner to an app"),
}


def _plan(running: Any, kind: str) -> Plan:
    if kind == "tagged identity":  # reuses the demo's identity, adding a tag
        i = ids(running)
        return Plan(i["sub"], IdentitySpec("rg-runner", "id-legacy-runner", tags={"owner": "data"}), [])
    return runner_plan(running)


@pytest.mark.parametrize("lacking", list(PREFLIGHTS))
async def test_a_caller_lacking_one_permission_is_stopped_before_any_write(
    start_sandbox: Any, tmp_path: Path, lacking: str
) -> None:
    running = start_sandbox()
    action = IDENTITY_WRITE if lacking == "tag" else lacking
    caller_with_custom_role(running, f"Owner without {action}", [action])
    kind, says = PREFLIGHTS[lacking]
    plan = _plan(running, kind)
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
    assert outcome.status == "blocked"
    problems = outcome.step_plan.problems
    assert problems and all(says in p and action in p for p in problems), problems
    assert running.sandbox.writes() == []
    assert outcome.journal is None


@pytest.mark.parametrize("tenant", ["fresh", "unregistered provider", "busy app"])
def test_dry_run_plan_verify_and_export_leave_azure_byte_for_byte_as_it_was(
    start_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenant: str
) -> None:
    config: dict[str, Any] = {}
    if tenant == "unregistered provider":
        config["unregistered"] = ("Microsoft.ManagedIdentity", "Microsoft.App")
    running = start_sandbox(**config)
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    i = ids(running)
    plan = runner_plan(running, tags={"owner": "data"})
    plan.save(tmp_path / "plan.toml")
    if tenant == "busy app":
        running.thread.call(lambda: running.store.get(i["app"])["properties"].update(provisioningState="Updating"))
    where = ["--arm-endpoint", running.info.arm_endpoint, "--ca-bundle", running.info.ca_bundle]
    before = store_bytes(running)
    flags = [
        "--subscription", i["sub"], "--resource-group", "rg-runner", "--identity", "id-maia-runner",
        "--role", f"Key Vault Secrets User@{i['vault']}", "--container-app", i["app"], "--container", "runner",
    ]  # fmt: skip
    plan_file = str(tmp_path / "plan.toml")
    commands = [
        ["plan", *flags, "--out", str(tmp_path / "again.toml")],
        ["apply", plan_file, "--dry-run"],
        ["apply", plan_file, "--dry-run", "--json"],
        ["verify", plan_file],
        ["verify", "--container-app", i["app"], "--container", "runner"],
        ["export", plan_file, "--format", "az", "--out", str(tmp_path / "setup.sh")],
        ["export", plan_file, "--format", "bicep", "--out", str(tmp_path / "setup.bicep")],
    ]
    for command in commands:
        assert main([*command, *where]) in (0, 1), command  # 1: verify finds what is not applied yet
    assert store_bytes(running) == before
    assert running.sandbox.writes() == []
    assert snapshot(running, plan.identity_id) is None
