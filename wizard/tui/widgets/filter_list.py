"""A list that filters as you type: an Input above an OptionList.

Only the first `limit` matches (a few screens full) become options, so a tenant with 5,000 resource groups costs one
small OptionList rebuild per keystroke, not 5,000 widgets.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    search: str = ""  # extra text the filter matches, besides the label


class FilterList(Vertical):
    DEFAULT_CSS = """
    FilterList { height: 1fr; }
    FilterList > Input { margin-bottom: 0; }
    FilterList > OptionList { height: 1fr; }
    """

    class Chosen(Message):
        def __init__(self, filter_list: FilterList, key: str) -> None:
            super().__init__()
            self.filter_list = filter_list
            self.key = key

        @property
        def control(self) -> FilterList:
            return self.filter_list

    def __init__(self, placeholder: str = "Type to filter", limit: int = 60, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.placeholder = placeholder
        self.limit = limit
        self.items: list[Item] = []
        self._haystacks: list[str] = []
        self._labels: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder)
        yield OptionList()

    def set_items(self, items: list[Item], keep: str | None = None) -> None:
        self.items = items
        self._labels = [Text.from_markup(i.label).plain.lower() for i in items]
        self._haystacks = [f"{label} {i.search.lower()}" for label, i in zip(self._labels, items, strict=True)]
        self.refilter(keep)

    def refilter(self, keep: str | None = None) -> None:
        query = self.query_one(Input).value.lower().strip()
        words = query.split()
        found = [
            (rank, n)
            for n, (label, hay) in enumerate(zip(self._labels, self._haystacks, strict=True))
            if all(w in hay for w in words)
            for rank in [0 if label.lstrip("★ ").startswith(query) else 1 if query in label else 2]
        ]
        # What the label starts with, then what it contains, then matches in the description.
        found.sort()
        matches = [self.items[n] for _, n in found]
        options: list[Option | None] = [Option(i.label, id=i.key) for i in matches[: self.limit]]
        if len(matches) > self.limit:
            options.append(
                Option(
                    f"[dim]… {len(matches) - self.limit:,} more: type to narrow the list[/]",
                    id="__more__",
                    disabled=True,
                )
            )
        if not matches:
            options.append(Option("[dim]nothing matches[/]", id="__none__", disabled=True))
        option_list = self.query_one(OptionList)
        option_list.set_options(options)
        if keep is not None:
            with contextlib.suppress(LookupError):
                option_list.highlighted = option_list.get_option_index(keep)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option_list = self.query_one(OptionList)
        if option_list.option_count:
            index = option_list.highlighted if option_list.highlighted is not None else 0
            option = option_list.get_option_at_index(index)
            if not option.disabled and option.id:
                self.post_message(self.Chosen(self, option.id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not event.option.disabled:
            self.post_message(self.Chosen(self, event.option.id))

    def on_key(self, event: object) -> None:
        # Down from the filter moves into the list, so the keyboard alone walks it.
        key = getattr(event, "key", "")
        if key == "down" and self.query_one(Input).has_focus:
            self.query_one(OptionList).focus()
            getattr(event, "stop", lambda: None)()
