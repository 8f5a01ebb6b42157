"""What does not fit says so, and text wraps as prose does (issue 13, "every screen fits 80x24 or
shows a visible scroll cue", "texts read well"), checked on every screen of the flow at 80x24 with
NO_COLOR and in 16 colours, on the demo and the large tenant:

- a region of text shows all of it (wraps fully), or sits in a region that says "more below";
- a list whose items do not all fit draws a scroll bar whose thumb and track are characters, so it
  reads without colour;
- a message breaks lines between words, with punctuation kept with its word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import Static

from tests.conftest import RunningSandbox
from tests.engine.helpers import ids
from tests.tui.conftest import settle, sixteen_colour_terminal, wizard_for
from tests.tui.test_every_screen import look
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.tui.screens.apply import ApplyScreen
from wizard.tui.screens.done import DoneScreen
from wizard.tui.widgets.prose import Prose

SIZE = (80, 24)
CLOSING = ":;,.)]}»"


def shown_at_all(widget: Widget) -> bool:
    return (
        widget.display
        and widget.region.height > 0
        and widget.region.width > 0
        and all(a.display for a in widget.ancestors if isinstance(a, Widget))
    )


def cut_without_cue(pilot: Pilot[Any]) -> list[str]:
    """Text widgets showing fewer lines than their text has, outside a region that says "more below"."""
    screen = pilot.app.screen
    cut = []
    for widget in screen.query(Static):
        if not shown_at_all(widget) or widget.has_class("scroll-cue"):
            continue
        box = widget.content_region
        needed = widget.get_content_height(screen.size, screen.size, box.width)
        if needed <= box.height:
            continue
        cut.append(f"{type(widget).__name__}#{widget.id or ''}.{'.'.join(widget.classes)}: {needed} > {box.height}")
    return cut


def scroll_bar_text(pilot: Pilot[Any], widget: Widget) -> str:
    """The characters of the widget's vertical scroll bar as drawn (after NO_COLOR's filter)."""
    strips = look(pilot)
    region = widget.vertical_scrollbar.region.intersection(pilot.app.screen.region)
    return "".join("".join(s.text for s in strips[y].crop(region.x, region.right)) for y in range(region.y, region.bottom))


def lists_without_cue(pilot: Pilot[Any]) -> list[str]:
    """Scrolling widgets whose content does not all fit, without a bar whose thumb and track show as
    characters (a bar drawn in colour alone vanishes with NO_COLOR)."""
    screen = pilot.app.screen
    missing = []
    for widget in screen.query(Widget):
        if not isinstance(widget, (ScrollView, ScrollableContainer)) or not shown_at_all(widget):
            continue
        if widget.max_scroll_y <= 0:
            continue
        text = scroll_bar_text(pilot, widget) if widget.show_vertical_scrollbar else ""
        if " " in text or len(set(text)) < 2:  # a blank cell: track or thumb drawn in colour alone
            missing.append(f"{type(widget).__name__}#{widget.id or ''}: bar {text!r}")
    return missing


def badly_wrapped(pilot: Pilot[Any]) -> list[str]:
    """Text widgets with a line that starts with closing punctuation (a ':' cut from its word)."""
    screen = pilot.app.screen
    bad = []
    for widget in screen.query(Static):
        if not shown_at_all(widget):
            continue
        box = widget.content_region
        lines = widget.render_lines(widget.region.reset_offset)
        for strip in lines[1:]:
            text = strip.text.strip(" ▌│")
            if text and text[0] in CLOSING:
                bad.append(f"{type(widget).__name__}#{widget.id or ''}: line starts {text[:20]!r} (width {box.width})")
    return bad


CHECKS: dict[str, Callable[[Pilot[Any]], list[str]]] = {
    "cut, no cue": cut_without_cue,
    "list, no cue": lists_without_cue,
    "badly wrapped": badly_wrapped,
}


def check(pilot: Pilot[Any], seen: dict[str, list[str]]) -> None:
    name = type(pilot.app.screen).__name__
    for what, found in CHECKS.items():
        seen[f"{name}: {what}"] = found(pilot)


async def walk(pilot: Pilot[Any], seen: dict[str, list[str]], highlight_roles: int = 6) -> None:
    """Sign in to Done, checking each screen (and each of a few roles' details on Roles)."""
    app = pilot.app
    await settle(pilot)
    for _ in range(5):  # sign in, identity, roles, container app, review
        check(pilot, seen)
        if type(app.screen).__name__ == "RolesScreen":
            roles = app.screen.query_one("#roles").option_list  # type: ignore[attr-defined]
            for n in range(highlight_roles):
                roles.highlighted = n * 7
                await pilot.pause()
                found = cut_without_cue(pilot)
                if found:
                    seen[f"RolesScreen, role {n * 7}: cut, no cue"] = found
        await pilot.press("ctrl+n")
        await settle(pilot)
    await pilot.press("y")
    await settle(pilot)
    assert isinstance(app.screen, ApplyScreen)
    check(pilot, seen)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, DoneScreen)
    check(pilot, seen)


