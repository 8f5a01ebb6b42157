"""What a newcomer trips on (issue 13), each through the wizard as they would meet it, at 80x24:
what the screen shows, and what the sandbox then holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, OptionList, Select

from tests.engine.helpers import ids, snapshot
from tests.tui.conftest import screen_text, settle, shown, type_into, wizard_for
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.tui.app import connection_options
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.confirm import ConfirmModal
from wizard.tui.screens.container_app import ContainerAppScreen
from wizard.tui.screens.done import DoneScreen
from wizard.tui.screens.help import HelpModal
from wizard.tui.screens.identity import IdentityScreen
from wizard.tui.screens.review import ReviewScreen
from wizard.tui.screens.roles import RolesScreen
from wizard.tui.screens.rollback_confirm import RollbackConfirm
from wizard.tui.screens.sign_in import SignInScreen
from wizard.tui.widgets.picker import Picker, PickModal

SIZE = (80, 24)
IDENTITIES = "Microsoft.ManagedIdentity/userAssignedIdentities"


def plan_for(running: Any, name: str, **identity: Any) -> Plan:
    i = ids(running)
    return Plan(i["sub"], IdentitySpec("rg-runner", name, **identity), [], AppTarget(i["app"], "runner"))


async def next_step(pilot: Pilot[Any], times: int = 1) -> None:
    for _ in range(times):
        await pilot.press("ctrl+n")
        await settle(pilot)


async def apply_from_review(pilot: Pilot[Any]) -> Any:
    assert isinstance(pilot.app.screen, ReviewScreen), shown(pilot, "#status")
    await pilot.press("ctrl+n")
    await pilot.pause()
    await pilot.press("y")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ApplyScreen)
    return pilot.app.state.outcome  # type: ignore[attr-defined]


def identity_in(running: Any, name: str) -> dict[str, Any]:
    found = snapshot(running, f"{ids(running)['group']}/providers/{IDENTITIES}/{name}")
    assert found is not None, name
    return found


async def test_tags_are_readable_and_editable_at_80x24(demo, tmp_path: Path) -> None:
    tags = {"owner": "data", "cost-center": "cc-4711", "env": "prod"}
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-tagged", tags=tags))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot)
        assert isinstance(app.screen, IdentityScreen)
        screen = screen_text(pilot)
        for key, value in tags.items():
            assert key in screen and value in screen, screen  # whole, on the screen, without scrolling
        # Enter on a tag puts it in the row below to change it; Delete removes one; a new one is added.
        table = app.screen.query_one("#tag-table", DataTable)
        table.focus()
        await pilot.press("enter")
        await type_into(pilot, "#tag-value", "platform")
        table.focus()
        table.move_cursor(row=2)
        await pilot.press("delete")
        await type_into(pilot, "#tag-key", "team")
        await type_into(pilot, "#tag-value", "runners")
        assert "platform" in screen_text(pilot) and "runners" in screen_text(pilot)
        await next_step(pilot, 3)
        outcome = await apply_from_review(pilot)
        assert outcome.status == "applied", outcome.error
    assert identity_in(demo, "id-tagged")["tags"] == {"owner": "platform", "cost-center": "cc-4711", "team": "runners"}


async def test_choosing_never_moves_on_by_itself(demo, tmp_path: Path) -> None:
    """Enter on any list chooses; only Next moves on. Changing one's mind (Up, Enter) is safe."""
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "#subscriptions Input", "Production")
        assert isinstance(app.screen, SignInScreen) and "Chose" in shown(pilot, "#status")
        await next_step(pilot)
        await type_into(pilot, "#groups Input", "rg-runner")
        app.screen.query_one("#existing", OptionList).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        await next_step(pilot)
        await type_into(pilot, "#roles Input", "Storage Blob Data Reader")
        assert isinstance(app.screen, RolesScreen)
        await next_step(pilot)
        await type_into(pilot, "#apps Input", "maia-runner")
        containers = app.screen.query_one("#containers", OptionList)
        assert containers.has_focus  # two containers: the choice comes next, on this screen
        await pilot.press("down", "enter")  # log-shipper
        await settle(pilot)
        await pilot.press("up", "enter")  # no: runner
        await settle(pilot)
        assert isinstance(app.screen, ContainerAppScreen) and containers.has_focus
        assert app.state.container == "runner"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContainerAppScreen)
        await next_step(pilot)
        assert "container runner" in shown(pilot, "#changes")


