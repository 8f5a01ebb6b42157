"""What a wizard screen may ask of the app that shows it, without importing the app.

`RunnerIdentityApp` (app.py) provides all of this; screens see it through `WizardScreen.wizard`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen

    from ..azure.gateway import Gateway
    from .messages import DeviceCode
    from .state import WizardState


class WizardHost(Protocol):
    state: WizardState
    gateway: Gateway | None
    sandbox_banner: str | None  # shown on every screen when the wizard runs against a sandbox
    journal_dir: Path | None
    connect_error: str | None  # why signing in failed, in plain words
    device_code: DeviceCode | None  # the code to enter, while a --device-code sign-in waits
    uses_device_code: bool  # the sign-in is by device code (so never suggest it as the fix)

    @property
    def applying(self) -> bool:
        """True while apply (or a retry or roll-back) is writing to Azure."""
        ...

    def connect(self) -> object:
        """Sign in (again) in the background; Connected or ConnectFailed comes back."""
        ...

    def load_catalog(self, subscription: str) -> None:
        """Make sure `subscription`'s lists are loaded or loading; CatalogLoaded comes back."""
        ...

    def step_names(self) -> list[str]:
        """The steps of the flow, in order, as the trail shows them."""
        ...

    def step_index(self, screen: Screen[object]) -> int:
        """Where `screen` is in the flow (0 is the first step)."""
        ...
