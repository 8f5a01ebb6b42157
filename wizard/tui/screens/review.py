"""Step 5: the exact change, before anything is written; the same as an az script and as Bicep."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, LoadingIndicator, Static, TabbedContent, TabPane

from ...steps import StepPlan
from .base import WizardScreen
from .confirm import ConfirmModal

# The spaces sit inside the styles: Textual's markup drops whitespace right after a closing tag.
MARKS = {"create": "[green]+ create   [/]", "update": "[yellow]~ change   [/]", "unchanged": "[dim]= as is    [/]"}


def render_steps(step_plan: StepPlan) -> str:
    lines = []
    for step in step_plan.steps:
        lines.append(f"{MARKS[step.action]}{escape(step.summary)}")
        lines += [f"            [dim]{escape(d)}[/]" for d in step.details]
        lines += [f"            [yellow]! {escape(w)}[/]" for w in step.warnings]
    if step_plan.problems:
        lines += ["", "[b red]Cannot apply:[/]"] + [f"  [red]✗ {escape(p)}[/]" for p in step_plan.problems]
    counts = {a: sum(1 for s in step_plan.steps if s.action == a) for a in MARKS}
    lines += ["", f"{counts['create']} to create, {counts['update']} to change, {counts['unchanged']} unchanged."]
    return "\n".join(lines)


class ReviewScreen(WizardScreen):
    STEP = 4
    TITLE = "Review: exactly what will change"
    PORTAL = "the Review + create / Review + assign tabs"

    def __init__(self) -> None:
        super().__init__()
        self.step_plan: StepPlan | None = None

    def next_label(self) -> str:
        return "Apply…"

    def body(self) -> ComposeResult:
        yield LoadingIndicator(id="loading")
        with TabbedContent(id="tabs"):
            with TabPane("Changes", id="changes-tab"), VerticalScroll():
                yield Static("", id="changes")
            with TabPane("az CLI", id="az-tab"), VerticalScroll():
                yield Static("", id="az", markup=False)
            with TabPane("Bicep", id="bicep-tab"), VerticalScroll():
                yield Static("", id="bicep", markup=False)
        with Horizontal(classes="save"):
            yield Input("plan.toml", id="plan-path")
            yield Button("Save plan", id="save")

    def on_mount(self) -> None:
        self.query_one("#tabs").display = False
        self.load()

    @work(exclusive=True, exit_on_error=False, group="review")
    async def load(self) -> None:
        from ...azure.errors import GatewayError
        from ...export import render_az, render_bicep
        from ...steps import build_steps, read_live

        plan = self.state.to_plan()
        problems = plan.problems()
        if problems:
            self.query_one("#loading").display = False
            self.say("[red]" + escape("; ".join(str(p) for p in problems)) + "[/]")
            return
        gateway = self.wizard.gateway
        assert gateway is not None
        try:
            self.step_plan = build_steps(plan, await read_live(gateway, plan))
        except GatewayError as err:
            self.query_one("#loading").display = False
            self.say(f"[red]{escape(err.plain())}[/]")
            return
        self.query_one("#loading").display = False
        self.query_one("#tabs").display = True
        self.query_one("#changes", Static).update(render_steps(self.step_plan))
        self.query_one("#az", Static).update(render_az(self.step_plan))
        self.query_one("#bicep", Static).update(render_bicep(self.step_plan))
        if self.step_plan.problems:
            self.say("[red]Fix the problems above first.[/]")
        elif not self.step_plan.writes:
            self.say("[green]Azure already matches this plan: nothing to write.[/]")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            event.stop()
            path = Path(self.query_one("#plan-path", Input).value.strip() or "plan.toml")
            try:
                self.state.to_plan().save(path)
            except OSError as err:
                self.say(f"[red]Could not save {escape(str(path))}: {escape(err.strerror or str(err))}[/]")
                return
            self.say(f"[green]Saved {escape(str(path))}[/]: `runner-identity apply {escape(str(path))}` applies it")
            return
        super().on_button_pressed(event)

    def action_next(self) -> None:
        step_plan = self.step_plan
        if step_plan is None:
            self.say("Still reading the live state…")
            return
        if step_plan.problems:
            self.say("[red]Fix the problems above first.[/]")
            self.app.bell()
            return
        writes = sum(1 for s in step_plan.steps if s.writes)
        question = (
            f"Apply {writes} change(s) to subscription [b]{escape(self.state.subscription_name())}[/]?\n\n"
            "Each write is journaled, so it can be resumed or rolled back."
            if writes
            else "Azure already matches the plan. Verify it?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                from .apply import ApplyScreen

                self.app.push_screen(ApplyScreen(step_plan))

        self.app.push_screen(ConfirmModal(question, "Apply" if writes else "Verify"), answered)
