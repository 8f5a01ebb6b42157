"""The whole wizard against the sandbox: what the screens show, and what Azure then holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select

from tests.engine.helpers import ids, snapshot
from tests.tui.conftest import settle, shown, type_into, wizard_for
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.tui.app import RunnerIdentityApp
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.confirm import ConfirmModal
from wizard.tui.screens.container_app import ContainerAppScreen
from wizard.tui.screens.done import DoneScreen
from wizard.tui.screens.identity import IdentityScreen
from wizard.tui.screens.review import ReviewScreen
from wizard.tui.screens.roles import RolesScreen
from wizard.tui.screens.sign_in import SignInScreen
from wizard.tui.widgets.filter_list import FilterList, Item

SIZE = (80, 24)  # the smallest size the wizard supports: what is reachable there is reachable anywhere
IDENTITIES = "Microsoft.ManagedIdentity/userAssignedIdentities"


async def choose_subscription(pilot: Pilot[Any], name: str = "Production") -> None:
    await settle(pilot)
    await type_into(pilot, "#subscriptions Input", name)
    await pilot.press("ctrl+n")
    await settle(pilot)
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


async def choose_app(pilot: Pilot[Any], app: str, container_down: int = 0) -> None:
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
    assert isinstance(pilot.app.screen, ConfirmModal)
    await pilot.press("y")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ApplyScreen)
    return pilot.app.state.outcome  # type: ignore[attr-defined]


def plan_for(running: Any, name: str) -> Plan:
    """A new identity in rg-runner for maia-runner's runner container, no roles (`--plan`)."""
    return Plan(ids(running)["sub"], IdentitySpec("rg-runner", name), [], AppTarget(ids(running)["app"], "runner"))


async def next_to_the_app_screen(pilot: Pilot[Any]) -> None:
    """With a plan: Next through the prefilled sign-in, identity and roles screens."""
    await settle(pilot)
    for _ in range(3):
        await pilot.press("ctrl+n")
        await settle(pilot)
    assert isinstance(pilot.app.screen, ContainerAppScreen)


def identity_in(running: Any, name: str) -> dict[str, Any] | None:
    return snapshot(running, f"{ids(running)['group']}/providers/{IDENTITIES}/{name}")


async def test_new_identity_with_a_vault_role_on_an_app_with_two_containers(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        assert app.state.catalog is not None and app.state.catalog_ready  # prefetched while on screen 1
        await fill_identity(pilot, "rg-runner", "id-tui-runner")
        assert isinstance(app.screen, RolesScreen)
        await add_role(pilot, "Key Vault Secrets User", i["vault"])
        assert [(r.role, r.scope) for r in app.state.roles] == [("Key Vault Secrets User", i["vault"])]
        assert "✗" not in shown(pilot, "#flags")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        assert app.state.container == "runner"
        env = app.screen.query_one("#env")
        assert "(secret: agent-token)" in str(env.get_row_at(2))  # type: ignore[attr-defined]
        assert "will be added" in shown(pilot, "#env-flag")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "applied", outcome.error
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)
        assert outcome.identity.client_id in shown(pilot, ".copy-value")
        await pilot.press("c")
        assert app.clipboard == outcome.identity.client_id

    identity = identity_in(demo, "id-tui-runner")
    assert identity is not None
    held = snapshot(demo, i["app"])
    runner, shipper = held["properties"]["template"]["containers"]
    assert {"name": "AZURE_CLIENT_ID", "value": identity["properties"]["clientId"]} in runner["env"]
    assert all(e["name"] != "AZURE_CLIENT_ID" for e in shipper["env"])
    assert held["identity"]["type"] == "SystemAssigned,UserAssigned"  # the system-assigned identity is kept
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
        # Enter on the existing identity fills in its name.
        app.screen.query_one("#existing", OptionList).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#name", Input).value == "id-legacy-runner"
        assert "exists: it will be reused" in shown(pilot, "#name-check")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert "Key Vault Secrets User" in shown(pilot, "#existing")  # what the reused identity holds
        await add_role(pilot, "Key Vault Secrets User", i["vault"])
        assert "held already" in str(app.screen.query_one("#requests", OptionList).get_option_at_index(0).prompt)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "applied"
        assert [s.action for s in outcome.step_plan.steps][:2] == ["unchanged", "unchanged"]
    legacy = snapshot(demo, i["legacy_identity"])
    env = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]["env"]
    assert {"name": "AZURE_CLIENT_ID", "value": legacy["properties"]["clientId"]} in env
    assert len(list(demo.store.of_type(IDENTITIES))) == 1  # nothing new was created


