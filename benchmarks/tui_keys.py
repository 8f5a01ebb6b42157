"""Keystroke to paint: the wizard itself on the `large` tenant, typed into as a terminal types.

Textual's headless driver writes nothing, and Textual skips turning a frame into terminal output
when it knows the driver is headless. `PaintClock` is that driver saying it is not headless: the
app then renders every frame to the escape sequences a terminal would get and writes them, and
the clock notes when. A key goes in the way a terminal driver's input thread hands it over
(`Driver.process_message`); its latency is the time from then until the last frame it caused is
written (nothing else draws meanwhile: the filter's cursor does not blink).

Measured on the subscription picker (300 subscriptions), the identity screen's resource groups
(980) and the roles screen's roles (about 930), each at 120x40.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from textual import events
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Input

from benchmarks.common import connection, percentile
from wizard.plan import IdentitySpec, Plan
from wizard.sandbox.server import SandboxInfo

QUIET_S = 0.15  # no frame for this long: the key's work is done
WORDS = {
    "subscriptions": ("team 04", "enterprise"),
    "groups": ("team-04", "rg-team-09", "west"),
    "roles": ("storage blob", "key vault sec", "reader"),
}


class PaintClock(HeadlessDriver):
    """A driver that gets every frame as a terminal would, writes it nowhere, and notes when."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_write = 0.0
        self.written = 0

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.written += len(data)
        self.last_write = time.perf_counter()

    def flush(self) -> None:
        pass


async def _quiet(driver: PaintClock, since: float, timeout: float = 10.0) -> float:
    """Wait until no frame has been written for QUIET_S; the time of the last one after `since`
    (`since` itself when nothing was drawn)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.002)
        last = driver.last_write
        if time.perf_counter() - max(last, since) >= QUIET_S:
            return last if last > since else since
    raise TimeoutError("the app kept drawing")


async def _type(app: Any, driver: PaintClock, selector: str, words: tuple[str, ...]) -> list[float]:
    box = app.screen.query_one(f"{selector} Input", Input)
    box.cursor_blink = False
    box.focus()
    latencies = []
    for word in words:
        box.value = ""
        await _quiet(driver, time.perf_counter())
        for char in word:
            started = time.perf_counter()
            key = "space" if char == " " else char
            driver.process_message(events.Key(key, char))
            latencies.append(await _quiet(driver, started) - started)
    return latencies


async def _wait(pilot: Any, done: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await pilot.pause(0.02)


async def _measure(info: SandboxInfo, subscription: str, group: str) -> dict[str, list[float]]:
    from wizard.tui.app import RunnerIdentityApp
    from wizard.tui.screens.identity import IdentityScreen
    from wizard.tui.screens.roles import RolesScreen

    plan = Plan(subscription, IdentitySpec(group, "id-keystrokes"))
    with tempfile.TemporaryDirectory() as journals:
        app = RunnerIdentityApp(connection(info), plan=plan, journal_dir=Path(journals))
        app.driver_class = PaintClock
        async with app.run_test(headless=False, size=(120, 40)) as pilot:
            driver = app._driver
            assert isinstance(driver, PaintClock)
            await _wait(pilot, lambda: app.state.subscriptions, "the subscriptions")
            await pilot.pause()
            found = {"subscriptions": await _type(app, driver, "#subscriptions", WORDS["subscriptions"])}
            app.screen.query_one("#subscriptions Input", Input).value = ""
            await _wait(pilot, lambda: app.state.catalog is not None and app.state.catalog.complete, "the lists")
            await pilot.press("ctrl+n")
            await _wait(pilot, lambda: isinstance(app.screen, IdentityScreen), "the identity screen")
            await pilot.pause()
            found["groups"] = await _type(app, driver, "#groups", WORDS["groups"])
            app.screen.query_one("#groups Input", Input).value = ""
            await pilot.press("ctrl+n")
            await _wait(pilot, lambda: isinstance(app.screen, RolesScreen), "the roles screen")
            await pilot.pause()
            found["roles"] = await _type(app, driver, "#roles", WORDS["roles"])
            assert driver.written > 0, "nothing was drawn"
    return found


def keystrokes(info: SandboxInfo, subscription: str, group: str) -> dict[str, Any]:
    """Keystroke-to-paint latencies (seconds) on each list, and their p50/p95 over all."""
    found = asyncio.run(_measure(info, subscription, group))
    every = [t for times in found.values() for t in times]
    return {"keys": found, "key_p50": percentile(every, 0.5), "key_p95": percentile(every, 0.95)}
