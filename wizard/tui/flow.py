"""The wizard's steps, in order: the one place that says what follows what.

The app walks this table: a screen's `NextStep` message pushes the next step's screen, and
`PreviousStep` pops back to the one before. Screens never import each other.

Each step names its screen class by module, and imports it when first asked: the first screen
paints before the later ones (and what they import) are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .screens.base import WizardScreen


@dataclass(frozen=True)
class FlowStep:
    name: str  # as the trail at the top of every screen shows it
    module: str  # under wizard.tui.screens
    class_name: str

    @cached_property
    def screen(self) -> type[WizardScreen]:
        """The step's screen class."""
        return getattr(import_module(f"{__package__}.screens.{self.module}"), self.class_name)  # type: ignore[no-any-return]


FLOW: tuple[FlowStep, ...] = (
    FlowStep("Sign in", "sign_in", "SignInScreen"),
    FlowStep("Identity", "identity", "IdentityScreen"),
    FlowStep("Roles", "roles", "RolesScreen"),
    FlowStep("Container app", "container_app", "ContainerAppScreen"),
    FlowStep("Review", "review", "ReviewScreen"),
    FlowStep("Apply", "apply", "ApplyScreen"),
    FlowStep("Done", "done", "DoneScreen"),
)


def index_of(screen_class: type[object]) -> int:
    """Where a step's screen class is in the flow; ValueError for a screen that is not a step."""
    for i, step in enumerate(FLOW):
        if screen_class.__module__ == f"{__package__}.screens.{step.module}" and screen_class.__name__ == step.class_name:
            return i
    raise ValueError(f"{screen_class.__name__} is not a step of the wizard")
