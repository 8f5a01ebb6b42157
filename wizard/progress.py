"""What apply is doing and waiting for, on stderr: one live line on a terminal (rich), plain lines
when piped (CI logs), never anything on stdout, so `--json` output stays one document.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

# Statuses that end a step; anything else ("running", "polling", "waiting", ...) is a wait.
FINAL = ("done", "failed", "unchanged")
# An Azure-AsyncOperation's status values that end it (ARM's async operation guidance).
TERMINAL_OPERATION_STATES = ("Succeeded", "Failed", "Canceled")
# Seconds between reminders in plain mode while one wait goes on (a CI log shows it is alive).
HEARTBEAT_S = 15.0


class ApplyProgress:
    """Receives apply's `Progress` reports and the SDK's retry notices and shows them.

    `live`: a live line (True on a terminal by default); plain lines otherwise. Use as a context
    manager; `report` and `retry` may be called from the event loop's thread only.
    """

    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        self.stream = stream
        self.live_mode = stream.isatty() if live is None else live
        self._what = ""  # what is being waited for now
        self._step = ""  # the step that wait belongs to
        self._since = time.monotonic()
        self._live: Any = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._last_beat = 0.0
        self._notice_told = False  # the last thing heard was the SDK's retry notice

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> ApplyProgress:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, highlight=False)
            self._live = Live(self, console=console, refresh_per_second=4, transient=True)
            self._live.start()
        else:
            self._beat = threading.Thread(target=self._heartbeat, name="progress", daemon=True)
            self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._beat is not None:
            self._beat.join(timeout=1)

    # -- what apply reports ---------------------------------------------------------------------
    def report(self, progress: Any) -> None:
        """A `wizard.apply.Progress`: a finished step gets a line of its own; a running or waiting
        one becomes the current wait."""
        first_line = progress.message.splitlines()[0] if progress.message else ""
        told, self._notice_told = self._notice_told, False
        if progress.status == "retrying" and told:
            return  # the SDK's notice right before it said this retry, with the attempt count
        if progress.status in FINAL:
            if self._step == progress.step_id:
                self._what = ""
            if progress.status == "unchanged":
                return
            self._line(f"  {progress.status:<7} {progress.seconds:6.2f}s  {_said(progress.label, first_line)}")
            return
        if progress.status == "running":
            self._wait(_said(progress.label, first_line), progress.step_id)
        elif progress.status == "polling":
            status = first_line.removeprefix("Azure: ") or "InProgress"
            if status in TERMINAL_OPERATION_STATES:  # nothing left to wait for; the step's line follows
                if self._step == progress.step_id:
                    self._what = ""
                return
            self._wait(f"waiting for Azure to update the app: {status}", progress.step_id)
        else:  # a wait of another kind, e.g. for a busy app to finish another operation
            self._wait(_said(progress.label, first_line or progress.status), progress.step_id)

    def retry(self, notice: Any) -> None:
        """A `wizard.azure.connection.RetryNotice` from the SDK's retry policy."""
        self._notice_told = True  # apply's step hears the same retry next: say it once
        name = notice.target.rstrip("/").rsplit("/", 1)[-1]
        self._wait(
            f"Azure answered {notice.reason} to {notice.method} {name}: "
            f"attempt {notice.attempt} of {notice.attempts} in {notice.wait_s:.1f}s"
        )

    # -- drawing --------------------------------------------------------------------------------
    def _wait(self, what: str, step: str = "") -> None:
        if what == self._what:  # the same wait, told again for another step of the same write
            return
        self._what, self._step, self._since = what, step, time.monotonic()
        self._last_beat = self._since
        if self._live is None:
            self._line(f"  ...     {what}")

    def _line(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def __rich__(self) -> Any:
        from rich.text import Text

        if not self._what:
            return Text("")
        return Text(f"  ⠿ {self._what}  {time.monotonic() - self._since:5.1f}s", no_wrap=True, overflow="ellipsis")

    def _heartbeat(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            if self._what and now - self._last_beat >= HEARTBEAT_S:
                self._last_beat = now
                print(f"  ...     {self._what} (still waiting, {now - self._since:.0f}s)", file=self.stream, flush=True)


def _said(label: str, message: str) -> str:
    """A step in words: its summary (what the diff showed), then what it says now when that adds
    something. Internal step ids (`role:0`) are never shown."""
    if not label or message.startswith(label):
        return message or label
    return f"{label}: {message}" if message else label
