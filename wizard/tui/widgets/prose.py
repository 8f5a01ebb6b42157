"""Text that wraps as prose does: between words, and punctuation kept with its word.

Textual wraps at spaces, and a word longer than the line (a resource ID, a journal path, a GUID in
brackets with a colon after it) is cut wherever the line ends: `(89f9…6915)` on one line and `:`
alone at the start of the next. `Prose` cuts such a word first where it can be read: after a `/`,
`-`, `_`, `.` or `=` in it, and never so that the next line starts with closing punctuation.
Words that fit a line are left to Textual's wrapping.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, RulesMap
from textual.widgets import Static

BREAK_AFTER = "/-_.=&?"  # a long word is cut after one of these, when one is in reach
CLOSING = ":;,.)]}»'\""  # never the first character of a line cut from a word
WORD = re.compile(r"\S+")


def cuts(word: str, width: int) -> list[int]:
    """Where to cut `word` (offsets into it) so that each piece is at most `width` cells: after the
    last break character in reach, else at the width; no piece but the first starts with closing
    punctuation. Single-cell characters assumed (the words this meets are IDs and paths)."""
    found: list[int] = []
    start = 0
    while len(word) - start > width:
        end = start + width
        soft = max((i + 1 for i in range(start, end) if word[i] in BREAK_AFTER), default=0)
        cut = soft if soft > start + width // 3 else end
        while cut > start + 1 and word[cut] in CLOSING:
            cut -= 1  # keep the punctuation with the word before it
        found.append(cut)
        start = cut
    return found


def refold(content: Content, width: int) -> Content:
    """`content` with a line break inside each word longer than `width` cells (see `cuts`)."""
    if width <= 1 or not any(cell_len(w) > width for w in content.plain.split()):
        return content
    pieces: list[Content] = []
    last = 0
    for match in WORD.finditer(content.plain):
        if cell_len(match.group()) <= width:
            continue
        for cut in cuts(match.group(), width):
            pieces.append(content[last : match.start() + cut])
            last = match.start() + cut
    pieces.append(content[last:])
    return Content("\n").join(pieces)


class _Refolded(Content):
    """Content whose long words are cut where they read well, at the width it is drawn."""

    def get_height(self, rules: RulesMap, width: int) -> int:
        if rules.get("text_wrap", "wrap") == "nowrap":
            return super().get_height(rules, width)
        return refold(Content(self.plain, self.spans), width - 2 * rules.get("line_pad", 0)).get_height(rules, width)

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        if options.rules.get("text_wrap", "wrap") == "nowrap":
            return super().render_strips(width, height, style, options)
        plain = Content(self.plain, self.spans)
        return refold(plain, width - 2 * options.rules.get("line_pad", 0)).render_strips(width, height, style, options)


class Prose(Static):
    """A Static for sentences (messages, warnings, descriptions): see the module's docstring."""

    def render(self) -> object:
        visual = super().render()
        if isinstance(visual, Content) and not isinstance(visual, _Refolded):
            return _Refolded(visual.plain, visual.spans, visual.cell_length)
        return visual
