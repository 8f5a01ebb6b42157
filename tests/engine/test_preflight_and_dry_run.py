"""Each permission apply checks before its first write is tested with a caller lacking just that one,
and the commands that only read leave the sandbox byte for byte as it was."""

from __future__ import annotations

import io
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


# -- rollback checks the same way ------------------------------------------------------------------
ROLLBACK_PREFLIGHTS = {
    # the permission: what the problem says it stops
    APP_WRITE: "restore maia-runner",
    "Microsoft.Authorization/roleAssignments/delete": "delete role assignment",
    "Microsoft.ManagedIdentity/userAssignedIdentities/delete": "delete managed identity id-maia-runner",
}


@pytest.mark.parametrize("lacking", list(ROLLBACK_PREFLIGHTS))
async def test_a_rollback_the_caller_cannot_finish_is_refused_before_any_write(
    start_sandbox: Any, tmp_path: Path, lacking: str
) -> None:
    """Half a rollback (the app restored, the identity left; or roles deleted, the app not) is what a
    missing permission would make of it: it is said before the first write, as apply does."""
    from wizard.rollback import execute, plan_rollback, read_run, render_text

    running = start_sandbox()
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(running))
        assert outcome.ok, outcome.error
    caller_with_custom_role(running, f"Owner without {lacking}", [lacking])
    before = store_bytes(running)
    journal = outcome.journal.read_bytes()  # type: ignore[union-attr]
    async with gateway(running) as gw:
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    text = render_text(shown)
    assert any(lacking in p and ROLLBACK_PREFLIGHTS[lacking] in p for p in shown.problems), text
    assert done.status == "refused"
    assert store_bytes(running) == before
    assert outcome.journal.read_bytes() == journal  # type: ignore[union-attr]


def test_rollback_dry_run_and_an_unconfirmed_rollback_write_nothing(
    start_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    running = start_sandbox(retry_after_s=0.2)  # the console script polls as Retry-After asks
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    where = ["--arm-endpoint", running.info.arm_endpoint, "--ca-bundle", running.info.ca_bundle]
    runner_plan(running).save(tmp_path / "plan.toml")
    assert main(["apply", str(tmp_path / "plan.toml"), "--yes", "--json", *where]) == 0
    journal = Path(json.loads(capsys.readouterr().out)["journal"])
    before, written = store_bytes(running), journal.read_bytes()
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))  # the admin answers no
    assert main(["rollback", str(journal), "--dry-run", *where]) == 0
    assert main(["rollback", str(journal), "--dry-run", "--json", *where]) == 0
    assert main(["rollback", str(journal), *where]) == 0  # answered no
    assert "Nothing was changed" in capsys.readouterr().out
    assert store_bytes(running) == before
    assert journal.read_bytes() == written


class _Terminal(io.StringIO):
    """Standard input as a terminal where the admin types `text`."""

    def isatty(self) -> bool:
        return True
