"""The wizard's list widget with thousands of items: showing them, and filtering per keystroke."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Input

from wizard.tui.widgets.filter_list import FilterList, Item


class _ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FilterList(id="list")


async def _measure(items: list[Item], typed: str) -> tuple[float, list[float]]:
    app = _ListApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lst = app.query_one(FilterList)
        started = time.perf_counter()
        lst.set_items(items)
        await pilot.pause()
        shown = time.perf_counter() - started
        box = lst.query_one(Input)
        box.focus()
        # The test pilot's own cost of a key press and a wait for idle, measured on a key that
        # changes nothing, is taken off each keystroke: what is left is the wizard's work.
        idle = []
        for _ in range(5):
            started = time.perf_counter()
            await pilot.press("shift")
            await pilot.pause()
            idle.append(time.perf_counter() - started)
        overhead = statistics.median(idle)
        per_key = []
        for char in typed:
            started = time.perf_counter()
            await pilot.press(char)
            await pilot.pause()
            per_key.append(max(0.0, time.perf_counter() - started - overhead))
        return shown, per_key


def render_and_filter(groups: list[Any], apps: list[Any]) -> dict[str, float]:
    group_items = [Item(g.name, f"{g.name}  [dim]{g.location}[/]", g.location) for g in groups]
    app_items = [
        Item(a.id, f"{a.name}  [dim]{a.resource_group} · {a.environment_name}[/]", a.environment_name) for a in apps
    ]
    shown_groups, keys_groups = asyncio.run(_measure(group_items, "team-04"))
    shown_apps, keys_apps = asyncio.run(_measure(app_items, "app-12"))
    keys = keys_groups + keys_apps
    return {
        "render_groups": shown_groups,
        "render_apps": shown_apps,
        "keystroke_p50": statistics.median(keys),
        "keystroke_max": max(keys),
    }
