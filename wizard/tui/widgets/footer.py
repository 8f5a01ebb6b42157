"""Textual's footer, redrawn only when the keys it shows change.

Textual's Footer rebuilds its keys whenever the screen's bindings may have changed, which is on
every focus change: opening a screen moves the focus a few times, and each rebuild mounts every
key again. Most of those rebuilds would draw the same keys.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._drawn: tuple[tuple[str, str, bool], ...] | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = tuple(
            (binding.key, binding.description, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show
        )
        if shown == self._drawn:
            return
        self._drawn = shown
        super().bindings_changed(screen)
