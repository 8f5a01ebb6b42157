"""Step 6: apply, step by step with live status and durations; Retry, Roll back or Quit on failure."""

from __future__ import annotations

import time

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Static

from ...steps import StepPlan
from .base import WizardScreen

ICONS = {
    "waiting": "[dim]·[/]",
    "running": "[cyan]…[/]",
    "done": "[green]✓[/]",
    "unchanged": "[dim]=[/]",
    "failed": "[red]✗[/]",
    "not run": "[dim]–[/]",
}


class StepProgress(Message):
    def __init__(self, step_id: str, status: str, message: str, seconds: float) -> None:
        super().__init__()
        self.step_id, self.status, self.message, self.seconds = step_id, status, message, seconds


class ApplyScreen(WizardScreen):
    STEP = 5
    TITLE = "Applying"
    PORTAL = "the Notifications pane, one deployment at a time"

    def __init__(self, step_plan: StepPlan) -> None:
        super().__init__()
        self.step_plan = step_plan
        self.started: dict[str, float] = {}
        self.running = False

    def next_label(self) -> str:
        return "Done ›"

    def body(self) -> ComposeResult:
        yield DataTable(id="steps", cursor_type="none")
        yield Static("", id="journal")
        yield Static("", id="error")
        with Horizontal(id="recovery"):
            yield Button("Retry", id="retry", variant="primary")
            yield Button("Roll back", id="rollback", variant="warning")
            yield Button("Quit", id="quit", variant="error")

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        table.add_column("", key="icon", width=2)
        table.add_column("step", key="step")
        table.add_column("time", key="time", width=8)
        for step in self.step_plan.steps:
            table.add_row(
                ICONS["waiting"] if step.writes else ICONS["unchanged"], escape(step.summary), "", key=step.id
            )
        self.query_one("#recovery").display = False
        self.query_one("#next", Button).disabled = True
        self.query_one("#back", Button).disabled = True
        self.set_interval(0.5, self._tick)
        self.run_apply()

    def _tick(self) -> None:
        table = self.query_one("#steps", DataTable)
        for step_id, started in self.started.items():
            table.update_cell(step_id, "time", f"{time.perf_counter() - started:5.1f}s")

    def on_step_progress(self, message: StepProgress) -> None:
        table = self.query_one("#steps", DataTable)
        if message.step_id not in {s.id for s in self.step_plan.steps}:
            return
        if message.status == "running":
            self.started[message.step_id] = time.perf_counter()
        else:
            self.started.pop(message.step_id, None)
        table.update_cell(message.step_id, "icon", ICONS.get(message.status, "?"))
        if message.status in ("done", "failed"):
            table.update_cell(message.step_id, "time", f"{message.seconds:5.1f}s")

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def run_apply(self) -> None:
        from ...apply import Applier, Progress

        gateway = self.wizard.gateway
        assert gateway is not None
        self.running = True
        self.say("[cyan]Writing to Azure…[/]")

        def report(p: Progress) -> None:
            self.post_message(StepProgress(p.step_id, p.status, p.message, p.seconds))

        applier = Applier(gateway, journal_dir=self.wizard.journal_dir, report=report)
        outcome = await applier.apply(self.step_plan.plan, self.step_plan)
        self.running = False
        self.state.outcome = outcome
        if outcome.journal:
            self.query_one("#journal", Static).update(f"Journal: {escape(str(outcome.journal))}")
        if outcome.error is not None:
            self.query_one("#error", Static).update(f"[red]{escape(outcome.error.plain())}[/]")
            self.query_one("#recovery").display = True
            self.query_one("#retry", Button).focus()
            self.say("[red]Stopped. Nothing after the failed step was written.[/]")
            return
        self.say("[green]Applied and verified.[/]" if outcome.ok else "[yellow]Applied; verify found problems.[/]")
        self.query_one("#next", Button).disabled = False
        self.query_one("#next", Button).focus()

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def retry(self) -> None:
        from ...steps import build_steps, read_live

        gateway = self.wizard.gateway
        assert gateway is not None
        self.query_one("#recovery").display = False
        self.query_one("#error", Static).update("")
        plan = self.step_plan.plan
        self.step_plan = build_steps(plan, await read_live(gateway, plan))  # resume: done steps read as unchanged
        table = self.query_one("#steps", DataTable)
        for step in self.step_plan.steps:
            table.update_cell(step.id, "icon", ICONS["waiting"] if step.writes else ICONS["unchanged"])
        self.run_apply()

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def roll_back(self) -> None:
        from ...apply import rollback

        outcome = self.state.outcome
        gateway = self.wizard.gateway
        if outcome is None or outcome.journal is None or gateway is None:
            return
        self.query_one("#recovery").display = False
        self.say("[cyan]Rolling back…[/]")
        undone = await rollback(gateway, outcome.journal)
        lines = [f"[green]undone[/] {escape(u)}" for u in undone.undone] + [
            f"[yellow]kept[/] {escape(k)}" for k in undone.kept
        ]
        lines += [f"[red]failed[/] {escape(f)}" for f in undone.failed]
        self.query_one("#error", Static).update("\n".join(lines) or "Nothing to undo.")
        self.say("[green]Rolled back.[/]" if undone.ok else "[red]Roll-back incomplete.[/]")
        self.query_one("#quit", Button).display = True
        self.query_one("#recovery").display = True
        self.query_one("#retry", Button).display = False
        self.query_one("#rollback", Button).display = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "retry":
            event.stop()
            self.retry()
        elif event.button.id == "rollback":
            event.stop()
            self.roll_back()
        elif event.button.id == "quit":
            event.stop()
            self.app.exit(1)
        else:
            super().on_button_pressed(event)

    def action_back(self) -> None:
        if not self.running:
            self.app.pop_screen()

    def action_next(self) -> None:
        outcome = self.state.outcome
        if self.running or outcome is None or outcome.error is not None:
            return
        from .done import DoneScreen

        self.app.push_screen(DoneScreen())
