"""The wizard's review shows the same az script the CLI exports: made for the connection in use."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.conftest import RunningSandbox
from tests.tui.conftest import settle, wizard_for
from tests.tui.test_flow import SIZE, next_to_the_app_screen, plan_for
from wizard.tui.screens.review import ReviewScreen


async def test_the_reviews_az_script_is_for_the_endpoint_the_wizard_is_connected_to(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    app = wizard_for(demo, tmp_path, plan=plan_for(demo, "id-review-export"))
    async with app.run_test(size=SIZE) as pilot:
        await next_to_the_app_screen(pilot)
        await pilot.press("enter")  # the plan's app and container, as chosen
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ReviewScreen)
        script = str(pilot.app.screen.query_one("#az", Static).render())
    endpoint = demo.info.arm_endpoint.rstrip("/").lower()
    assert f"ARM_ENDPOINT={endpoint}" in script, script[:2000]
    assert "ARM_ENDPOINT=https://management.azure.com" not in script
