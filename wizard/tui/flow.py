"""The wizard's steps, in order: the one place that says what follows what.

The app walks this table: a screen's `NextStep` message pushes the next step's screen, and
`PreviousStep` pops back to the one before. Screens never import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from .screens.apply import ApplyScreen
from .screens.base import WizardScreen
from .screens.container_app import ContainerAppScreen
from .screens.done import DoneScreen
from .screens.identity import IdentityScreen
from .screens.review import ReviewScreen
from .screens.roles import RolesScreen
from .screens.sign_in import SignInScreen


@dataclass(frozen=True)
class FlowStep:
    name: str  # as the trail at the top of every screen shows it
    screen: type[WizardScreen]


FLOW: tuple[FlowStep, ...] = (
    FlowStep("Sign in", SignInScreen),
    FlowStep("Identity", IdentityScreen),
    FlowStep("Roles", RolesScreen),
    FlowStep("Container app", ContainerAppScreen),
    FlowStep("Review", ReviewScreen),
    FlowStep("Apply", ApplyScreen),
    FlowStep("Done", DoneScreen),
)


def index_of(screen_class: type[object]) -> int:
    """Where a step's screen class is in the flow; ValueError for a screen that is not a step."""
    for i, step in enumerate(FLOW):
        if step.screen is screen_class:
            return i
    raise ValueError(f"{screen_class.__name__} is not a step of the wizard")
