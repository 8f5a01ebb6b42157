"""Text read from Azure, on its way into the wizard's console markup."""

from __future__ import annotations

from rich.markup import escape

from ..steps import shown


def az(value: object) -> str:
    """A value read from Azure (a name, a tag, a variable, an error message) ready to sit inside
    console markup: control characters made visible (`steps.shown`, so no escape sequence reaches
    the terminal) and markup escaped (so `[bold]` in a tag shows as typed, never as styling)."""
    return escape(shown(str(value)))
