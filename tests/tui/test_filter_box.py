"""The filter box above a list: what is typed stays in sight, however long, and the list follows it."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import screen_text, settle, type_into, wizard_for
from wizard.tui.screens.identity import IdentityScreen

SIZE = (80, 24)


async def test_a_filter_longer_than_its_box_scrolls_to_show_what_is_typed_last(demo, tmp_path: Path) -> None:
    app = wizard_for(demo, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, IdentityScreen)
        typed = "rg" + "x" * 40 + "tail"
        await type_into(pilot, "#groups Input", typed, submit=False, keys=True)
        await pilot.pause()
        shown = screen_text(pilot)
        assert "xtail" in shown, shown  # the box scrolled with the cursor: the last letters are in sight
        assert "nothing matches" in shown  # and the list filtered by the whole text
        await pilot.press(*["backspace"] * len("x" * 40 + "tail"))
        await settle(pilot)
        shown = screen_text(pilot)
        assert "rg-runner" in shown and "nothing matches" not in shown, shown