async def test_quitting_asks_when_anything_would_be_lost(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")  # on the list: a letter for its filter, never Quit
        await pilot.pause()
        assert app.is_running and app.screen.query_one("#subscriptions Input", Input).value == "q"
        await type_into(pilot, "#subscriptions Input", "Production")
        await next_step(pilot)
        await type_into(pilot, "#groups Input", "rg-runner")
        await type_into(pilot, "#name", "id-not-yet", submit=False)
        app.screen.query_one("#existing", OptionList).focus()
        await pilot.press("q")  # on a list with nothing to type into
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, IdentityScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "lose your choices" in shown(pilot, "#question")
        await pilot.press("n")
        await pilot.pause()
        # The command palette's Quit asks the same.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"quit")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ConfirmModal), type(app.screen)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_quitting_with_nothing_to_lose_quits_at_once(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def pick_region(pilot: Pilot[Any], typed: str) -> None:
    """Enter on the region, type to filter the subscription's regions, Enter on the first."""
    pilot.app.screen.query_one("#location").focus()
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, PickModal)
    await pilot.press(*typed, "enter")
    await settle(pilot)


async def test_the_region_is_one_the_subscription_offers(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-regional", location="marsnorth"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot)
        assert "✗ Region marsnorth is not offered here" in shown(pilot, "#location")
        await next_step(pilot)
        assert isinstance(app.screen, IdentityScreen) and "region" in shown(pilot, "#status")
        picker = app.screen.query_one("#location", Picker)
        offered = [c.value for c in picker.choices]
        assert {"westeurope", "northeurope", "uksouth"} <= set(offered) and "marsnorth" not in offered
        await pick_region(pilot, "west europe")  # the group's: from now on the region follows the group
        assert "West Europe (the group's)" in shown(pilot, "#location") and app.state.location is None
        await type_into(pilot, "#groups Input", "rg-data")  # in northeurope
        assert "North Europe (the group's)" in shown(pilot, "#location")
        await pick_region(pilot, "uksouth")
        await type_into(pilot, "#groups Input", "rg-runner")
        assert "UK South" in shown(pilot, "#location")  # picked: it no longer follows the group
        await next_step(pilot, 3)
        outcome = await apply_from_review(pilot)
        assert outcome.status == "applied", outcome.error
    assert identity_in(demo, "id-regional")["location"] == "uksouth"


async def test_a_failed_apply_shows_its_retries_and_offers_only_what_works(demo, tmp_path: Path) -> None:
    i = ids(demo)
    plan = plan_for(demo, "id-bumpy")
    plan.role_assignments = [RoleRequest("Storage Blob Data Reader")]
    # The command line it was started with: hints must carry these, or a copied one goes elsewhere.
    options = connection_options(arm_endpoint=demo.info.arm_endpoint, ca_bundle=demo.info.ca_bundle)
    app = wizard_for(demo, tmp_path, plan=plan, options=options)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, 4)
        demo.sandbox.faults.add("503,route=userAssignedIdentities,method=PUT,times=2")
        demo.sandbox.faults.add("lro-fail,route=containerApps,times=5")
        outcome = await apply_from_review(pilot)
        assert outcome.status == "failed"
        retries = shown(pilot, "#retries")
        assert "create managed identity id-bumpy" in retries and "503" in retries, retries
        assert "(2 retries)" in shown(pilot, "#steps")
        # No way forward that does nothing: no Next button, no ctrl+n in the footer.
        assert not app.screen.query_one("#next").display
        assert "^n" not in screen_text(pilot).splitlines()[-1]
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ApplyScreen)
        await pilot.click("#quit")  # Quit asks: what was written stays, unless rolled back
        await pilot.pause()
        question = shown(pilot, "#question")
        assert isinstance(app.screen, ConfirmModal) and "rollback" in question
        hint = question.split("`")[1].replace(" ", "")  # as drawn: a long path wraps
        assert hint.startswith("runner-identityrollback") and str(outcome.journal) in hint, question
        assert f"--arm-endpoint{demo.info.arm_endpoint}--ca-bundle{demo.info.ca_bundle}" in hint, question
        await pilot.press("n")
        await pilot.pause()
        demo.sandbox.faults.clear()
        await pilot.press("u")  # roll back: the list to confirm first, then y
        for _ in range(200):
            if isinstance(app.screen, RollbackConfirm):
                break
            await pilot.pause(0.02)
        await pilot.press("y")
        await settle(pilot)
        undone = shown(pilot, "#error")
        assert "role assignment 'Storage Blob Data Reader'" in undone and "managed identity id-bumpy" in undone
        assert "role:" not in undone and "/providers/" not in undone, undone
        await pilot.click("#quit")  # nothing left to lose: the plan came from a file, Azure is as it was
        await pilot.pause()
    assert app.return_code == 1  # not applied
    assert snapshot(demo, f"{i['group']}/providers/{IDENTITIES}/id-bumpy") is None


