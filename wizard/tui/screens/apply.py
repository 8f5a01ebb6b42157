"""Step 6: apply, step by step with live status and durations; Retry, Roll back or Quit on failure.

`Applier` reports each step's progress through a callback; the callback runs in the apply worker
on the app's event loop and only posts a `StepProgress` message, which the screen turns into a
row update. The container app's long-running operation reports Azure's status as it polls, and
every retry says why it is waiting (a throttled or failed answer, a dropped connection).

Next appears only once apply has succeeded: until then there is nothing to go on to.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Static

from ...steps import StepPlan
from ..messages import QuitRequested
from ..text import az
from ..widgets.cued_scroll import CuedScroll
from ..widgets.prose import Prose
from .base import WizardScreen

# The steps table is a Rich table: Rich markup (not the theme's $variables), plain colour names.
ICONS = {
    "waiting": "[dim]·[/]",
    "held": "[yellow]…[/]",
    "running": "[cyan]…[/]",
    "polling": "[cyan]…[/]",
    "retrying": "[yellow]↻[/]",
    "done": "[green]✓[/]",
    "unchanged": "[dim]=[/]",
    "failed": "[red]✗[/]",
    "not run": "[dim]–[/]",
}
WORDS = {
    "waiting": "[dim]waiting[/]",
    "held": "[yellow]waiting: see below[/]",
    "running": "[cyan]writing…[/]",
    "retrying": "[yellow]retrying…[/]",
    "done": "[green]done[/]",
    "unchanged": "[dim]as is[/]",
    "failed": "[red]failed[/]",
    "not run": "[dim]not run[/]",
}
APP_STEPS = ("link", "env")  # apply writes both with one PATCH, reported as the step "app"


class StepProgress(Message):
    def __init__(self, step_id: str, status: str, message: str, seconds: float) -> None:
        super().__init__()
        self.step_id, self.status, self.message, self.seconds = step_id, status, message, seconds


class Row:
    """One step's line in the table."""

    def __init__(self, status: str) -> None:
        self.status = status
        self.said = ""  # what Azure says while it works (the long-running operation's status)
        self.seconds = 0.0
        self.retries = 0


