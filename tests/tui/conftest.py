"""The wizard against a sandbox, driven as an admin drives it: keys, clicks, and waiting for Azure."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Input

from tests.conftest import RunningSandbox
from wizard.azure.connection import Connection
from wizard.tui.app import SANDBOX_BANNER, RunnerIdentityApp


@pytest.fixture(autouse=True)
def true_colour_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The terminal the pictures are taken in: true colour, unless a test asks for 16 colours
    (`TERM=xterm-16color`) or none (`NO_COLOR`)."""
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield


def sixteen_colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "xterm-16color")


def wizard_for(running: RunningSandbox, tmp_path: Path, device_code: bool = False, **kwargs: Any) -> RunnerIdentityApp:
    """The wizard on a running sandbox (the Connection the app would build for --sandbox, with
    faster polls and retries). `device_code`: the app believes it signs in with a device code."""
    connection = Connection(
        arm_endpoint=running.info.arm_endpoint,
        ca_bundle=running.info.ca_bundle,
        managed_identity_only=True,
        poll_interval=0.01,
        retry_backoff=0.01,
        device_code=device_code,
    )
    kwargs.setdefault("default_subscription", running.prod)  # as --sandbox offers: the demo's first
    app = RunnerIdentityApp(connection, journal_dir=tmp_path / "journals", **kwargs)
    app.sandbox_banner = SANDBOX_BANNER
    return app


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish (Azure has answered) and the screen catch up with what they posted
    (which may start more workers: wait again until none runs)."""
    for _ in range(10):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            return


async def type_into(pilot: Pilot[Any], selector: str, text: str, submit: bool = True, keys: bool = False) -> None:
    """Enter `text` in an Input: pasted at once (one Changed, as a paste does), or key by key with `keys`."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    if keys:
        widget.value = ""
        await pilot.press(*text)
    else:
        widget.value = text
    if submit:
        await pilot.press("enter")
    await settle(pilot)


def shown(pilot: Pilot[Any], selector: str) -> str:
    """The text a widget shows, all of it (also what is scrolled out of sight), as drawn, with its
    line breaks and runs of spaces as single spaces (so a test does not depend on where it wraps)."""
    widget = pilot.app.screen.query_one(selector)
    width, height = widget.size
    if not width or not height:
        return " ".join(str(widget.render()).split())
    return " ".join(" ".join(s.text for s in widget.render_lines(Region(0, 0, width, height))).split())


def screen_text(pilot: Pilot[Any]) -> str:
    """What the terminal shows now, as plain text: exactly what an admin can read (Textual's own
    screenshot does the same, as an SVG)."""
    app = pilot.app
    console = Console(
        width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True, record=True
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
