"""A scrolling region that says when more of it is out of sight, and shows when it has the focus.

A scroll bar one column wide is easy to miss at 80x24: when the content goes on below the
region, a line docked at its bottom says so. A region of text (`readable=True`) takes the focus
itself, so the arrow keys scroll it; it then shows a bar down its left edge (a character, not a
colour, so it reads in 16 colours and with NO_COLOR). A region of fields does not take the focus:
its fields do, and scroll themselves into view.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

CUE = "▼ more below: scroll, or Tab to it"


class CuedScroll(VerticalScroll):
    DEFAULT_CSS = """
    CuedScroll > .scroll-cue {
        dock: bottom;
        height: 1;
        width: 100%;
        display: none;
        color: $text-accent;
        text-style: bold;
        background: $panel;
    }
    CuedScroll > .scroll-cue.-shown { display: block; }
    CuedScroll.-readable { border-left: blank; }
    CuedScroll.-readable:focus { border-left: outer $accent; }
    """

    def __init__(self, *children: object, readable: bool = False, **kwargs: object) -> None:
        """`readable`: a region of text the arrow keys scroll (it takes the focus); otherwise a
        region of fields, which take the focus themselves."""
        super().__init__(*children, can_focus=readable, **kwargs)  # type: ignore[arg-type]
        self.set_class(readable, "-readable")
        self._cue = Static(CUE, classes="scroll-cue")

    def compose(self) -> ComposeResult:
        yield self._cue  # after the children given to it (`with CuedScroll(): ...`)

    def on_mount(self) -> None:
        self.call_after_refresh(self.update_cue)

    def on_resize(self, _event: events.Resize) -> None:
        self.update_cue()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.update_cue()

    @property
    def more_below(self) -> bool:
        """Is part of the content below the region's bottom edge?"""
        return self.max_scroll_y > 0 and round(self.scroll_y) < self.max_scroll_y

    def update_cue(self) -> None:
        if self.is_mounted and self._cue.is_attached:
            self._cue.set_class(self.more_below, "-shown")