class ApplyScreen(WizardScreen):
    TITLE = "Applying"
    PORTAL = "the Notifications pane (the bell), one deployment at a time"
    HELP = (
        "The writes go in dependency order: the identity, then all its role assignments at once, "
        "then one update of the container app that both links the identity and sets "
        "AZURE_CLIENT_ID, so there is one new revision and one long-running operation.\n\n"
        "A throttled (429) or failed (5xx) answer is retried after a pause, and the row says so. "
        "Every write is recorded in a journal before and after it is sent. If a step fails, "
        "[b]Retry[/] reads Azure again and writes only what is still missing; [b]Roll back[/] "
        "undoes exactly what this run wrote, and nothing else. Then the result is verified."
    )
    SHOW_BACK = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry"),
        Binding("u", "roll_back", "Roll back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}
        self.failed = False
        self.rolled_back = False
        self.rollback_tried = False

    @property
    def step_plan(self) -> StepPlan:
        assert self.state.step_plan is not None, "Review puts the reviewed diff in the state before Apply"
        return self.state.step_plan

    def next_label(self) -> str:
        return "The result ›"

    def body(self) -> ComposeResult:
        yield Prose("", id="steps")
        with CuedScroll(id="apply-notes", readable=True):
            yield Prose("", id="retries")
            yield Prose("", id="error")
            yield Prose("", id="journal")
        with Horizontal(id="recovery"):
            yield Button("Retry (r)", id="retry", variant="primary", compact=True, tooltip="resume: done steps are kept")
            yield Button("Roll back (u)", id="rollback", variant="warning", compact=True, tooltip="undo this run's writes")
            yield Button("Quit", id="quit", variant="error", compact=True)

    def mounted(self) -> None:
        self.retry_notes: list[str] = []
        # What apply waits for (another update of the app, a provider's registration), by what it
        # waits for: one line each, brought up to date as the wait goes on, kept once it has ended.
        self.wait_notes: dict[str, tuple[str, str]] = {}  # (the step, what it waits for)
        self._reset_rows()
        self.query_one("#recovery").display = False
        self._show_next(False)
        self.set_interval(0.5, self._tick)
        self.run_apply()

    def _show_next(self, shown: bool) -> None:
        self.query_one("#next", Button).display = shown
        self.refresh_bindings()

    def _reset_rows(self) -> None:
        self.rows = {s.id: Row("waiting" if s.writes else "unchanged") for s in self.step_plan.steps}
        self._render_rows()

    def _render_rows(self) -> None:
        """The steps as a table that fits any width: the step's text is cut, never the status."""
        table = Table(box=None, expand=True, show_edge=False, pad_edge=False, header_style="bold")
        table.add_column("", width=1, no_wrap=True)
        table.add_column("step", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("status", width=18, no_wrap=True, overflow="ellipsis")
        table.add_column("time", width=5, justify="right", no_wrap=True)
        for step in self.step_plan.steps:
            row = self.rows[step.id]
            if row.status == "polling" and row.said:
                word = f"[cyan]{az(row.said)}[/]"
            else:
                word = WORDS.get(row.status, "")
                if row.retries and row.status == "retrying":
                    word = f"[yellow]retrying ({row.retries})…[/]"
                elif row.retries and row.status in ("done", "failed"):
                    word += f" [yellow]({row.retries} {'retry' if row.retries == 1 else 'retries'})[/]"
            shown = f"{row.seconds:.1f}s" if row.seconds else ""
            table.add_row(ICONS.get(row.status, "?"), az(step.summary), word, shown)
        self.query_one("#steps", Static).update(table)
        notes = self.query_one("#retries", Static)
        lines = [f"[$text-warning]… {step}: {why}[/]" for step, why in self.wait_notes.values()]
        lines += [f"[$text-warning]↻ {note}[/]" for note in self.retry_notes[-6:]]
        notes.update("\n".join(lines))
        notes.display = bool(lines)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        outcome = self.state.outcome
        if action == "retry":
            return self.failed and not self.rollback_tried
        if action == "roll_back":
            return self.failed and not self.rolled_back and outcome is not None and outcome.journal is not None
        if action == "next":
            return self.query_one("#next", Button).display
        return super().check_action(action, parameters)

    def _tick(self) -> None:
        if not self.started:
            return
        for step_id, started in self.started.items():
            self.rows[step_id].seconds = time.perf_counter() - started
        self._render_rows()

    def on_step_progress(self, message: StepProgress) -> None:
        ids = [s for s in APP_STEPS if s in self.rows and self.rows[s].status != "unchanged"]
        for step_id in ids if message.step_id == "app" else [message.step_id]:
            if step_id in self.rows:
                self._progress(step_id, message)
        self._render_rows()

    def _progress(self, step_id: str, message: StepProgress) -> None:
        row = self.rows[step_id]
        if message.status == "retrying":
            row.retries += 1
            step = self.step_plan.step(step_id)
            self.retry_notes.append(f"{az(step.summary if step else step_id)}: {az(message.message)}")
        if message.status == "waiting" and message.message:
            # Not queued behind another step: held by Azure, and the message says by what.
            why = message.message.rsplit(" (", 1)[0]  # without the seconds, which change as it waits
            step = self.step_plan.step(step_id)
            label = self.wait_notes.get(why, (az(step.summary if step else step_id), ""))[0]
            self.wait_notes[why] = (label, az(message.message))
            message = StepProgress(step_id, "held", message.message, message.seconds)
        if message.status in ("running", "polling", "retrying", "held"):
            started = self.started.setdefault(step_id, time.perf_counter())
            row.seconds = time.perf_counter() - started
        else:
            self.started.pop(step_id, None)
            row.seconds = message.seconds or row.seconds
        row.status = message.status
        row.said = message.message if message.status == "polling" else ""

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def run_apply(self) -> None:
        from ...apply import Applier, Progress

        gateway = self.wizard.gateway
        assert gateway is not None
        self.failed = False
        self.refresh_bindings()
        self.say("[$text-accent]Writing to Azure…[/] (ctrl+q asks before quitting)")

        def report(p: Progress) -> None:
            self.post_message(StepProgress(p.step_id, p.status, p.message, p.seconds))

        applier = Applier(gateway, journal_dir=self.wizard.journal_dir, report=report)
        try:
            outcome = await applier.apply(self.step_plan.plan, self.step_plan)
        except Exception as exc:  # not Azure saying no (that is outcome.error): say it, keep the screen
            self._failed(f"Apply stopped unexpectedly: {exc}")
            return
        self.state.outcome = outcome
        self.started.clear()
        if outcome.journal:
            self.query_one("#journal", Static).update(f"Journal: {az(outcome.journal)}")
        if outcome.status == "blocked":
            self._failed("Azure would refuse this plan now:\n" + "\n".join(f"✗ {p}" for p in outcome.step_plan.problems))
            return
        if outcome.error is not None:
            self._failed(outcome.error.plain())
            return
        if outcome.ok:
            self.say("[$text-success]✓ Applied and verified.[/] ctrl+n shows the result.")
        else:
            self.say("[$text-warning]! Applied; verify found problems.[/] ctrl+n shows them.")
        self._show_next(True)
        self.query_one("#next", Button).focus()

    def _failed(self, text: str) -> None:
        self.failed = True
        self.started.clear()
        self.query_one("#error", Static).update(f"[$text-error]✗ {az(text)}[/]")
        self.query_one("#recovery").display = True
        self.query_one("#retry", Button).display = True
        self.query_one("#rollback", Button).display = self.state.outcome is not None and bool(
            self.state.outcome.journal
        )
        self.query_one("#retry", Button).focus()
        self.say("[$text-error]✗ Stopped: nothing after the failed step was written.[/] Retry, Roll back or Quit.")
        self._show_next(False)

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def retry(self) -> None:
        """Read the live state again and apply what is left: steps done before read as unchanged."""
        from ...azure.errors import GatewayError
        from ...steps import build_steps, read_live

        gateway = self.wizard.gateway
        assert gateway is not None
        self.failed = False
        self.refresh_bindings()
        self.query_one("#recovery").display = False
        self.query_one("#error", Static).update("")
        self.say("Reading the live state again…")
        plan = self.step_plan.plan
        try:
            self.state.step_plan = build_steps(plan, await read_live(gateway, plan))
        except GatewayError as err:
            self._failed(err.plain())
            return
        self.retry_notes = []
        self.wait_notes = {}
        self._reset_rows()
        self.run_apply()

    @work(exclusive=True, exit_on_error=False, group="apply")
    async def roll_back(self) -> None:
        """Show the rollback's steps (the list `runner-identity rollback` prints: the run's every
        attempt, diffed against Azure now) and, on Yes, do exactly those."""
        from ...azure.errors import GatewayError
        from ...journal import JournalError
        from ...rollback import execute, outcome_lines, plan_rollback, read_run
        from .rollback_confirm import RollbackConfirm, styled

        outcome = self.state.outcome
        gateway = self.wizard.gateway
        if outcome is None or outcome.journal is None or gateway is None:
            return
        self.say("Reading what this run wrote and what uses it now…")
        try:
            plan = await plan_rollback(gateway, read_run(outcome.journal))
        except GatewayError as err:
            self.say(f"[$text-error]Cannot plan the roll back:[/] {az(err.plain())}")
            return
        except (OSError, JournalError) as err:
            self.say(f"[$text-error]Cannot read the journal:[/] {az(str(err))}")
            return
        if plan.writes or plan.problems:
            confirmed = await self.app.push_screen_wait(RollbackConfirm(plan))
            if not confirmed:
                self.say("Nothing was rolled back. Retry, Roll back or Quit.")
                return
        self.failed = False
        self.rollback_tried = True
        self.refresh_bindings()
        self.query_one("#recovery").display = False
        self.say("[$text-accent]Rolling back…[/]")
        try:
            undone = await execute(gateway, plan)
        except GatewayError as err:
            self._failed(err.plain())
            return
        lines = outcome_lines(undone)
        self.query_one("#error", Static).update("\n".join(styled(kind, text) for kind, text in lines))
        self.rolled_back = undone.ok
        self.failed = True  # still not applied: Quit, or (if the roll-back failed) Roll back again
        if undone.ok:
            self.state.rolled_back = True  # nothing of this run that could be undone is left in Azure
            self.say("[$text-success]✓ Rolled back.[/] What stays is listed above, with why. ctrl+q quits.")
        else:
            self.say("[$text-error]✗ Roll-back incomplete: see above.[/] Roll back again continues it.")
        self.query_one("#recovery").display = True
        self.query_one("#retry", Button).display = False
        self.query_one("#rollback", Button).display = not undone.ok
        self.query_one("#quit", Button).focus()
        self.refresh_bindings()

    def action_retry(self) -> None:
        if self.check_action("retry", ()) and not self.wizard.applying:
            self.retry()

    def action_roll_back(self) -> None:
        if self.check_action("roll_back", ()) and not self.wizard.applying:
            self.roll_back()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "retry":
            event.stop()
            self.action_retry()
        elif event.button.id == "rollback":
            event.stop()
            self.action_roll_back()
        elif event.button.id == "quit":
            event.stop()
            self.post_message(QuitRequested())

    def action_next(self) -> None:
        outcome = self.state.outcome
        if self.wizard.applying or self.failed or outcome is None or outcome.error is not None:
            return
        super().action_next()
