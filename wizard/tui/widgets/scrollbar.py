"""A vertical scroll bar drawn in characters: a solid thumb on a thin track.

Textual draws its bar in colour alone (a reversed blank on a coloured background): with NO_COLOR,
and often in 16 colours, the track vanishes and a list of 300 subscriptions looks like it ends at
the bottom of the screen. Here the thumb is `█` and the track a thin line, so the bar says "there
is more, and you are here" in any terminal. Only drawn when the content does not all fit.
"""

from __future__ import annotations

from math import ceil

from rich.color import Color
from rich.segment import Segment, Segments
from rich.style import Style
from textual.scrollbar import ScrollBarRender

BACK, BAR = Color.parse("#555555"), Color.parse("bright_magenta")  # Textual's defaults
THUMB = "█"
TRACK = {1: "│", 2: "▕▏"}


def _track(thickness: int) -> str:
    return TRACK.get(thickness) or "▕".rjust(thickness // 2).ljust(thickness)


class MarkedScrollBar(ScrollBarRender):
    """Textual's renderer (set as `ScrollBar.renderer`), with characters for the vertical bar; the
    horizontal bar is Textual's own. Mouse clicks on the track page up and down, as Textual's do."""

    @classmethod
    def render_bar(
        cls,
        size: int = 25,
        virtual_size: float = 50,
        window_size: float = 20,
        position: float = 0,
        thickness: int = 1,
        vertical: bool = True,
        back_color: Color = BACK,
        bar_color: Color = BAR,
    ) -> Segments:
        if not vertical or not (window_size and size and virtual_size and size != virtual_size):
            return super().render_bar(
                size, virtual_size, window_size, position, thickness, vertical, back_color, bar_color
            )
        thumb_size = max(1, round(window_size * size / virtual_size))
        travel = max(0.0, virtual_size - window_size)
        start = round((size - thumb_size) * (position / travel)) if travel else 0
        start = min(max(0, start), size - thumb_size)
        track = _track(thickness)
        upper = Segment(track, Style(color=bar_color, bgcolor=back_color, dim=True, meta={"@mouse.down": "scroll_up"}))
        lower = Segment(track, Style(color=bar_color, bgcolor=back_color, dim=True, meta={"@mouse.down": "scroll_down"}))
        thumb = Segment(THUMB * thickness, Style(color=bar_color, bgcolor=back_color, meta={"@mouse.down": "grab"}))
        end = min(size, start + ceil(thumb_size))
        segments = [upper] * start + [thumb] * (end - start) + [lower] * (int(size) - end)
        return Segments(segments, new_lines=True)
