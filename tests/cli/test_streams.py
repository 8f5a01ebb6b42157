"""The console script's output streams as shell pipelines use them: a reader that goes away
(`| head -1`), a terminal or locale that cannot show every character, and options spelled out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.conftest import SUB, Cli, script
from wizard.cli import build_parser
from wizard.journal import read_events


def _run_with_a_closed_reader(cli: Cli, stream: str, *args: str) -> tuple[int, str]:
    """Run with `stream` ("stdout" or "stderr") a pipe whose reader has already gone, as after
    `| head -1`; return the exit code and what the other stream said."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    other = subprocess.PIPE
    try:
        done = subprocess.run(
            [*script(), *args],
            cwd=cli.cwd,
            env=cli.env,
            stdin=subprocess.DEVNULL,
            stdout=write_end if stream == "stdout" else other,
            stderr=write_end if stream == "stderr" else other,
            timeout=240,
        )
    finally:
        os.close(write_end)
    said = (done.stderr if stream == "stdout" else done.stdout) or b""
    return done.returncode, said.decode("utf-8", "replace")


PLAN_ARGS = ["plan", "--offline", "--subscription", SUB, "--resource-group", "rg-runner", "--identity", "id-x"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([*PLAN_ARGS, "--out", "-"], 0),
        (["--sandbox", "export", "plan.toml"], 0),
        (["--sandbox", "verify", "plan.toml"], 1),  # a verify problem: nothing applied yet
        (["--sandbox", "verify", "plan.toml", "--json"], 1),
        (["--help"], 0),
        (["completion", "bash"], 0),
    ],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(
    cli: Cli, plan_file: Path, args: list[str], code: int
) -> None:
    exit_code, err = _run_with_a_closed_reader(cli, "stdout", *args)

    assert exit_code == code, err
    assert "internal error" not in err and "Traceback" not in err and "Exception ignored" not in err
    assert not (cli.state_dir / "logs").exists() or not list((cli.state_dir / "logs").iterdir())


def test_apply_finishes_its_writes_when_the_progress_reader_goes_away(cli: Cli, plan_file: Path, tmp_path: Path) -> None:
    """Stopping half-way because nobody reads stderr any more would leave the app half-changed."""
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]

    exit_code, out = _run_with_a_closed_reader(cli, "stderr", "apply", str(plan_file), "--yes", *state)

    assert exit_code == 0, out
    journal = next((cli.state_dir / "journals").glob("*.jsonl"))
    assert read_events(journal)[-1]["event"] == "finished"
    verified = cli("verify", str(plan_file), *state)
    assert verified.code == 0, verified.text


def test_text_a_terminal_cannot_encode_never_crashes_and_data_on_stdout_is_the_file(cli: Cli) -> None:
    args = [*PLAN_ARGS, "--tag", "owner=Zoë ☃ 🚀"]
    written = cli(*args, "--out", "plan.toml")
    assert written.code == 0, written.err
    as_file = (cli.cwd / "plan.toml").read_bytes()

    for encoding in ("ascii", "latin-1"):
        done = subprocess.run(
            [*script(), *args, "--out", "-"],
            cwd=cli.cwd,
            env={**cli.env, "PYTHONIOENCODING": encoding},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == as_file  # `--out -` writes what `--out FILE` writes: UTF-8

        shown = subprocess.run(  # the diff, on stdout, holds the tag's value
            [*script(), "--sandbox", "apply", "plan.toml", "--dry-run"],
            cwd=cli.cwd,
            env={**cli.env, "PYTHONIOENCODING": encoding},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr
        assert b"internal error" not in shown.stderr and b"Traceback" not in shown.stderr
        assert b"tag owner = Zo" in shown.stdout


def _parsers(parser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], set[str]]]:
    """Every parser (the top level, each command's, `sandbox serve`) with its long options."""
    found = [(path, {o for a in parser._actions for o in a.option_strings if o.startswith("--")})]
    for action in parser._actions:
        if isinstance(action.choices, dict):
            for name, sub in action.choices.items():
                found += _parsers(sub, (*path, name))
    return found