async def test_a_failed_device_code_sign_in_is_not_told_to_use_device_code(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    app = wizard_for(demo, tmp_path, device_code=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = shown(pilot, "#who")
        assert "Sign-in failed" in text and "code" in text
        assert "--device-code" not in text and "Credential" not in text, text


async def test_switching_subscription_or_group_keeps_what_applies_and_says_what_it_drops(
    demo, tmp_path: Path
) -> None:
    i = ids(demo)
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "#subscriptions Input", "Production")
        await next_step(pilot)
        await type_into(pilot, "#groups Input", "rg-runner")
        await type_into(pilot, "#name", "id-moving", submit=False)
        await type_into(pilot, "#tag-key", "owner")
        await type_into(pilot, "#tag-value", "data")
        await next_step(pilot)
        app.screen.query_one("#scope", Select).value = i["vault"]
        await type_into(pilot, "#roles Input", "Key Vault Secrets User")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await type_into(pilot, "#subscriptions Input", "Dev/Test")
        await next_step(pilot)
        assert isinstance(app.screen, IdentityScreen)
        assert app.screen.query_one("#name", Input).value == "id-moving"
        assert "owner" in shown(pilot, "#tag-table")
        status = shown(pilot, "#status")
        assert "Dropped" in status and "Key Vault Secrets User" in status and "rg-runner" in status, status
        # A role chosen at the group stays at that group when the group changes, and says so.
        await type_into(pilot, "#groups Input", "rg-dev-runner")
        await next_step(pilot)
        await type_into(pilot, "#roles Input", "Storage Blob Data Reader")
        await pilot.press("escape")
        await settle(pilot)
        await type_into(pilot, "#groups Input", "rg-experiments")
        status = shown(pilot, "#status")
        assert "Storage Blob Data Reader" in status and "stay at rg-dev-runner" in status, status
        assert app.state.to_plan().role_assignments[0].scope.endswith("/resourceGroups/rg-dev-runner")


async def test_texts_say_what_happened(demo, tmp_path: Path) -> None:
    """A plan without a container, for an app with one, chooses it; a rerun that changes nothing
    makes no new revision and says so."""
    i = ids(demo)
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-legacy-runner"), [], AppTarget(i["staging"]))
    app = wizard_for(demo, tmp_path, plan=plan)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, 3)
        assert isinstance(app.screen, ContainerAppScreen)
        assert app.state.container == "runner"
        await next_step(pilot)
        outcome = await apply_from_review(pilot)
        assert outcome.status == "nothing to do"
        await next_step(pilot)
        assert isinstance(app.screen, DoneScreen)
        text = screen_text(pilot)
        assert "New revision" not in text and "unchanged" in text, text


