"""Tags as key/value rows, each checked against Azure's tag rules as it is typed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from ... import rules


class TagRow(Horizontal):
    DEFAULT_CSS = "TagRow { height: 3; } TagRow Input { width: 1fr; } TagRow Button { min-width: 5; width: 5; }"

    def __init__(self, key: str = "", value: str = "") -> None:
        super().__init__()
        self.key, self.value = key, value

    def compose(self) -> ComposeResult:
        yield Input(self.key, placeholder="name", classes="tag-key")
        yield Input(self.value, placeholder="value", classes="tag-value")
        yield Button("✕", classes="tag-remove")


class TagRows(Vertical):
    DEFAULT_CSS = "TagRows { height: auto; } TagRows > #tag-problem { height: auto; }"

    def __init__(self, tags: dict[str, str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.initial = tags

    def compose(self) -> ComposeResult:
        for key, value in self.initial.items():
            yield TagRow(key, value)
        yield Button("+ tag", id="tag-add")
        yield Static("", id="tag-problem")

    def tags(self) -> dict[str, str]:
        found = {}
        for row in self.query(TagRow):
            key = row.query_one(".tag-key", Input).value.strip()
            if key:
                found[key] = row.query_one(".tag-value", Input).value
        return found

    def problem(self) -> str | None:
        try:
            rules.tags(self.tags(), field="tags")
        except rules.RuleError as err:
            return str(err)
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#tag-problem", Static).update(f"[red]{self.problem() or ''}[/]")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "tag-add":
            event.stop()
            row = TagRow()
            await self.mount(row, before=self.query_one("#tag-add"))
            row.query_one(Input).focus()
        elif event.button.has_class("tag-remove"):
            event.stop()
            parent = event.button.parent
            if parent is not None:
                await parent.remove()
            self.query_one("#tag-problem", Static).update(f"[red]{self.problem() or ''}[/]")
