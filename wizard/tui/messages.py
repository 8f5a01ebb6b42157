"""The messages the wizard's app and its screens send each other.

Screens depend on this module, never on the app or on one another: a screen says "my step is
done" (`NextStep`) or "go back" (`PreviousStep`), and the app, which owns the flow, decides
what comes next. Results of the app's workers (sign-in, the subscription's lists) come back as
messages too, passed on to the screen showing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from textual.screen import Screen

    from ..catalog import Catalog


class NextStep(Message):
    """`screen`'s step is complete (its choices are in the state): show the next step."""

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.screen = screen


class PreviousStep(Message):
    """Go back one step from `screen` (its choices are kept in the state)."""

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.screen = screen


class QuitRequested(Message):
    """The admin asked to quit (a Quit button): the app asks first when anything would be lost."""


class Connected(Message, bubble=False):
    """Signed in: who, and the subscriptions they can see (in the app's state)."""


class ConnectFailed(Message, bubble=False):
    """Signing in failed: `text` says why and what to do, in plain words."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DeviceCode(Message, bubble=False):
    """--device-code: the code to enter, and where."""

    def __init__(self, url: str, code: str) -> None:
        super().__init__()
        self.url, self.code = url, code


class CatalogLoaded(Message, bubble=False):
    """One subscription's lists are loaded (`wizard.catalog.Catalog`): every list's first page, or
    (`grown`: a Catalog field such as "apps") one more long list is now whole."""

    def __init__(self, catalog: Catalog, grown: str | None = None) -> None:
        super().__init__()
        self.catalog = catalog
        self.grown = grown


class CatalogFailed(Message, bubble=False):
    """A subscription's lists could not be read: `text` says why."""

    def __init__(self, subscription: str, text: str) -> None:
        super().__init__()
        self.subscription, self.text = subscription, text
