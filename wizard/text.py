"""Characters that can act on a terminal instead of being read, and how to show text safely.

One definition serves both sides: the plan refuses these characters in every string it holds
(`rules.plain_text`), and anything that comes from Azure (a tag value, a role's name, a variable's
value) goes through `for_terminal` before it is printed, so a value cannot clear the screen, move
the cursor, recolour the review or reorder what the admin reads and confirms.
"""

from __future__ import annotations

import unicodedata

__all__ = ["describe", "for_terminal", "unsafe"]

# Unicode general categories that act rather than show: Cc (C0 incl. TAB/CR/LF, DEL, C1 incl. CSI),
# Cf (format: bidi overrides and isolates, zero-width spaces, BOM, soft hyphen), Zl and Zp (U+2028,
# U+2029, which some terminals and editors break lines on), Cs (lone surrogates, not even UTF-8).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Zero-width non-joiner and joiner are Cf too, but they are part of how Persian, Indic scripts and
# emoji sequences are written; they neither move the cursor nor reorder text, so they stay.
_JOINERS = frozenset({"\u200c", "\u200d"})
_KINDS = {
    "Cc": "a control character",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def _is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES and char not in _JOINERS


def unsafe(value: str) -> list[str]:
    """The characters of `value` that could act on a terminal, each once, in order of first
    appearance; an empty list when the text is safe to print as it is."""
    found: dict[str, None] = {}
    for char in value:
        if char not in found and _is_unsafe(char):
            found[char] = None
    return list(found)


def _escape(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def describe(char: str) -> str:
    """A character for a message: its escape and what it is, e.g. "'\\x1b' (a control character)"."""
    category = unicodedata.category(char)
    kind = _KINDS.get(category)
    if kind is None:
        bidi = unicodedata.bidirectional(char) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")
        kind = "a bidirectional control" if bidi else "an invisible formatting character"
    return f"'{_escape(char)}' ({kind})"


def for_terminal(text: str) -> str:
    """`text` with every character that could act on a terminal written as a visible escape
    (ESC as \\x1b, CR as \\r, U+202E as \\u202e); everything else, any script or emoji, unchanged.

    Apply it to one value or one line: a newline inside becomes \\n too.
    """
    if not unsafe(text):
        return text
    return "".join(_escape(c) if _is_unsafe(c) else c for c in text)
