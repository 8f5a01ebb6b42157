"""Step 5: the exact change, before anything is written; the same as an az script and as Bicep."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static, TabbedContent, TabPane

from ...steps import StepPlan, diff_lines
from ..messages import NextStep
from ..widgets.cued_scroll import CuedScroll
from ..widgets.prose import Prose
from .base import WizardScreen
from .confirm import ConfirmModal

# Rich markup with the terminal's colour names (a Rich table, not a Textual widget, draws them).
MARKS = {"create": "[green]+[/]", "update": "[yellow]~[/]", "unchanged": "[dim]=[/]"}


def review_line(kind: str, text: str) -> tuple[str, str]:
    """The review's style for one line of the diff (`steps.diff_lines`): (mark, text), as Rich
    markup. `text` may carry values from Azure: it is escaped, so it can never restyle the review."""
    body = escape(text)
    if kind in MARKS:
        return MARKS[kind], f"[b]{body}[/]" if kind != "unchanged" else body
    if kind == "detail":
        return "", f"[dim]  {body}[/]"
    if kind == "warning":
        return "", f"[yellow]  ! {body}[/]"
    if kind == "problems":
        return "", f"[b red]{body}[/]"
    if kind == "problem":
        return "[red]✗[/]", f"[red]{body}[/]"
    return "", body


def review_table(step_plan: StepPlan) -> Table:
    """The diff as a two-column grid: the mark, then the text, which wraps under itself."""
    grid = Table.grid(expand=True)
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for mark, body in diff_lines(step_plan, review_line):
        grid.add_row(mark, body)
    grid.add_row("", "[dim]+ create   ~ change   = as it is[/]")
    return grid


class ReviewScreen(WizardScreen):
    TITLE = "Review: exactly what will change"
    PORTAL = "the Review + create and Review + assign tabs"
    HELP = (
        "Nothing has been written yet. runner-identity has read what Azure holds now for everything "
        "the plan touches, and shows the difference:\n\n"
        "[b]+[/] is created, [b]~[/] is changed, [b]=[/] is already as planned and is left alone. "
        "Warnings (!) are worth reading; problems (✗) stop apply before its first write.\n\n"
        "The [b]az CLI[/] and [b]Bicep[/] tabs show the same change as a script or as infrastructure "
        "as code, for a change review. [b]Save plan[/] (ctrl+s) writes plan.toml: "
        "`runner-identity apply plan.toml` applies it from a pipeline."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "save", "Save plan")]

    def __init__(self) -> None:
        super().__init__()
        self.step_plan: StepPlan | None = None

    def next_label(self) -> str:
        return "Apply… ›"

    def body(self) -> ComposeResult:
        with TabbedContent(id="tabs"):
            with TabPane("Changes", id="changes-tab"), CuedScroll(readable=True):
                yield Prose("", id="changes")
            with TabPane("az CLI", id="az-tab"), CuedScroll(readable=True):
                yield Static("", id="az", markup=False)
            with TabPane("Bicep", id="bicep-tab"), CuedScroll(readable=True):
                yield Static("", id="bicep", markup=False)
        with Horizontal(classes="save"):
            yield Prose("Plan file", classes="save-label")
            yield Input("plan.toml", id="plan-path", compact=True)
            yield Button("Save plan", id="save", compact=True)

    def mounted(self) -> None:
        self.query_one("#tabs").loading = True
        self.load()

    @work(exclusive=True, exit_on_error=False, group="review")
    async def load(self) -> None:
        """Read the live state the plan touches and diff it (build_steps): nothing is written."""
        from ...azure.errors import GatewayError
        from ...export import render_az, render_bicep
        from ...steps import build_steps, read_live

        plan = self.state.to_plan()
        problems = plan.problems()
        if problems:
            self.query_one("#tabs").loading = False
            self.query_one("#changes", Static).update(
                "[b $text-error]The plan is not complete:[/]\n"
                + "\n".join(f"  [$text-error]✗ {escape(str(p))}[/]" for p in problems)
                + "\n\nescape goes back to fix it."
            )
            self.say("[$text-error]✗ Fix the plan first.[/]")
            return
        gateway = self.wizard.gateway
        assert gateway is not None
        try:
            self.step_plan = build_steps(plan, await read_live(gateway, plan))
        except GatewayError as err:
            self.query_one("#tabs").loading = False
            self.query_one("#changes", Static).update(f"[$text-error]✗ {escape(err.plain())}[/]")
            self.say("[$text-error]✗ Could not read the live state.[/] escape, then ctrl+n, tries again.")
            return
        self.query_one("#tabs").loading = False
        self.query_one("#changes", Static).update(review_table(self.step_plan))
        step_plan, connection = self.step_plan, gateway.connection
        # The az script is made for the cloud or endpoint in use, as `runner-identity export` makes it.
        for widget, render in (
            ("#az", lambda: render_az(step_plan, connection)),
            ("#bicep", lambda: render_bicep(step_plan)),
        ):
            try:
                text = render()
            except Exception as exc:  # the export is a convenience: its failure must not block the review
                text = f"(could not render: {exc})"
            self.query_one(widget, Static).update(text)
        if self.step_plan.problems:
            self.say("[$text-error]✗ Azure would refuse this plan: see 'Cannot apply' above.[/]")
        elif not self.step_plan.writes:
            self.say("[$text-success]✓ Azure already matches this plan: nothing to write.[/]")
        else:
            self.say("Nothing has been written yet. ctrl+n applies, after a confirmation.")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            event.stop()
            self.action_save()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "plan-path":
            event.stop()
            self.action_save()

    def action_save(self) -> None:
        path = Path(self.query_one("#plan-path", Input).value.strip() or "plan.toml").expanduser()
        plan = self.state.to_plan()
        try:
            plan.save(path)
        except OSError as err:
            self.say(f"[$text-error]✗ Could not save {escape(str(path))}: {escape(err.strerror or str(err))}[/]")
            return
        self.state.saved = plan
        self.say(
            f"[$text-success]✓ Saved {escape(str(path))}[/]: `runner-identity apply {escape(str(path))}` applies it"
        )

    def action_next(self) -> None:
        step_plan = self.step_plan
        if step_plan is None:
            self.say("Still reading the live state…")
            return
        if step_plan.problems:
            self.say("[$text-error]✗ Azure would refuse this plan: see 'Cannot apply' above.[/]")
            self.app.bell()
            return
        writes = sum(1 for s in step_plan.steps if s.writes)
        question = (
            f"Apply {writes} change{'s' if writes != 1 else ''} to subscription "
            f"[b]{escape(self.state.subscription_name())}[/]?\n\n"
            "Each write is journaled first, so a failure can be resumed or rolled back."
            if writes
            else "Azure already matches the plan. Verify it?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.state.step_plan = step_plan
                self.post_message(NextStep(self))

        self.app.push_screen(ConfirmModal(question, "Apply" if writes else "Verify"), answered)
