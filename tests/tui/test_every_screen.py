"""Every screen of the flow at 80x24, the smallest size the wizard supports: each Tab stop shows
that it has the focus, and nothing is below the fold without a visible cue saying so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.containers import Container, ScrollableContainer
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Static

from tests.engine.helpers import ids
from tests.tui.conftest import screen_text, settle, wizard_for
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.tui.flow import FLOW
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.confirm import ConfirmModal
from wizard.tui.screens.done import DoneScreen
from wizard.tui.widgets.cued_scroll import CuedScroll

SIZE = (80, 24)


def look(pilot: Pilot[Any]) -> list[Strip]:
    """What the terminal shows: characters and their styles, after the app's filters (with
    NO_COLOR, the one that takes every colour away)."""
    app = pilot.app
    background = app.screen.styles.background
    shown = []
    for strip in app.screen._compositor.render_strips():
        for line_filter in app._filters:
            strip = strip.apply_filter(line_filter, background)
        shown.append(strip)
    return shown


def part(strips: list[Strip], region: Region) -> list[tuple[Any, ...]]:
    return [tuple(strip.crop(region.x, region.right)) for strip in strips[region.y : region.bottom]]


async def unmarked_tab_stops(pilot: Pilot[Any]) -> list[str]:
    """The Tab stops that look the same with and without the focus."""
    screen = pilot.app.screen
    screen.set_focus(None)
    await pilot.pause()
    blurred = look(pilot)
    unmarked = []
    for widget in list(screen.focus_chain):
        screen.set_focus(widget)
        await pilot.pause()
        region = widget.region.intersection(screen.region)
        if part(look(pilot), region) == part(blurred, region):
            unmarked.append(f"{type(widget).__name__}#{widget.id or ''}")
    screen.set_focus(None)
    return unmarked


def below_the_fold(pilot: Pilot[Any]) -> list[str]:
    """Widgets (not wholly) in sight with no cue saying there is more: in a scroll region that
    does not say "more below", or off the screen altogether."""
    screen = pilot.app.screen
    visible = screen._compositor.visible_widgets
    hidden = []
    for widget in screen.query(Widget):
        if isinstance(widget, (Container, ScrollableContainer, Footer)) or not widget.id or not widget.display:
            continue
        if any(not a.display for a in widget.ancestors if isinstance(a, Widget)):
            continue
        if not widget.region.height or not widget.region.width:
            continue
        region, clip = visible.get(widget, (widget.region, Region()))
        if region.intersection(clip).height >= region.height:
            continue
        if any(isinstance(a, CuedScroll) and a.more_below for a in widget.ancestors):
            continue
        hidden.append(f"{type(widget).__name__}#{widget.id}")
    return hidden


async def check(pilot: Pilot[Any], seen: dict[str, list[str]]) -> None:
    name = type(pilot.app.screen).__name__
    seen[f"{name}: unmarked Tab stops"] = await unmarked_tab_stops(pilot)
    seen[f"{name}: below the fold, no cue"] = below_the_fold(pilot)


@pytest.mark.parametrize("colours", ["true colour", "NO_COLOR"])
async def test_every_screen_marks_its_focus_and_shows_what_is_below_the_fold(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colours: str
) -> None:
    if colours == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    i = ids(demo)
    plan = Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-every-screen", tags={"owner": "data", "cost-center": "cc-4711"}),
        [RoleRequest("Storage Blob Data Reader"), RoleRequest("Key Vault Secrets User", i["vault"])],
        AppTarget(i["app"], "runner"),
    )
    app = wizard_for(demo, tmp_path, plan=plan)
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(5):  # sign in, identity, roles, container app, review
            await check(pilot, seen)
            await pilot.press("ctrl+n")
            await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await check(pilot, seen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ApplyScreen)
        await check(pilot, seen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)
        await check(pilot, seen)
        await pilot.press("f1")
        await pilot.pause()
        await check(pilot, seen)
    assert len(seen) == 2 * (len(FLOW) + 2)
    assert {k: v for k, v in seen.items() if v} == {}


async def test_fifty_tags_fit_with_their_count_and_the_last_in_reach(demo, tmp_path: Path) -> None:
    i = ids(demo)
    tags = {f"tag{n:02}": f"value {n}" for n in range(50)}
    app = wizard_for(demo, tmp_path, plan=Plan(i["sub"], IdentitySpec("rg-runner", "id-many-tags", tags=tags)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert below_the_fold(pilot) == []
        assert "Tags (50)" in str(pilot.app.screen.query_one("#tags-label", Static).render())
        table = pilot.app.screen.query_one("#tag-table")
        table.focus()
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert "tag49" in str(table.get_row_at(table.cursor_row))  # type: ignore[attr-defined]
        assert "tag49" in screen_text(pilot)