async def test_going_back_and_changing_a_choice(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await fill_identity(pilot, "rg-runner", "id-first-name")
        await add_role(pilot, "Storage Blob Data Reader")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ContainerAppScreen)
        await pilot.press("escape")  # back to roles, then identity: every choice kept
        await settle(pilot)
        assert [r.role for r in app.state.roles] == ["Storage Blob Data Reader"]
        assert "Storage Blob Data Reader" in str(
            app.screen.query_one("#requests", OptionList).get_option_at_index(0).prompt
        )
        await pilot.click("#back")
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert app.screen.query_one("#name", Input).value == "id-first-name"
        await type_into(pilot, "#name", "id-second-name", submit=False)
        await pilot.press("escape")  # to the subscriptions and forward again: the new name is kept too
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.query_one("#name", Input).value == "id-second-name"
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "applied"
    assert identity_in(demo, "id-second-name") is not None
    assert identity_in(demo, "id-first-name") is None
    assert i["group"] in [
        a["properties"]["scope"] for a in demo.store.of_type("Microsoft.Authorization/roleAssignments")
    ]


async def test_a_failure_at_apply_then_retry(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await fill_identity(pilot, "rg-runner", "id-retry-runner")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner")
        demo.sandbox.faults.add("lro-fail,route=containerApps,times=5")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "failed"
        error = shown(pilot, "#error")
        assert "Could not update container app maia-runner" in error and "ContainerAppOperationFailed" in error
        assert "Traceback" not in error
        assert "Journal:" in shown(pilot, "#journal")
        assert app.screen.query_one("#recovery").display
        assert identity_in(demo, "id-retry-runner") is not None  # done before the failed step, and kept
        demo.sandbox.faults.clear()
        await pilot.click("#retry")
        await settle(pilot)
        assert app.state.outcome.status == "applied", app.state.outcome.error
        assert app.state.outcome.step_plan.steps[0].action == "unchanged"  # resumed, not redone
    identity = identity_in(demo, "id-retry-runner")
    assert identity is not None
    env = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]["env"]
    assert {"name": "AZURE_CLIENT_ID", "value": identity["properties"]["clientId"]} in env


async def test_a_failure_at_apply_then_roll_back(demo, tmp_path: Path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-undone-runner"))
    async with app.run_test(size=SIZE) as pilot:
        await next_to_the_app_screen(pilot)
        demo.sandbox.faults.add("lro-fail,route=containerApps,times=5")
        outcome = await review_and_apply(pilot)
        assert outcome.status == "failed"
        demo.sandbox.faults.clear()
        await pilot.press("u")  # Roll back: the list to confirm (tests/tui/test_rollback.py), then y
        for _ in range(100):
            if not isinstance(app.screen, ApplyScreen):
                break
            await pilot.pause(0.02)
        await pilot.press("y")
        await settle(pilot)
        assert "done" in shown(pilot, "#error")
        assert "Rolled back" in shown(pilot, "#status")
    assert identity_in(demo, "id-undone-runner") is None
    after = snapshot(demo, i["app"])
    assert after["properties"]["template"]["containers"] == before["properties"]["template"]["containers"]


async def test_a_caller_without_rights_is_warned_at_the_roles_screen(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot, "Dev/Test")
        await fill_identity(pilot, "rg-dev-runner", "id-dev-runner")
        await add_role(pilot, "Key Vault Secrets User")
        await settle(pilot)
        assert "you cannot assign roles at rg-dev-runner" in shown(pilot, "#flags")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await choose_app(pilot, "maia-runner-dev", container_down=0)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert "Cannot apply" in shown(pilot, "#changes")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)  # apply refused: nothing to confirm
    assert demo.sandbox.writes() == []