async def test_help_says_what_each_step_does(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-helped"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")  # on the subscription list: help, not a letter for its filter
        await pilot.pause()
        assert isinstance(app.screen, HelpModal) and "subscription" in shown(pilot, "#help-text")
        await pilot.press("escape")
        await next_step(pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = shown(pilot, "#help-text")
        assert "client ID" in text and "principal ID" in text
        assert "Managed Identities" in shown(pilot, "#help-portal")


async def test_text_from_azure_cannot_restyle_the_screen(demo, tmp_path: Path) -> None:
    """A variable's value with markup and an escape sequence shows as it is, in the list and the diff."""
    i = ids(demo)
    hostile = "[bold red]evil[/]\x1b[2J"

    def plant() -> None:
        app = demo.store.get(i["app"])
        app["properties"]["template"]["containers"][0]["env"].append({"name": "AZURE_CLIENT_ID", "value": hostile})

    demo.thread.call(plant)
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-safe"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, 3)
        assert "[bold red]evil[/]\\x1b[2J" in screen_text(pilot)
        await next_step(pilot)
        changes = shown(pilot, "#changes")
        assert "AZURE_CLIENT_ID=[bold red]evil[/]\\x1b[2J" in changes, changes
        assert "\x1b" not in screen_text(pilot)


async def test_apply_says_why_it_waits_on_a_busy_app(demo, tmp_path: Path) -> None:
    """Someone else's update running on the app: the rows say so, with why, and the note stays."""
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-patient"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, 4)
        demo.sandbox.faults.add("busy,route=maia-runner,times=4")
        outcome = await apply_from_review(pilot)
        assert outcome.status == "applied", outcome.error
        notes = shown(pilot, "#retries")
        assert "link id-patient to maia-runner" in notes and "another update is running" in notes, notes
    assert identity_in(demo, "id-patient") is not None


async def test_keys_pressed_while_a_list_loads_go_where_the_admin_sees_them(demo, tmp_path: Path) -> None:
    """The groups are slow to come: what is typed meanwhile lands in the fields shown (the list's
    filter, then Tab to the name), and the list's arrival takes no focus from the name."""
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        demo.sandbox.faults.add("latency,route=resourcegroups,ms=1500")
        app.screen.query_one("#subscriptions Input", Input).value = "Dev/Test"  # not read yet, unlike the default
        await pilot.press("enter", "ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, IdentityScreen) and app.state.catalog is None  # still loading
        await pilot.press(*"rg-dev", "tab")
        await pilot.press(*"id-early")
        assert app.screen.query_one("#groups Input", Input).value == "rg-dev"
        assert app.screen.query_one("#name", Input).value == "id-early"
        await settle(pilot)
        assert app.state.catalog is not None
        await pilot.press(*"-bird")
        assert app.screen.query_one("#name", Input).value == "id-early-bird"
        assert "rg-dev-runner" in shown(pilot, "#groups OptionList")  # filtered by what was typed


def cut_labels(pilot: Pilot[Any]) -> list[str]:
    """The labels on the screen cut short: wider or taller than what their column shows of them."""
    visible = pilot.app.screen._compositor.visible_widgets
    cut = []
    for label in pilot.app.screen.query(Label):
        if label not in visible:
            continue
        region, clip = visible[label]
        if region.intersection(clip).size != region.size:
            cut.append(" ".join(label.render().plain.split()))  # type: ignore[union-attr]
    return cut


async def test_no_label_is_cut_at_80_columns(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-labelled"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = {}
        for _ in range(4):  # sign in, identity (no tags yet), roles, container app
            seen[type(app.screen).__name__] = cut_labels(pilot)
            await next_step(pilot)
        assert {k: v for k, v in seen.items() if v} == {}


async def test_the_subscription_list_stars_a_default_only_when_there_is_one(demo, tmp_path: Path) -> None:
    """Typed while the subscriptions load, a filter shows as typed; the label promises a ★ only
    when one subscription carries it."""
    demo.sandbox.faults.add("latency,route=^GET /subscriptions$,ms=1500")
    app = wizard_for(demo, tmp_path, default_subscription=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert not app.state.subscriptions  # still loading
        await pilot.press(*"dev")
        assert "dev" in screen_text(pilot)
        await settle(pilot)
        assert "★" not in screen_text(pilot), screen_text(pilot)
        assert "Contoso Dev/Test" in shown(pilot, "#subscriptions OptionList")
        assert "Production" not in shown(pilot, "#subscriptions OptionList")
