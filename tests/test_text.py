"""Text from Azure reaches the terminal escaped: nothing in it can move the cursor, change colours
or reorder what the admin reads."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.text import for_terminal, unsafe

ATTACKS = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;title\x07",  # set the window title
    "\x9b31m",  # C1 CSI: red
    "ok\rPROBLEM",  # overwrite the line
    "a\x08\x08b",  # backspaces
    "line\nnext",
    "\u202eevil\u202c",  # right-to-left override
    "\u2066x\u2069",
    "a\u2028b\u2029c",
    "zero\u200bwidth\ufeff",
    "\x7fdel\x00nul",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_attacks_are_shown_escaped(value: str) -> None:
    shown = for_terminal(value)
    assert unsafe(shown) == []
    assert all(c.isprintable() for c in shown)
    assert "\\" in shown


def test_escapes_are_visible_and_plain_text_is_untouched() -> None:
    assert for_terminal("tag \x1b[31m") == "tag \\x1b[31m"
    assert for_terminal("a\rb\nc\td") == "a\\rb\\nc\\td"
    assert for_terminal("\u202e") == "\\u202e"
    assert for_terminal("Ключ-日本語 🎉 e\u0301 👨\u200d👩") == "Ключ-日本語 🎉 e\u0301 👨\u200d👩"


@given(st.text())
def test_anything_becomes_safe_to_print(value: str) -> None:
    shown = for_terminal(value)
    assert unsafe(shown) == []
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in shown)
    if not unsafe(value):
        assert shown == value


@given(st.text(st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Cs"))))
def test_unsafe_lists_each_character_that_could_act_on_a_terminal(value: str) -> None:
    found = unsafe(value)
    assert set(found) == set(value) - {"\u200c", "\u200d"}