async def test_the_identity_and_roles_screens_check_and_flag_as_you_type(demo, tmp_path: Path) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_subscription(pilot)
        await type_into(pilot, "#groups Input", "rg-runner")
        # The name, checked on every keystroke.
        await type_into(pilot, "#name", "-bad", submit=False, keys=True)
        assert "✗" in shown(pilot, "#name-check")
        await type_into(pilot, "#name", "id-good", submit=False)
        assert "new: it will be created in rg-runner" in shown(pilot, "#name-check")
        # A tag, typed in the row under the table, checked as typed; Next refuses a bad one and says why.
        await type_into(pilot, "#tag-key", "bad/name", submit=False)
        assert "✗" in shown(pilot, "#tag-problem")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert "tags" in shown(pilot, "#status")
        await type_into(pilot, "#tag-key", "owner", submit=False)
        await type_into(pilot, "#tag-value", "platform", submit=False)  # Next adds a valid tag left in the row
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, RolesScreen)
        assert app.state.tags == {"owner": "platform"}
        # Letters typed on a list go to its filter; / comes back to it; up/down/enter choose.
        roles = app.screen.query_one("#roles")
        roles.query_one(OptionList).focus()
        await pilot.press("a", "c", "r", "p", "u", "l")
        await settle(pilot)
        box = roles.query_one(Input)
        assert box.has_focus and box.value == "acrpul"
        assert "AcrPull" in str(roles.query_one(OptionList).get_option_at_index(0).prompt)
        app.screen.query_one("#scope").focus()
        await pilot.press("slash")
        assert box.has_focus
        await pilot.press("down", "up", "enter")
        await settle(pilot)
        assert [r.role for r in app.state.roles] == ["AcrPull"]
        # Flags before review: a privileged role, a Key Vault role on a vault in access-policy mode.
        await add_role(pilot, "Owner")
        await add_role(pilot, "Key Vault Secrets User", i["legacy_vault"])
        flags = shown(pilot, "#flags")
        assert "Owner is privileged" in flags
        assert "kv-legacy-policies uses access policies" in flags
        # The full preset: AcrPull is there already; the vault role goes to the vault chosen as scope.
        await pilot.click("#preset-full")
        await settle(pilot)
        assert [r.role for r in app.state.roles][3:] == [
            "Storage Account Contributor",
            "Storage Blob Data Contributor",
            "Storage Blob Data Reader",
            "Key Vault Secrets Officer",
        ]
        assert app.state.roles[-1].scope == i["legacy_vault"]


async def test_a_plan_file_prefills_every_screen(demo, tmp_path: Path) -> None:
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
        assert app.state.catalog is not None  # the plan's subscription was loaded at once
        await pilot.press("ctrl+n")  # the plan's subscription is already chosen
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert app.screen.query_one("#name", Input).value == "id-from-plan"
        assert "owner" in shown(pilot, "#tag-table")
        for _ in range(3):
            await pilot.press("ctrl+n")
            await settle(pilot)
        assert isinstance(app.screen, ReviewScreen), shown(pilot, "#status")
        assert app.screen.step_plan is not None
        assert app.screen.step_plan.plan == plan
        app.screen.query_one("#plan-path", Input).value = str(tmp_path / "saved.toml")
        await pilot.press("ctrl+s")
        assert Plan.load(tmp_path / "saved.toml") == plan


