"""Every screen at 80x24 and 120x40, compared with its saved SVG (pytest --snapshot-update saves them).

The demo tenant's ids come from a fixed seed, and the flows here reuse the demo's existing identity,
so every id on screen is the same on every run. The journal's path and the durations on the apply
screen are the only things that vary: they are masked before the picture is taken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.conftest import RunningSandbox
from tests.engine.helpers import ids
from tests.tui.conftest import settle, type_into, wizard_for

SIZES = [(80, 24), (120, 40)]


async def to_identity(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await type_into(pilot, "#subscriptions Input", "Production")
    await type_into(pilot, "#groups Input", "rg-runner")
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
    await to_app(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


async def to_confirm(pilot: Pilot[Any]) -> None:
    await to_review(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


def mask(pilot: Pilot[Any]) -> None:
    for journal in pilot.app.screen.query("#journal"):
        if isinstance(journal, Static):
            journal.update("Journal: <journal path>")
    for table in pilot.app.screen.query(DataTable):
        if table.id == "steps":
            for row in table.rows:
                table.update_cell(row, "time", "  0.1s")


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
    for static in pilot.app.screen.query(Static):
        if "Journal" in str(static.render()):
            static.update("Journal       <journal path>")
    await pilot.pause()


SCREENS: dict[str, Callable[[Pilot[Any]], Awaitable[None]]] = {
    "sign_in": settle,
    "identity": to_identity,
    "roles": to_roles,
    "container_app": to_app,
    "review": to_review,
    "confirm": to_confirm,
    "apply": to_apply,
    "done": to_done,
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    snap_compare: Any, start_sandbox: Callable[..., RunningSandbox], tmp_path: Path, screen: str, size: tuple[int, int]
) -> None:
    running = start_sandbox()
    assert ids(running)["sub"]
    app = wizard_for(running, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])