OPTION_PREFIXES = [
    (path, option[:cut])
    for path, options in _parsers(build_parser())
    if path != ("sandbox",)
    for option in sorted(options)
    for cut in range(3, len(option))
    if option[:cut] not in options
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(OPTION_PREFIXES))
def test_an_option_is_only_ever_its_whole_name(prefix: tuple[tuple[str, ...], str]) -> None:
    """`--js` is not `--json` and `--dry` is not `--dry-run`: a pipeline that relies on a prefix
    would change meaning the day another option starts the same way."""
    path, option = prefix
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*path, option])
    assert exited.value.code == 2


# -- a stream that cannot be written at all ----------------------------------------------------------
def _run_with_a_broken_stream(cli: Cli, stream: str, how: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with `stream` ("stdout" or "stderr") closed (`>&-`) or on a full device (`> /dev/full`)."""
    fd = "1" if stream == "stdout" else "2"
    redirect = f"{fd}>&-" if how == "closed" else f"{fd}>/dev/full"
    return subprocess.run(
        ["/bin/sh", "-c", f'exec "$@" {redirect}', "sh", *script(), *args],
        cwd=cli.cwd,
        env=cli.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )


WRITERS = [  # (arguments, exit code when every stream works)
    ([*PLAN_ARGS, "--out", "-"], 0),
    ([*PLAN_ARGS, "--json"], 0),
    (["--sandbox", "verify", "plan.toml"], 1),
    (["--version"], 0),
    (["completion", "bash"], 0),
    (["--sandbox", "export", "plan.toml"], 0),
]


def _no_internal_error(cli: Cli, said: str) -> None:
    assert "Traceback" not in said and "internal error" not in said and "Exception ignored" not in said, said
    assert not (cli.state_dir / "logs").exists() or not list((cli.state_dir / "logs").iterdir())


@pytest.mark.parametrize("how", ["closed", "full"])
@pytest.mark.parametrize(("args", "code"), WRITERS)
def test_stdout_that_cannot_be_written_is_one_message_and_a_failure(
    cli: Cli, plan_file: Path, how: str, args: list[str], code: int
) -> None:
    """`plan --out - > /dev/full` exiting 0 would tell a script the plan was saved."""
    done = _run_with_a_broken_stream(cli, "stdout", how, *args)

    _no_internal_error(cli, done.stderr)
    assert done.returncode == (code or 1), done.stderr
    assert "runner-identity: cannot write to stdout:" in done.stderr, done.stderr
    assert len([line for line in done.stderr.splitlines() if "cannot write" in line]) == 1, done.stderr


@pytest.mark.parametrize("how", ["closed", "full"])
@pytest.mark.parametrize(("args", "code"), WRITERS)
def test_stderr_that_cannot_be_written_changes_nothing_else(
    cli: Cli, plan_file: Path, how: str, args: list[str], code: int
) -> None:
    done = _run_with_a_broken_stream(cli, "stderr", how, *args)

    _no_internal_error(cli, done.stdout)
    assert done.returncode == code
    assert done.stdout.strip()


@pytest.mark.parametrize("how", ["closed", "full"])
def test_apply_finishes_its_writes_when_stdout_cannot_be_written(
    cli: Cli, plan_file: Path, tmp_path: Path, how: str
) -> None:
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]

    done = _run_with_a_broken_stream(cli, "stdout", how, "apply", str(plan_file), "--yes", *state)

    _no_internal_error(cli, done.stderr)
    assert done.returncode == 1, done.stderr
    assert "runner-identity: cannot write to stdout:" in done.stderr
    journal = next((cli.state_dir / "journals").glob("*.jsonl"))
    assert read_events(journal)[-1]["event"] == "finished"
    assert cli("verify", str(plan_file), *state).code == 0


def test_a_closed_stdin_is_no_answer_to_a_question(cli: Cli, plan_file: Path) -> None:
    done = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *script(), "--sandbox", "apply", str(plan_file)],
        cwd=cli.cwd,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    _no_internal_error(cli, done.stderr)
    assert done.returncode == 2, done.stderr
    assert "rerun with --yes" in done.stdout + done.stderr
