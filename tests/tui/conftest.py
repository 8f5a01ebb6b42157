"""The wizard against a sandbox, driven as an admin drives it: keys, clicks, and waiting for Azure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.conftest import RunningSandbox
from wizard.azure.connection import Connection
from wizard.tui.app import RunnerIdentityApp


def wizard_for(running: RunningSandbox, tmp_path: Path, **kwargs: Any) -> RunnerIdentityApp:
    connection = Connection(
        arm_endpoint=running.info.arm_endpoint,
        ca_bundle=running.info.ca_bundle,
        managed_identity_only=True,
        poll_interval=0.01,
    )
    app = RunnerIdentityApp(connection, journal_dir=tmp_path / "journals", **kwargs)
    app.sandbox_banner = "SANDBOX: a local demo tenant; nothing here touches Azure."
    return app


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish and the screen catch up."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def type_into(pilot: Pilot[Any], selector: str, text: str, submit: bool = True) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    widget.value = ""  # type: ignore[attr-defined]
    await pilot.press(*text)
    if submit:
        await pilot.press("enter")
    await settle(pilot)


@pytest.fixture
def tui_path(tmp_path: Path) -> Path:
    return tmp_path
