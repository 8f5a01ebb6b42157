"""The whole wizard against the sandbox: what the screens show, and what Azure then holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Select, Static

from tests.engine.helpers import ids, snapshot
from tests.tui.conftest import settle, type_into, wizard_for
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.container_app import ContainerAppScreen
from wizard.tui.screens.done import DoneScreen
from wizard.tui.screens.identity import IdentityScreen
from wizard.tui.screens.review import ReviewScreen
from wizard.tui.screens.roles import RolesScreen

SIZE = (120, 40)


async def choose_subscription(pilot: Pilot[Any], name: str = "Production") -> None:
    await settle(pilot)
    await type_into(pilot, "#subscriptions Input", name)
    assert isinstance(pilot.app.screen, IdentityScreen)


async def fill_identity(pilot: Pilot[Any], group: str, name: str) -> None:
    await type_into(pilot, "#groups Input", group)
    await type_into(pilot, "#name", name, submit=False)
    await pilot.press("ctrl+n")
    await settle(pilot)


async def add_role(pilot: Pilot[Any], role: str, scope: str | None = None) -> None:
    if scope is not None:
        pilot.app.screen.query_one("#scope", Select).value = scope
    await type_into(pilot, "#roles Input", role)


async def choose_app(pilot: Pilot[Any], app: str, container_down: int = 1) -> None:
    assert isinstance(pilot.app.screen, ContainerAppScreen)
    await type_into(pilot, "#apps Input", app)
    for _ in range(container_down):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def review_and_apply(pilot: Pilot[Any]) -> Any:
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewScreen)
    await pilot.press("ctrl+n")  # the confirmation
    await pilot.pause()
    await pilot.press("y")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ApplyScreen)
    return pilot.app.state.outcome  # type: ignore[attr-defined]


async def test_new_identity_with_a_vault_role_on_an_app_with_two_containers(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await fill_identity(pilot, "rg-runner", "id-tui-runner")
        assert isinstance(app.screen, RolesScreen)
        await add_role(pilot, "Key Vault Secrets User", i["vault"])
        assert [(r.role, r.scope) for r in app.state.roles] == [("Key Vault Secrets User", i["vault"])]
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        assert app.state.container == "runner"
        env_flag = str(app.screen.query_one("#env-flag", Static).render())
        assert "AZURE_CLIENT_ID" not in env_flag
        outcome = await review_and_apply(pilot)
        assert outcome.status == "applied", outcome.error
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert outcome.identity.client_id in text

    identity = snapshot(demo, f"{i['group']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-tui-runner")
    held = snapshot(demo, i["app"])
    runner, shipper = held["properties"]["template"]["containers"]
    assert {"name": "AZURE_CLIENT_ID", "value": identity["properties"]["clientId"]} in runner["env"]
    assert all(e["name"] != "AZURE_CLIENT_ID" for e in shipper["env"])
    assert held["identity"]["type"] == "SystemAssigned,UserAssigned"
    assigned = [
        a
        for a in demo.store.of_type("Microsoft.Authorization/roleAssignments")
        if a["properties"]["principalId"] == identity["properties"]["principalId"]
    ]
    assert [a["properties"]["scope"] for a in assigned] == [i["vault"]]


async def test_reusing_an_existing_identity(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await type_into(pilot, "#groups Input", "rg-runner")
        await type_into(pilot, "#name", "id-legacy-runner", submit=False)
        check = str(app.screen.query_one("#name-check", Static).render())
        assert "exists: will be reused" in check
        await pilot.press("ctrl+n")
        await settle(pilot)
        existing = str(app.screen.query_one("#existing", Static).render())
        assert "Key Vault Secrets User" in existing  # what the reused identity already holds
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "applied"
        assert outcome.step_plan.steps[0].action == "unchanged"
    legacy = snapshot(demo, i["legacy_identity"])
    env = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]["env"]
    assert {"name": "AZURE_CLIENT_ID", "value": legacy["properties"]["clientId"]} in env
    assert len([r for r in demo.store.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")]) == 1


async def test_going_back_and_changing_a_choice(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await fill_identity(pilot, "rg-runner", "id-first-name")
        await pilot.press("escape")  # back to the identity screen, choices kept
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert app.screen.query_one("#name").value == "id-first-name"  # type: ignore[attr-defined]
        await type_into(pilot, "#name", "id-second-name", submit=False)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "applied"
    base = f"{i['group']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    assert snapshot(demo, f"{base}/id-second-name") is not None
    assert snapshot(demo, f"{base}/id-first-name") is None


async def test_a_failure_at_apply_then_retry(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await fill_identity(pilot, "rg-runner", "id-retry-runner")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        demo.sandbox.faults.add("lro-fail,times=1")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "failed"
        error = str(app.screen.query_one("#error", Static).render())
        assert "ContainerAppOperationFailed" in error
        assert app.screen.query_one("#recovery").display
        await pilot.click("#retry")
        await settle(pilot)
        assert app.state.outcome.status == "applied"
    identity = snapshot(
        demo, f"{i['group']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-retry-runner"
    )
    env = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]["env"]
    assert {"name": "AZURE_CLIENT_ID", "value": identity["properties"]["clientId"]} in env


async def test_a_caller_without_rights_is_warned_at_the_roles_screen(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot, "Dev/Test")
        await fill_identity(pilot, "rg-dev-runner", "id-dev-runner")
        await add_role(pilot, "Key Vault Secrets User")
        await settle(pilot)
        flags = str(app.screen.query_one("#flags", Static).render())
        assert "you cannot assign roles at rg-dev-runner" in flags
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner-dev", container_down=0)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)  # apply refused: nothing to confirm
    assert demo.sandbox.writes() == []


async def test_a_plan_file_prefills_every_screen(demo, tmp_path: Path) -> None:
    from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest

    i = ids(demo)
    plan = Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-from-plan", tags={"owner": "data"}),
        [RoleRequest("Key Vault Secrets User", i["vault"])],
        AppTarget(i["app"], "runner"),
    )
    app = wizard_for(demo, tmp_path, plan=plan)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")  # the plan's subscription is already chosen
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert app.screen.query_one("#name").value == "id-from-plan"  # type: ignore[attr-defined]
        for _ in range(3):
            await pilot.press("ctrl+n")
            await settle(pilot)
        assert isinstance(app.screen, ReviewScreen), app.screen.query_one("#status", Static).render()
        assert app.screen.step_plan is not None
        assert app.screen.step_plan.plan == plan
