"""The wizard's screens: Next from the first screen to the identity screen, prefilled from a plan
with 50 tags (the most Azure allows on a resource), against none.

Measured headless, in process, once the subscription's lists are loaded (so no request to Azure
is part of it): from the key press to the screen shown with every tag in its table. The pilot's
own cost of a key press and a wait for idle, measured on a key that does nothing, is taken off.
The processor time the same takes is noted beside it: on a machine shared with other work the
wall-clock time also holds the waits for a free core.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, connection, median, sandbox
from wizard.plan import IdentitySpec, Plan
from wizard.sandbox.server import SandboxInfo


async def _open_identity(info: SandboxInfo, tags: dict[str, str], journals: Path) -> tuple[float, float]:
    from textual.widgets import DataTable

    from wizard.tui.app import RunnerIdentityApp
    from wizard.tui.screens.identity import IdentityScreen

    plan = Plan(info.subscription_ids[0], IdentitySpec("rg-runner", "id-bench", tags=tags))
    app = RunnerIdentityApp(connection(info), plan=plan, journal_dir=journals)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(600):  # signed in, and the subscription's lists loaded
            if app.state.catalog is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        idle, idle_cpu = [], []
        for _ in range(5):
            started, cpu = time.perf_counter(), time.process_time()
            await pilot.press("shift")
            await pilot.pause()
            idle.append(time.perf_counter() - started)
            idle_cpu.append(time.process_time() - cpu)
        started, cpu = time.perf_counter(), time.process_time()
        await pilot.press("ctrl+n")
        await pilot.pause()
        elapsed = time.perf_counter() - started - statistics.median(idle)
        used = time.process_time() - cpu - statistics.median(idle_cpu)
        assert isinstance(app.screen, IdentityScreen), app.screen
        assert app.screen.query_one("#tag-table", DataTable).row_count == len(tags)
        return max(0.0, elapsed), max(0.0, used)


def run(runs: int = 5) -> list[Figure]:
    fifty = {f"tag{n:02}": f"value number {n}" for n in range(50)}
    with sandbox() as (info, _thread), tempfile.TemporaryDirectory() as journals:
        bare = [asyncio.run(_open_identity(info, {}, Path(journals))) for _ in range(runs)]
        full = [asyncio.run(_open_identity(info, fifty, Path(journals))) for _ in range(runs)]
    figures = []
    for name, measured, goal in (("no tags", bare, ""), ("50 tags", full, "under 0.3 s")):
        walls, cpus = [w for w, _ in measured], [c for _, c in measured]
        wall = median(walls)
        figures.append(
            Figure(
                f"identity screen opens, {name}",
                wall,
                "s",
                goal,
                wall < 0.3 if goal else None,
                walls,
                note=f"processor time {median(cpus) * 1000:.0f} ms",
            )
        )
    return figures


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.shown()} {figure.note}")
