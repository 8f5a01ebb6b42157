"""The colours the wizard uses where a terminal has only 16 of them, or none (NO_COLOR).

Textual draws in true colour and lets the terminal's colour system round each colour to the
nearest of 16: its default accent (orange) turns red, so titles read as errors, and success and
error text land on neighbouring colours. On such terminals the wizard uses the terminal's own
ANSI colours instead, one per meaning: green for done, red for wrong, yellow for caution, cyan
for where you are. With NO_COLOR there are no colours at all: the cursor of a list or table is
reverse video, and meaning never rests on colour alone anyway (✓, ✗ and ! mark every outcome;
app.tcss gives focused fields a shape of their own).
"""

from __future__ import annotations

from dataclasses import replace

from textual.theme import BUILTIN_THEMES, Theme

ANSI_THEME = Theme(
    name="runner-identity-ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    accent="ansi_cyan",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables=dict(BUILTIN_THEMES["ansi-dark"].variables),
)

NO_COLOR_THEME = replace(
    ANSI_THEME,
    name="runner-identity-no-color",
    variables={
        **ANSI_THEME.variables,
        "block-cursor-text-style": "reverse bold",
        "block-cursor-blurred-text-style": "underline",
        "input-cursor-text-style": "reverse",
        "button-focus-text-style": "reverse bold",
    },
)

FEW_COLOURS = ("standard", "windows")  # Rich's names for 16-colour and legacy Windows consoles


def theme_for(color_system: str | None, no_color: bool) -> Theme | None:
    """The theme for a terminal, or None for Textual's own (256 colours and more).
    `color_system` is Rich's detection from TERM / COLORTERM ("standard" for xterm-16color);
    `no_color`: NO_COLOR is set."""
    if no_color:
        return NO_COLOR_THEME
    if color_system in FEW_COLOURS:
        return ANSI_THEME
    return None
