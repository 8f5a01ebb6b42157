"""Stopping the console script at any phase: Ctrl-C or Ctrl-D at the confirmation, Ctrl-C or
SIGTERM while apply or rollback writes. Each ends at once, says what was written and how to go on
from there, and never prints a traceback or a library's complaint about unclosed connections."""

from __future__ import annotations

import os
import pty
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Remote, script
from wizard.journal import read_events

NOISE = ("Traceback", "Unclosed", "Exception ignored", "internal error", "connector:")


class Session:
    """The console script with its stdin and stderr on a terminal (a pty), stdout piped."""

    def __init__(self, cli: Cli, args: list[str], env: dict[str, str]) -> None:
        self.leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            [*script(), *args],
            cwd=cli.cwd,
            env={**cli.env, **env, "TERM": "xterm-256color"},
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        self.screen = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.screen += chunk

    @property
    def text(self) -> str:
        return self.screen.decode("utf-8", "replace")

    def wait_for(self, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while what not in self.text:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                pytest.fail(f"never saw {what!r}: {self.text}")
            time.sleep(0.05)

    def type(self, data: bytes) -> None:
        os.write(self.leader, data)

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        """Exit code, stdout, and the terminal's text, once the process has ended (or fail)."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
            pytest.fail(f"still running {timeout} s later: {self.text}")
        self._reader.join(timeout=10)
        os.close(self.leader)
        return self.process.returncode, out.decode("utf-8", "replace"), self.text


def _writes(r: Remote) -> list[tuple[str, str, int]]:
    log = r.running.thread.call(lambda: list(r.running.sandbox.request_log))
    return [entry for entry in log if entry[0] in ("PUT", "PATCH", "DELETE", "POST")]


def _applied_journal(cli: Cli, r: Remote, plan_file: Path) -> Path:
    applied = cli("apply", str(plan_file), "--yes", *r.flags, **r.env)
    assert applied.code == 0, applied.text
    return Path(re.search(r"Journal: (\S+)", applied.out).group(1))  # type: ignore[union-attr]


def _something_to_confirm(cli: Cli, r: Remote, plan_file: Path, command: str) -> str:
    """A plan with writes for apply, or a journal with writes to undo for rollback."""
    if command == "rollback":
        return str(_applied_journal(cli, r, plan_file))
    other = plan_file.parent / "other.toml"
    other.write_text(plan_file.read_text().replace("id-maia-runner", "id-other"))
    return str(other)


# -- at the confirmation --------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["apply", "rollback"])
def test_ctrl_c_at_the_confirmation_stops_at_once_having_written_nothing(
    cli: Cli, remote, plan_file: Path, command: str
) -> None:
    r = remote()
    target = _something_to_confirm(cli, r, plan_file, command)
    before = _writes(r)
    session = Session(cli, [command, target, *r.flags], r.env)
    session.wait_for("[y/N]")

    session.process.send_signal(signal.SIGINT)
    code, out, text = session.finish()

    assert code == 130, text
    assert re.search(r"^interrupted before anything was written", text, re.M), text  # not after the question
    assert not any(noise in text + out for noise in NOISE), text + out
    assert _writes(r) == before


@pytest.mark.parametrize("command", ["apply", "rollback"])
def test_end_of_input_at_the_confirmation_is_a_no(cli: Cli, remote, plan_file: Path, command: str) -> None:
    r = remote()
    target = _something_to_confirm(cli, r, plan_file, command)
    before = _writes(r)
    session = Session(cli, [command, target, *r.flags], r.env)
    session.wait_for("[y/N]")

    session.type(b"\x04")  # Ctrl-D on an empty line: end of input
    code, out, text = session.finish()

    assert code == 0, text
    assert "Nothing was changed." in out + text
    assert not any(noise in text + out for noise in NOISE), text + out
    assert _writes(r) == before


def test_the_confirmation_is_asked_on_the_terminal_when_stdout_is_a_file(cli: Cli, remote, plan_file: Path) -> None:
    """`runner-identity apply plan.toml > apply.log`: the question must still reach the admin."""
    r = remote()
    session = Session(cli, ["apply", str(plan_file), *r.flags], r.env)
    session.wait_for("[y/N]")
    session.type(b"y\n")
    code, out, text = session.finish(timeout=120)

    assert code == 0, text
    assert "[y/N]" not in out


# -- while writing --------------------------------------------------------------------------------
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_apply_stopped_by_a_signal_says_where_its_journal_is(
    cli: Cli, remote, plan_file: Path, sig: signal.Signals, code: int
) -> None:
    r = remote(lro_polls=100_000, retry_after_s=1)  # the app's update never ends on its own
    session = Session(cli, ["apply", str(plan_file), "--yes", *r.flags], r.env)
    session.wait_for("waiting for Azure to update the app")

    session.process.send_signal(sig)
    exit_code, out, text = session.finish()

    assert exit_code == code, text
    assert not any(noise in text + out for noise in NOISE), text + out
    flat = re.sub(r"\s*\n\s*", " ", text)
    match = re.search(r"interrupted: journal at (\S+), run `([^`]+)` again to resume or `([^`]+)` to undo", flat)
    assert match, text
    assert read_events(Path(match.group(1)))[0]["event"] == "start"


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_rollback_stopped_by_a_signal_says_where_its_journal_is_and_how_to_go_on(
    cli: Cli, remote, plan_file: Path, sig: signal.Signals, code: int
) -> None:
    r = remote()
    journal = _applied_journal(cli, r, plan_file)
    # The app's PATCH (rollback's first write) hangs; the sandbox logs a request once answered, so
    # the journal tells when rollback is writing. (8 s, far longer than the signal takes to come: the
    # sandbox's shutdown waits for it.)
    r.running.sandbox.faults.add("latency,route=containerApps/maia-runner$,method=PATCH,ms=8000,times=1")
    session = Session(cli, ["rollback", str(journal), "--yes", *r.flags], r.env)
    deadline = time.monotonic() + 120
    while not any(e["event"] == "rollback-start" for e in read_events(journal)):
        assert time.monotonic() < deadline and session.process.poll() is None, session.text
        time.sleep(0.05)

    session.process.send_signal(sig)
    exit_code, out, text = session.finish()

    assert exit_code == code, text
    assert not any(noise in text + out for noise in NOISE), text + out
    flat = re.sub(r"\s*\n\s*", " ", text)
    match = re.search(r"interrupted: journal at (\S+), run `([^`]+)` again to continue", flat)
    assert match, text
    assert Path(match.group(1)) == journal.resolve()
    r.running.sandbox.faults.clear()
    again = cli(*shlex.split(match.group(2))[1:], "--yes", **r.env)
    assert again.code == 0, again.text
    assert "Rolled back" in again.out