async def test_quitting_while_apply_writes_asks_first(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-slow-runner"))
    async with app.run_test(size=SIZE) as pilot:
        await next_to_the_app_screen(pilot)
        demo.sandbox.faults.add("latency,route=containerApps,method=PATCH,ms=1000,times=1")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n", "y")
        await pilot.pause(0.2)
        assert app.applying
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # keep going
        await settle(pilot)
        assert isinstance(app.screen, ApplyScreen)
        assert app.state.outcome.status == "applied"
        await pilot.press("ctrl+q")  # apply is over and succeeded: nothing to lose, quits at once
        await pilot.pause()
    assert app.return_code == 0


async def test_a_failed_sign_in_says_how_to_fix_it(demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = shown(pilot, "#who")
        assert "Sign-in failed" in text and "az login" in text and "--device-code" in text
        assert "Traceback" not in text and "Credential" not in text, text  # plain words, not the SDK's
        assert "Try again" in str(app.screen.query_one("#next").label)  # type: ignore[attr-defined]
        for key, value in demo.info.environment().items():
            monkeypatch.setenv(key, value)
        await pilot.press("ctrl+n")  # signed in meanwhile: try again
        await settle(pilot)
        assert "Signed in as" in shown(pilot, "#who")
        assert app.state.subscriptions


async def test_the_sandbox_option_starts_its_own_sandbox(tmp_path: Path) -> None:
    """`runner-identity --sandbox`: no connection given, the app opens an in-process demo tenant."""
    app = RunnerIdentityApp(sandbox=True, journal_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "SANDBOX" in shown(pilot, ".banner")
        assert [s.name for s in app.state.subscriptions if s.is_default] == ["Contoso Production"]
        default = next(s.id for s in app.state.subscriptions if s.is_default)
        assert app.screen.query_one("#subscriptions", FilterList).highlighted_key == default
        await pilot.press("enter", "ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert app.state.catalog is not None and app.state.catalog.groups


def test_the_command_line_opens_the_wizard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import wizard.tui.app as tui_app
    from wizard.cli import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(tui_app, "run_wizard", lambda **kw: calls.append(kw) or 0)
    assert main([]) == 0
    assert main(["--sandbox", "--plan", "plan.toml"]) == 0
    assert main(["--device-code", "--tenant", "contoso.onmicrosoft.com"]) == 0
    assert [c["sandbox"] for c in calls] == [False, True, False]
    assert calls[1]["plan_path"] == Path("plan.toml")
    assert calls[2]["options"].device_code and calls[2]["options"].tenant == "contoso.onmicrosoft.com"


def test_a_plan_file_that_does_not_load_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.tui.app import run_wizard

    bad = tmp_path / "bad.toml"
    bad.write_text("subscription = 1\n")
    assert run_wizard(plan_path=bad) == 2
    assert "runner-identity:" in capsys.readouterr().out


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FilterList(id="list")


async def test_the_list_widget_caps_what_it_draws() -> None:
    """5,000 resource groups: the list draws the first matches and a line saying how many more."""
    app = ListApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lst = app.query_one(FilterList)
        lst.set_items(
            [Item(f"rg-team-{n:04}", f"rg-team-{n:04}  [dim]westeurope[/]", "westeurope") for n in range(5000)]
        )
        await pilot.pause()
        options = lst.option_list
        assert options.option_count == lst.limit + 1
        assert f"{5000 - lst.limit:,} more" in str(options.get_option_at_index(lst.limit).prompt)
        lst.choose("rg-team-4999")  # the chosen item stays in sight, marked
        assert "●" in str(options.get_option_at_index(0).prompt) and lst.highlighted_key == "rg-team-4999"
        lst.query_one(Input).value = "team-0042"
        await pilot.pause()
        assert options.option_count == 1 and lst.highlighted_key == "rg-team-0042"
        lst.query_one(Input).value = "nothing-like-this"
        await pilot.pause()
        assert lst.highlighted_key is None and "nothing matches" in str(options.get_option_at_index(0).prompt)


async def test_apply_reports_the_long_running_operation(start_sandbox: Any, tmp_path: Path) -> None:
    """What the apply screen shows while Azure provisions the new revision: the operation's status."""
    from tests.engine.helpers import applier, gateway
    from wizard.apply import Progress

    running = start_sandbox(lro_polls=2)
    heard: list[Progress] = []
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path, report=heard.append).apply(plan_for(running, "id-polled"))
    assert outcome.status == "applied"
    polling = [(p.step_id, p.message) for p in heard if p.status == "polling"]
    assert ("link", "Azure: InProgress") in polling and ("env", "Azure: InProgress") in polling
    assert [p.status for p in heard if p.step_id == "env"][-1] == "done"
