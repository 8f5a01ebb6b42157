"""The wizard's Roll back: the same plan as `runner-identity rollback` (same code, same list), and
what Azure holds afterwards, role assignments included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.engine.helpers import gateway, ids, snapshot
from tests.tui.conftest import settle, shown, wizard_for
from tests.tui.test_flow import next_to_the_app_screen, review_and_apply
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.rollback import plan_rollback, read_run, render_text
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.rollback_confirm import RollbackConfirm

SIZE = (100, 30)
RA = "Microsoft.Authorization/roleAssignments"


async def until(pilot: Pilot[Any], ready: Callable[[], bool]) -> None:
    """Pause until `ready()`: a worker that waits on a modal never completes, so settle() cannot."""
    for _ in range(200):
        if ready():
            return
        await pilot.pause(0.02)
    raise AssertionError("the screen never got there")


async def apply_through_the_wizard(pilot: Pilot[Any]) -> Any:
    await next_to_the_app_screen(pilot)
    return await review_and_apply(pilot)


async def test_retry_then_roll_back_undoes_every_attempt_after_showing_the_cli_list(demo, tmp_path: Path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-retried-runner"),
        [RoleRequest("Storage Blob Data Reader")],
        AppTarget(i["app"], "runner"),
    )
    app = wizard_for(demo, tmp_path, plan=plan)
    async with app.run_test(size=SIZE) as pilot:
        demo.sandbox.faults.add("lro-fail,route=containerApps,times=1000")
        first = await apply_through_the_wizard(pilot)
        assert first.status == "failed"
        principal = first.identity.principal_id
        await pilot.click("#retry")  # the second attempt fails at the app again
        await settle(pilot)
        assert app.state.outcome.status == "failed"
        assert app.state.outcome.journal == first.journal  # one run
        demo.sandbox.faults.clear()

        await pilot.press("u")  # Roll back: the list first
        await until(pilot, lambda: isinstance(app.screen, RollbackConfirm))
        async with gateway(demo) as gw:
            expected = render_text(await plan_rollback(gw, read_run(first.journal)))
        assert shown(pilot, "#rollback-list") == " ".join(expected.split())  # the CLI's lines, word for word
        assert "delete managed identity id-retried-runner" in expected
        assert "delete role assignment 'Storage Blob Data Reader'" in expected
        await pilot.press("y")
        await settle(pilot)
        assert "Rolled back" in shown(pilot, "#status")
        assert "done" in shown(pilot, "#error")
    assert snapshot(demo, plan.identity_id) is None
    assert [a for a in demo.store.of_type(RA) if a["properties"]["principalId"] == principal] == []
    after = snapshot(demo, i["app"])
    assert after["identity"] == before["identity"]
    assert after["properties"]["template"] == before["properties"]["template"]


async def test_roll_back_cancelled_writes_nothing(demo, tmp_path: Path) -> None:
    i = ids(demo)
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-kept-runner"), [], AppTarget(i["app"], "runner"))
    app = wizard_for(demo, tmp_path, plan=plan)
    async with app.run_test(size=SIZE) as pilot:
        demo.sandbox.faults.add("lro-fail,route=containerApps,times=1000")
        outcome = await apply_through_the_wizard(pilot)
        assert outcome.status == "failed"
        demo.sandbox.faults.clear()
        writes = len(demo.sandbox.writes())
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, RollbackConfirm))
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ApplyScreen)
        assert "Nothing was rolled back" in shown(pilot, "#status")
        assert len(demo.sandbox.writes()) == writes
    assert snapshot(demo, plan.identity_id) is not None
