"""Tags as key/value rows, each checked against Azure's tag rules as it is typed."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from ... import rules


class TagRow(Horizontal):
    DEFAULT_CSS = """
    TagRow { height: auto; }
    TagRow Input { width: 1fr; }
    TagRow Button { min-width: 3; width: 3; }
    """

    def __init__(self, key: str = "", value: str = "") -> None:
        super().__init__()
        self.key, self.value = key, value

    def compose(self) -> ComposeResult:
        yield Input(self.key, placeholder="name", classes="tag-key", compact=True)
        yield Static("=", classes="tag-eq")
        yield Input(self.value, placeholder="value", classes="tag-value", compact=True)
        yield Button("✕", classes="tag-remove", compact=True, tooltip="remove this tag")

    def pair(self) -> tuple[str, str]:
        return self.query_one(".tag-key", Input).value.strip(), self.query_one(".tag-value", Input).value

    def problem(self) -> str | None:
        key, value = self.pair()
        if not key and not value:
            return None  # an empty row is ignored
        try:
            rules.tag_name(key)
            rules.tag_value(value, key)
        except rules.RuleError as err:
            return err.message
        return None


class TagRows(Vertical):
    class Changed(Message):
        """A row was removed (typing in a row sends the Input's own Changed)."""

    DEFAULT_CSS = """
    TagRows { height: auto; }
    TagRows > #tag-problem { height: auto; }
    TagRows > #tag-add { margin-top: 1; }
    """

    def __init__(self, tags: dict[str, str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.initial = tags

    def compose(self) -> ComposeResult:
        for key, value in self.initial.items():
            yield TagRow(key, value)
        yield Static("", id="tag-problem")
        yield Button("+ tag", id="tag-add", compact=True)

    def tags(self) -> dict[str, str]:
        found = {}
        for row in self.query(TagRow):
            key, value = row.pair()
            if key:
                found[key] = value
        return found

    def problem(self) -> str | None:
        """The first thing wrong with the tags: a row's name or value, or the set (duplicates, too many)."""
        for row in self.query(TagRow):
            problem = row.problem()
            if problem:
                return f"tags: {problem}"
        try:
            rules.tags(self.tags(), field="tags")
        except rules.RuleError as err:
            return str(err)
        return None

    def _show_problem(self) -> None:
        problem = self.problem()
        self.query_one("#tag-problem", Static).update(f"[$text-error]✗ {escape(problem)}[/]" if problem else "")
        for row in self.query(TagRow):
            row.set_class(bool(row.problem()), "-invalid")

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._show_problem()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "tag-add":
            event.stop()
            row = TagRow()
            await self.mount(row, before=self.query_one("#tag-problem"))
            row.query_one(Input).focus()
        elif event.button.has_class("tag-remove"):
            event.stop()
            parent = event.button.parent
            if parent is not None:
                await parent.remove()
            self._show_problem()
            self.post_message(self.Changed())
