"""A list that filters as you type: an Input above an OptionList.

Only the first `limit` matches (more than a screen full) become options, so a tenant with 5,000 resource groups costs one
small OptionList rebuild per keystroke, not 5,000 widgets. The labels and search text are lower-cased once, when the
items are set; a keystroke is a substring scan over those strings.

Keys: typing filters wherever the focus is in the widget (a letter typed on the list goes to the filter); up/down in
the filter move through the list; Enter chooses the highlighted item (or the first match).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

NOTHING = "__none__"
MORE = "__more__"
LOADING = "__loading__"


@dataclass(frozen=True)
class Item:
    key: str
    label: str  # console markup
    search: str = ""  # extra text the filter matches, besides the label


def _for_the_filter(character: str | None) -> bool:
    """Is a key typed on the list meant for its filter? Printable keys are, but for space and
    `?` (help, as on every screen)."""
    return character is not None and character.isprintable() and character not in " ?"


class _Options(OptionList):
    """The list part: printable keys belong to the filter above it."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return _for_the_filter(character)

    def on_key(self, event: events.Key) -> None:
        if _for_the_filter(event.character):
            event.stop()
            event.prevent_default()
            box = self.parent.query_one(Input) if self.parent is not None else None
            if box is not None:
                box.focus()
                box.insert_text_at_cursor(event.character)


class _FilterInput(Input):
    """The filter box. Textual's Input sets its virtual size (a layout reactive) on every change of
    its value, and so lays out the whole screen on every keystroke; this box is one line of fixed
    size, so only its own scrolling depends on that width: it is set without a layout pass."""

    def _watch_value(self, value: str) -> None:
        self.set_reactive(Input.virtual_size, Size(self.content_width, 1))
        self._refresh_scrollbars()
        super()._watch_value(value)


class FilterList(Vertical):
    DEFAULT_CSS = """
    FilterList { height: 1fr; }
    FilterList > Input { margin-bottom: 0; }
    FilterList > OptionList { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    class Chosen(Message):
        def __init__(self, filter_list: FilterList, key: str) -> None:
            super().__init__()
            self.filter_list = filter_list
            self.key = key

        @property
        def control(self) -> FilterList:
            return self.filter_list

    def __init__(self, placeholder: str = "Type to filter", limit: int = 40, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.placeholder = placeholder
        self.limit = limit
        self.items: list[Item] = []
        self._haystacks: list[str] = []
        self._labels: list[str] = []
        self.chosen: str | None = None  # marked with a ● (see choose())
        self.matches = 0  # how many items the filter matches now (more than are shown, past `limit`)
        self.more_coming = False  # the items are a list's first pages: the rest is on its way
        # One Option per item and mark, kept while the items are: an Option keeps its parsed label, so a
        # keystroke re-parses none of the console markup of the matches it shows again.
        self._made: dict[tuple[str, bool | None], Option] = {}

    def compose(self) -> ComposeResult:
        yield _FilterInput(placeholder=self.placeholder, select_on_focus=False)
        yield _Options()

    @property
    def option_list(self) -> OptionList:
        return self.query_one(_Options)

    @property
    def highlighted_key(self) -> str | None:
        """The item under the cursor (None on 'nothing matches' or 'N more' lines)."""
        options = self.option_list
        if options.highlighted is None or not options.option_count:
            return None
        option = options.get_option_at_index(options.highlighted)
        return None if option.disabled else option.id

    def set_items(
        self, items: list[Item], keep: str | None = None, chosen: str | None = None, more_coming: bool = False
    ) -> None:
        """Show `items`, filtered by what is typed. The cursor goes to `keep`, else stays on the item
        it is on (the list was shown before), else goes to `chosen`. `more_coming`: say under the
        list that the rest of it is still loading."""
        keep = keep if keep is not None else (self.highlighted_key if self.items else None) or chosen
        self.items = items
        self.chosen = chosen
        self.more_coming = more_coming
        self._made = {}
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
        chosen = next((i for i, (_, n) in enumerate(found) if self.items[n].key == self.chosen), None)
        if chosen is not None and chosen >= self.limit:
            found.insert(0, found.pop(chosen))  # the chosen item stays in sight
        self.matches = len(found)
        options: list[Option | None] = [self._option(self.items[n]) for _, n in found[: self.limit]]
        if len(found) > self.limit:
            options.append(
                Option(f"[dim]… {len(found) - self.limit:,} more: type to narrow the list[/]", id=MORE, disabled=True)
            )
        if self.more_coming:
            options.append(Option("[dim]… loading the rest of the list[/]", id=LOADING, disabled=True))
        elif not found:
            text = "nothing matches: try fewer letters" if query else "none here"
            options.append(Option(f"[dim]{text}[/]", id=NOTHING, disabled=True))
        option_list = self.option_list
        option_list.set_options(options)
        if found:
            option_list.highlighted = 0
        if keep is not None:
            with contextlib.suppress(LookupError):
                option_list.highlighted = option_list.get_option_index(keep)

    def _option(self, item: Item) -> Option:
        marked = None if self.chosen is None else item.key == self.chosen
        made = self._made.get((item.key, marked))
        if made is None:
            prompt = item.label if marked is None else ("[b $accent]●[/] " if marked else "  ") + item.label
            made = self._made[(item.key, marked)] = Option(prompt, id=item.key)
        return made

    def choose(self, key: str | None) -> None:
        """Mark the item the admin chose (a ● before it), and keep the cursor on it."""
        self.chosen = key
        self.refilter(keep=key)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        key = self.highlighted_key
        if key is not None:
            self.post_message(self.Chosen(self, key))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not event.option.disabled:
            self.post_message(self.Chosen(self, event.option.id))

    def on_key(self, event: events.Key) -> None:
        # Up and down in the filter move through the list, so typing and choosing never need the mouse.
        if not self.query_one(Input).has_focus:
            return
        options = self.option_list
        if event.key in ("down", "up", "pagedown", "pageup"):
            event.stop()
            event.prevent_default()
            action = {"down": "cursor_down", "up": "cursor_up", "pagedown": "page_down", "pageup": "page_up"}
            getattr(options, f"action_{action[event.key]}")()
