"""Resource providers: the SDK never registers one on its own; an unregistered provider is a step in
the diff that the admin confirms (and the journal records), or a stop naming the az command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine.helpers import applier, caller_with_custom_role, gateway, runner_plan, snapshot
from wizard.azure.errors import GatewayError
from wizard.cli import main
from wizard.journal import read_events
from wizard.steps import render_text

MSI = "Microsoft.ManagedIdentity"


def _registrations(running: Any) -> list[Any]:
    return [w for w in running.sandbox.writes() if w[0] == "POST" and w[1].lower().endswith("/register")]


async def test_the_sdk_does_not_register_a_provider_on_its_own(start_sandbox: Any) -> None:
    running = start_sandbox(unregistered=(MSI,))
    async with gateway(running) as gw:
        with pytest.raises(GatewayError) as caught:
            await gw.create_identity(running.prod, "rg-runner", "id-unregistered", "westeurope", {})
    assert caught.value.code == "MissingSubscriptionRegistration"
    assert _registrations(running) == []


async def test_the_preview_shows_the_registration_and_apply_makes_it_journaled(
    start_sandbox: Any, tmp_path: Path
) -> None:
    running = start_sandbox(unregistered=(MSI, "Microsoft.App"))
    plan = runner_plan(running)
    async with gateway(running) as gw:
        preview = await applier(gw, tmp_path).preview(plan)
        assert not preview.problems, preview.problems
        kinds = [(s.id, s.action) for s in preview.steps[:2]]
        assert kinds == [(f"provider:{MSI}", "create"), ("provider:Microsoft.App", "create")]
        text = render_text(preview)
        assert f"az provider register --namespace {MSI} --subscription {running.prod}" in text
        assert _registrations(running) == []  # reading is not registering
        outcome = await applier(gw, tmp_path).apply(plan, preview)
    assert outcome.status == "applied", outcome.error
    assert len(_registrations(running)) == 2
    assert snapshot(running, plan.identity_id) is not None
    events = read_events(outcome.journal)  # type: ignore[arg-type]
    registered = [(e["event"], e["step"]) for e in events if e.get("action") == "register"]
    assert registered == [
        ("begin", f"provider:{MSI}"),
        ("done", f"provider:{MSI}"),
        ("begin", "provider:Microsoft.App"),
        ("done", "provider:Microsoft.App"),
    ]


async def test_a_caller_who_may_not_register_is_stopped_with_the_command(start_sandbox: Any, tmp_path: Path) -> None:
    running = start_sandbox(unregistered=(MSI,))
    caller_with_custom_role(running, "Owner without provider registration", [f"{MSI}/register/action"])
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(running))
    assert outcome.status == "blocked"
    [problem] = outcome.step_plan.problems
    assert f"`az provider register --namespace {MSI} --subscription {running.prod}`" in problem
    assert running.sandbox.writes() == []


def test_dry_run_and_an_unconfirmed_apply_register_nothing(
    start_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    running = start_sandbox(unregistered=(MSI,))
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    runner_plan(running).save(tmp_path / "plan.toml")
    where = ["--arm-endpoint", running.info.arm_endpoint, "--ca-bundle", running.info.ca_bundle]
    assert main(["apply", str(tmp_path / "plan.toml"), "--dry-run", *where]) == 0
    assert f"register the resource provider {MSI}" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["apply", str(tmp_path / "plan.toml"), *where]) == 2  # no --yes, no terminal: nothing confirmed
    assert running.sandbox.writes() == []
