"""The wizard against a sandbox, driven as an admin drives it: keys, clicks, and waiting for Azure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tests.conftest import RunningSandbox
from wizard.azure.connection import Connection
from wizard.tui.app import SANDBOX_BANNER, RunnerIdentityApp


def wizard_for(running: RunningSandbox, tmp_path: Path, **kwargs: Any) -> RunnerIdentityApp:
    """The wizard on a running sandbox (the Connection the app would build for --sandbox, faster polls)."""
    connection = Connection(
        arm_endpoint=running.info.arm_endpoint,
        ca_bundle=running.info.ca_bundle,
        managed_identity_only=True,
        poll_interval=0.01,
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
    """The plain text a widget shows."""
    return str(pilot.app.screen.query_one(selector).render())
