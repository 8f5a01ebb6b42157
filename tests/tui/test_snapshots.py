"""Every screen at 80x24 and 120x40, compared with its saved SVG (pytest --snapshot-update saves them).

The demo tenant's ids come from a fixed seed, and the flows here reuse the demo's existing identity,
so every id on screen is the same on every run. The journal's file name (it carries the time) and
the durations on the apply screen are the only things that vary: they are masked before the
picture is taken.

The first four screens are reached by typing, as an admin does; the last four from a plan file
(`runner-identity --plan`, the same choices), which keeps this module quick. A few more, at 80x24
only: a 16-colour terminal, a failed apply, the help panel and the region picker.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.markup import escape
from textual.pilot import Pilot
from textual.widgets import Static

from tests.conftest import RunningSandbox
from tests.engine.helpers import ids
from tests.tui.conftest import settle, sixteen_colour_terminal, type_into, wizard_for
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.tui.app import RunnerIdentityApp
from wizard.tui.screens.apply import ApplyScreen

SIZES = [(80, 24), (120, 40)]


def demo_plan(running: RunningSandbox) -> Plan:
    """What the typed flows below choose: reuse id-legacy-runner, one role, maia-runner's runner."""
    i = ids(running)
    return Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-legacy-runner"),
        [RoleRequest("Storage Blob Data Reader")],
        AppTarget(i["app"], "runner"),
    )


async def to_identity(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await type_into(pilot, "#subscriptions Input", "Production")
    await pilot.press("ctrl+n")
    await settle(pilot)
    await type_into(pilot, "#groups Input", "rg-runner")
    await type_into(pilot, "#tag-key", "cost-center")
    await type_into(pilot, "#tag-value", "cc-4711")
    await type_into(pilot, "#name", "id-legacy-runner", submit=False)


async def to_roles(pilot: Pilot[Any]) -> None:
    await to_identity(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    await type_into(pilot, "#roles Input", "Storage Blob Data Reader")


async def to_app(pilot: Pilot[Any]) -> None:
    await to_roles(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    await type_into(pilot, "#apps Input", "maia-runner")
    await pilot.press("down", "enter")
    await settle(pilot)


async def to_review(pilot: Pilot[Any]) -> None:
    """From the plan: Next through the prefilled screens."""
    await settle(pilot)
    for _ in range(4):
        await pilot.press("ctrl+n")
        await settle(pilot)


async def to_confirm(pilot: Pilot[Any]) -> None:
    await to_review(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


CLOCK = re.compile(r"\d\d:\d\d:\d\d UTC \(\d+ min ago\)")


def mask(pilot: Pilot[Any]) -> None:
    """Hide what differs between runs: the journal's file name, the durations, and the clock times of
    new role assignments in verify's warning."""
    outcome = pilot.app.state.outcome  # type: ignore[attr-defined]
    journal = str(outcome.journal) if outcome is not None and outcome.journal else None
    for static in pilot.app.screen.query("#journal"):
        if isinstance(static, Static) and journal and isinstance(static.content, str):
            static.update(static.content.replace(escape(journal), "<journal path>"))
    for static in pilot.app.screen.query(".check"):
        if isinstance(static, Static) and isinstance(static.content, str):
            static.update(CLOCK.sub("hh:mm:ss UTC (n min ago)", static.content))
    screen = pilot.app.screen
    if isinstance(screen, ApplyScreen):
        for row in screen.rows.values():
            row.seconds = 0.1 if row.seconds else 0.0
        screen._render_rows()


async def to_apply(pilot: Pilot[Any]) -> None:
    await to_confirm(pilot)
    await pilot.press("y")
    await settle(pilot)
    mask(pilot)
    await pilot.pause()


async def to_done(pilot: Pilot[Any]) -> None:
    await to_apply(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    mask(pilot)
    await pilot.pause()


async def to_failed_apply(pilot: Pilot[Any]) -> None:
    """Apply with Azure throttling the identity twice, then the app's update failing."""
    await to_apply(pilot)


async def to_help(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    await pilot.press("f1")
    await pilot.pause()


async def to_region_picker(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    pilot.app.screen.query_one("#location").focus()
    await pilot.press("enter")
    await pilot.pause()


@dataclass(frozen=True)
class Shot:
    run_before: Callable[[Pilot[Any]], Awaitable[None]]
    from_plan: bool = False
    faults: tuple[str, ...] = ()
    colours: int = 0  # 16: a 16-colour terminal

    def app(self, running: RunningSandbox, tmp_path: Path) -> RunnerIdentityApp:
        for fault in self.faults:
            running.sandbox.faults.add(fault)
        return wizard_for(running, tmp_path, plan=demo_plan(running) if self.from_plan else None)


SCREENS: dict[str, Shot] = {
    "sign_in": Shot(settle),
    "identity": Shot(to_identity),
    "roles": Shot(to_roles),
    "container_app": Shot(to_app),
    "review": Shot(to_review, from_plan=True),
    "confirm": Shot(to_confirm, from_plan=True),
    "apply": Shot(to_apply, from_plan=True),
    "done": Shot(to_done, from_plan=True),
}
AT_80X24: dict[str, Shot] = {
    "identity-16-colours": Shot(to_identity, colours=16),
    "review-16-colours": Shot(to_review, from_plan=True, colours=16),
    "apply-failed": Shot(
        to_failed_apply,
        from_plan=True,
        faults=("429,route=roleAssignments,method=PUT,times=2", "lro-fail,route=containerApps,times=5"),
    ),
    "help": Shot(to_help, from_plan=True),
    "region-picker": Shot(to_region_picker, from_plan=True),
}


def shoot(
    snap_compare: Any, running: RunningSandbox, tmp_path: Path, shot: Shot, size: tuple[int, int], mp: pytest.MonkeyPatch
) -> bool:
    if shot.colours == 16:
        sixteen_colour_terminal(mp)
    return bool(snap_compare(shot.app(running, tmp_path), terminal_size=size, run_before=shot.run_before))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    snap_compare: Any,
    start_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    screen: str,
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert shoot(snap_compare, start_sandbox(), tmp_path, SCREENS[screen], size, monkeypatch)


@pytest.mark.parametrize("screen", list(AT_80X24))
def test_screen_at_80x24(
    snap_compare: Any,
    start_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    screen: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert shoot(snap_compare, start_sandbox(), tmp_path, AT_80X24[screen], (80, 24), monkeypatch)
