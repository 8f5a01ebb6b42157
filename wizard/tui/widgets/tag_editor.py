"""Tags: a table of the tags, and one row to add a tag or change the one chosen in the table.

One table and one row of fields, however many tags there are: a resource may carry 50, and a
row of fields per tag made the identity screen slow to open and too narrow to read at 80
columns. Each name and value is checked against Azure's tag rules as it is typed.

Keys: Enter on a tag puts it in the row below to change it; Delete removes it. In the row, Enter
in the name moves to the value; Enter in the value adds the tag (or changes the chosen one).
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Static

from ... import rules
from ...steps import shown
from .prose import Prose


class TagEditor(Vertical):
    class Changed(Message):
        """A tag was added, changed or removed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("delete", "remove_tag", "Remove tag")]

    def __init__(self, tags: dict[str, str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._tags = dict(tags)
        self.editing: str | None = None  # the tag being changed in the row, if any

    def compose(self) -> ComposeResult:
        table = DataTable(id="tag-table", cursor_type="row", zebra_stripes=True)
        table.display = bool(self._tags)  # before mounting: cheaper than after
        yield table
        with Horizontal(id="tag-edit"):
            yield Input(placeholder="name", id="tag-key", compact=True)
            yield Input(placeholder="= value", id="tag-value", compact=True)
            yield Button("Add", id="tag-set", compact=True)
        yield Prose("", id="tag-problem")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("name", key="name")
        table.add_column("value", key="value")
        self._fill()

    # -- what the admin sees -------------------------------------------------------------------------
    def _fill(self, cursor: str | None = None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for key, value in self._tags.items():
            # Text, not markup: a tag read from Azure is shown as it is, never as styling.
            table.add_row(Text(shown(key)), Text(shown(value)), key=key)
        table.display = bool(self._tags)
        if cursor is not None and cursor in self._tags:
            table.move_cursor(row=list(self._tags).index(cursor))

    def tags(self) -> dict[str, str]:
        """The tags, in the order they were added."""
        return dict(self._tags)

    def _pending(self) -> tuple[str, str]:
        return self.query_one("#tag-key", Input).value.strip(), self.query_one("#tag-value", Input).value

    def _with_pending(self) -> dict[str, str]:
        key, value = self._pending()
        tags = {k: v for k, v in self._tags.items() if k != self.editing}
        if key:
            tags[key] = value
        return tags

    def problem(self) -> str | None:
        """The first thing wrong with the tags, including the row being typed: its name or value,
        or the set (names that differ only in case, more than Azure's 50). None when all is well."""
        key, value = self._pending()
        if key or value:
            try:
                rules.tag_name(key)
                rules.tag_value(value, key)
            except rules.RuleError as err:
                return f"tags: {err.message}"
        try:
            rules.tags(self._with_pending(), field="tags")
        except rules.RuleError as err:
            return str(err)
        return None

    def _show_problem(self) -> None:
        problem = self.problem()
        self.query_one("#tag-problem", Static).update(f"[$text-error]✗ {escape(problem)}[/]" if problem else "")
        key, _ = self._pending()
        self.query_one("#tag-key", Input).set_class(bool(problem) and bool(key), "-invalid")

    # -- changing the tags -------------------------------------------------------------------------
    def commit(self) -> bool:
        """Add the tag typed in the row (or change the chosen one). False when the row is empty or
        breaks a rule (the problem is shown)."""
        key, value = self._pending()
        if not key:
            if value:
                self._show_problem()
            return False
        if self.problem():
            self._show_problem()
            return False
        if self.editing is not None and self.editing != key:
            # A renamed tag keeps its place in the list.
            self._tags = {(key if k == self.editing else k): (value if k == self.editing else v) for k, v in self._tags.items()}
        else:
            self._tags[key] = value
        self.editing = None
        self.query_one("#tag-key", Input).value = ""
        self.query_one("#tag-value", Input).value = ""
        self.query_one("#tag-set", Button).label = "Add"
        self._fill(cursor=key)
        self._show_problem()
        self.post_message(self.Changed())
        return True

    def action_remove_tag(self) -> None:
        table = self.query_one(DataTable)
        if not table.has_focus or not self._tags or table.cursor_row is None:
            return
        key = list(self._tags)[table.cursor_row]
        del self._tags[key]
        if self.editing == key:
            self.editing = None
            self.query_one("#tag-set", Button).label = "Add"
        self._fill()
        if self._tags:
            table.move_cursor(row=min(table.cursor_row, len(self._tags) - 1))
        else:
            self.query_one("#tag-key", Input).focus()
        self._show_problem()
        self.post_message(self.Changed())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a tag: change it in the row below."""
        event.stop()
        key = str(event.row_key.value)
        self.editing = key
        self.query_one("#tag-key", Input).value = key
        self.query_one("#tag-value", Input).value = self._tags[key]
        self.query_one("#tag-set", Button).label = "Change"
        self.query_one("#tag-value", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show_problem()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "tag-key":
            self.query_one("#tag-value", Input).focus()
        elif self.commit():
            self.query_one("#tag-key", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "tag-set":
            event.stop()
            self.commit()