def staging_plan(running: RunningSandbox) -> Plan:
    i = ids(running)
    return Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-cues", tags={"owner": "data"}),
        [RoleRequest("Key Vault Secrets User", i["vault"]), RoleRequest("Storage Blob Data Reader")],
        AppTarget(i["staging"], "runner"),  # AZURE_CLIENT_ID is set there already: the warning shows
    )


@pytest.mark.parametrize("colours", ["NO_COLOR", "16 colours"])
async def test_every_screen_cues_what_does_not_fit_and_wraps_between_words(
    demo: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colours: str
) -> None:
    if colours == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        sixteen_colour_terminal(monkeypatch)
    app = wizard_for(demo, tmp_path, plan=staging_plan(demo))
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await walk(pilot, seen)
    faults = {k: v for k, v in seen.items() if v}
    assert faults == {}, "\n".join(f"{k}: {v}" for k, v in faults.items())


async def test_a_failed_apply_cues_what_does_not_fit(
    demo: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    demo.sandbox.faults.add("lro-fail,route=containerApps,times=5")
    deep = tmp_path / "a-journal-directory-with-a-long-name" / "and-another-one-below-it" / "journals"
    app = wizard_for(demo, deep, plan=staging_plan(demo))
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(5):
            await pilot.press("ctrl+n")
            await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ApplyScreen) and app.screen.failed
        check(pilot, seen)
    faults = {k: v for k, v in seen.items() if v}
    assert faults == {}, "\n".join(f"{k}: {v}" for k, v in faults.items())


async def test_a_long_list_says_there_is_more_without_colour(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    large = start_sandbox(scenario="large")
    app = wizard_for(large, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        subscriptions = app.screen.query_one("#subscriptions").option_list  # type: ignore[attr-defined]
        assert subscriptions.option_count > subscriptions.size.height  # the large tenant's many
        assert lists_without_cue(pilot) == []


class _Messages(App[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Prose(self.text, id="message")


WORD = st.text("abcdefghij-/0123456789", min_size=1, max_size=60)
PUNCT = st.sampled_from(["", ":", ",", ".", ")", "):", ".)"])


GUID = "(89f9084a-084d-53e7-84cc-9934c6256915):"


@example(words=[("", "is", ""), ("", "set", ""), ("", "already", ""), ("(", GUID[1:-2], "):"), ("", "it", "")], width=38)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.tuples(st.sampled_from(["", "("]), WORD, PUNCT), min_size=1, max_size=12),
    width=st.integers(12, 78),
)
async def test_a_message_breaks_between_words_and_keeps_punctuation_with_its_word(
    words: list[tuple[str, str, str]], width: int
) -> None:
    text = " ".join(f"{o}{w}{p}" for o, w, p in words)
    app = _Messages(text)
    async with app.run_test(size=(width, 40)) as pilot:
        widget = app.query_one("#message", Prose)
        lines = [s.text.rstrip() for s in widget.render_lines(widget.region.reset_offset)]
        lines = [line for line in lines if line]
        assert all(len(line) <= width for line in lines)
        assert re.sub(r"\s", "", "".join(lines)) == re.sub(r"\s", "", text)  # all of it, nothing added
        for line in lines[1:]:
            assert line.lstrip()[0] not in CLOSING, (text, width, lines)
        del pilot
