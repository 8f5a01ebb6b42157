"""One value out of a list, shown as a single line; Enter (or a click) opens the list over the
screen, filtered as you type, like every other list in the wizard.

One widget on the screen, where a drop-down is six: every widget adds to the time a screen
takes to open.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button

from .filter_list import FilterList, Item
from .prose import Prose


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # console markup


class PickModal(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, choices: list[Choice], current: str | None) -> None:
        super().__init__()
        self.title_text, self.choices, self.current = title, choices, current

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-dialog"):
            yield Prose(f"[b]{escape(self.title_text)}[/]  [dim]type to filter · Enter chooses · escape cancels[/]")
            yield FilterList("Type to filter", id="pick-list")

    def on_mount(self) -> None:
        lst = self.query_one(FilterList)
        lst.set_items([Item(c.value, c.label) for c in self.choices], chosen=self.current)
        lst.option_list.focus()

    def on_filter_list_chosen(self, message: FilterList.Chosen) -> None:
        message.stop()
        self.dismiss(message.key)


class Picker(Button):
    """A value chosen from `choices`: Enter or a click opens them; `Picker.Changed` says what
    the admin picked."""

    class Changed(Message):
        def __init__(self, picker: Picker, value: str) -> None:
            super().__init__()
            self.picker, self.value = picker, value

        @property
        def control(self) -> Picker:
            return self.picker

    def __init__(self, title: str, prompt: str, **kwargs: object) -> None:
        super().__init__(prompt, compact=True, **kwargs)  # type: ignore[arg-type]
        self.title_text, self.prompt = title, prompt
        self.choices: list[Choice] = []
        self.value: str | None = None

    def show(self, choices: list[Choice], value: str | None, label: str | None = None) -> None:
        """The choices, and the value shown (None: the prompt, or `label` when given)."""
        self.choices, self.value = choices, value
        shown = next((c.label for c in choices if c.value == value), None) if value is not None else None
        self.label = f"{label or shown or self.prompt}  ▾"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if not self.choices:
            return

        def picked(value: str | None) -> None:
            if value is not None:
                self.show(self.choices, value)
                self.post_message(self.Changed(self, value))

        self.app.push_screen(PickModal(self.title_text, self.choices, self.value), picked)
