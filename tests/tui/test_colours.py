"""The wizard in a 16-colour terminal and with NO_COLOR: success, error and titles stay apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.color import ColorSystem
from rich.segment import Segment
from textual.pilot import Pilot

from tests.engine.helpers import ids
from tests.tui.conftest import settle, sixteen_colour_terminal, type_into, wizard_for
from wizard.plan import IdentitySpec, Plan

SIZE = (80, 24)


def segments(pilot: Pilot[Any]) -> list[Segment]:
    """Every piece of text on the screen with the style the terminal gets (after the app's filters)."""
    app = pilot.app
    background = app.screen.styles.background
    found = []
    for strip in app.screen._compositor.render_strips():
        for line_filter in app._filters:
            strip = strip.apply_filter(line_filter, background)
        found += list(strip)
    return found


def style_of(pilot: Pilot[Any], text: str) -> Any:
    return next(s.style for s in segments(pilot) if text in s.text)


def colour_16(style: Any) -> int | None:
    """The colour a 16-colour terminal shows for a style's text."""
    colour = style.color
    return None if colour is None else colour.downgrade(ColorSystem.STANDARD).number


async def identity_screen_with_a_good_and_a_bad_field(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    await type_into(pilot, "#tag-key", "bad/name", submit=False)  # an error line beside the ✓ on the name


async def test_in_16_colours_success_error_and_titles_differ(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sixteen_colour_terminal(monkeypatch)
    app = wizard_for(demo, tmp_path, plan=Plan(ids(demo)["sub"], IdentitySpec("rg-runner", "id-colours")))
    async with app.run_test(size=SIZE) as pilot:
        await identity_screen_with_a_good_and_a_bad_field(pilot)
        success = colour_16(style_of(pilot, "✓ new"))
        error = colour_16(style_of(pilot, "✗"))
        title = colour_16(style_of(pilot, "The managed identity"))
        assert len({success, error, title}) == 3, (success, error, title)
        assert None not in (success, error)


async def test_with_no_color_outcomes_read_by_their_marks(demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = wizard_for(demo, tmp_path, plan=Plan(ids(demo)["sub"], IdentitySpec("rg-runner", "id-colours")))
    async with app.run_test(size=SIZE) as pilot:
        await identity_screen_with_a_good_and_a_bad_field(pilot)
        shown = segments(pilot)
        assert all(colour_16(s.style) is None for s in shown if s.style is not None and s.text.strip())
        text = "".join(s.text for s in shown)
        assert "✓ new" in text and "✗ tags" in text
        current = style_of(pilot, "Identity")  # in the trail: the step the admin is on
        assert current.bold and current.underline
