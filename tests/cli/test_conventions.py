"""Issue 12: the console script behaves like the Azure tooling admins live in. Every test runs
`runner-identity` as a subprocess and checks what a user sees."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.cli.conftest import APP, PLAN_TOML, SECRET_VALUE, SUB, VAULT, Cli
from wizard.cli import build_parser
from wizard.journal import read_events


def test_version_prints_the_package_version(cli: Cli) -> None:
    ran = cli("--version")

    assert ran.code == 0
    assert ran.out.strip() == f"runner-identity {importlib.metadata.version('runner-identity')}"


# -- --debug / --verbose --------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_logs_every_request_and_status_with_nothing_secret(cli: Cli, remote, where: str) -> None:
    r = remote()
    command = ["verify", "--container-app", APP, "--container", "runner"]
    args = ["--debug", *command, *r.flags] if where == "before" else [*command, *r.flags, "--debug"]

    ran = cli(*args, **r.env)

    assert ran.code == 1, ran.err  # the demo's app has no AZURE_CLIENT_ID yet: a verify problem
    assert "PROBLEM" in ran.out
    sent = r.running.thread.call(lambda: list(r.running.sandbox.request_log))
    logged = re.findall(r"Request URL: '([^']+)'", ran.err)
    statuses = re.findall(r"Response status: (\d+)", ran.err)
    assert len(statuses) == len(logged) >= len(sent)
    for _method, path, status in sent:
        assert any(path.lower() in url.lower() for url in logged), path
        assert str(status) in statuses
    assert "Authorization': 'REDACTED'" in ran.err
    for secret in (r.running.info.identity_header, SECRET_VALUE, "eyJ", "Bearer "):
        assert secret not in ran.text
    assert "Traceback" not in ran.err


def test_verbose_logs_the_steps_and_timings_but_no_http(cli: Cli, remote, plan_file: Path) -> None:
    r = remote()

    ran = cli("apply", str(plan_file), "--yes", "--verbose", *r.flags, **r.env)

    assert ran.code == 0, ran.err
    assert f"Resource Manager {r.running.info.arm_endpoint}, token audience" in ran.err
    assert re.search(r"done\s+\d+\.\d\ds\s+create managed identity id-maia-runner", ran.err), ran.err
    assert re.search(r"apply finished in \d+\.\d\d s", ran.err)
    assert "Request URL" not in ran.err
    assert "eyJ" not in ran.text and r.running.info.identity_header not in ran.text


# -- completion -----------------------------------------------------------------------------------
def _completions(cli: Cli, line: str, tmp_path: Path) -> set[str]:
    """What the shell would offer after `line`, through the completion script's own protocol."""
    answer = tmp_path / "completions.txt"
    ran = cli(
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_SHELL="bash",
        _ARGCOMPLETE_IFS="\n",
        _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        COMP_TYPE="9",
    )
    assert ran.code == 0, ran.err
    return {w.strip() for w in answer.read_text().splitlines() if w.strip()}


def _visible_options(parser) -> set[str]:
    return {
        option
        for action in parser._actions
        if action.help != "==SUPPRESS==" and action.option_strings
        for option in action.option_strings
    }


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(cli: Cli, shell: str) -> None:
    ran = cli("completion", shell)

    assert ran.code == 0
    assert "runner-identity" in ran.out and "_ARGCOMPLETE" in ran.out
    assert ran.err == ""


def test_completion_offers_every_command_and_every_option(cli: Cli, tmp_path: Path) -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices

    assert set(commands) <= _completions(cli, "runner-identity ", tmp_path)
    assert _visible_options(parser) - {"-h"} <= _completions(cli, "runner-identity --", tmp_path)
    for name, sub in commands.items():
        if name == "sandbox":
            continue
        offered = _completions(cli, f"runner-identity {name} --", tmp_path)
        assert _visible_options(sub) - {"-h"} <= offered, name


# -- progress -------------------------------------------------------------------------------------
def test_apply_piped_shows_each_wait_as_plain_lines_and_keeps_json_on_stdout(
    cli: Cli, remote, plan_file: Path
) -> None:
    from wizard.azure.connection import RETRY_TOTAL

    r = remote(lro_polls=3)
    r.running.sandbox.faults.add(f"503,route=userAssignedIdentities,method=PUT,times=1,retry_after={0.05}")

    ran = cli("apply", str(plan_file), "--yes", "--json", *r.flags, **r.env)

    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)  # stdout is exactly one JSON document
    assert doc["status"] == "applied"
    assert "\x1b[" not in ran.err  # no terminal control codes when piped
    assert re.search(rf"Azure answered 503 .* PUT id-maia-runner: attempt 2 of {RETRY_TOTAL + 1} in 0\.1s", ran.err)
    assert "waiting for Azure to update the app: InProgress" in ran.err
    assert "trying again" not in ran.err  # the retry is said once: apply's step repeats what the notice said
    # Each finished step in words (its summary, as the diff showed it), never an internal step id.
    assert re.search(r"done\s+\d+\.\d\ds\s+.*AZURE_CLIENT_ID", ran.err), ran.err
    assert not re.search(r"\brole:\d|\s(identity|link|app|tags):?\s+\d+\.\d\ds", ran.err), ran.err
    # An operation that has ended is not waited for: its end shows as the step's `done` line.
    assert not re.search(r"waiting for .*(Succeeded|Failed|Canceled)", ran.err), ran.err


def test_apply_on_a_terminal_draws_a_live_line_with_the_elapsed_time(cli: Cli, remote, plan_file: Path) -> None:
    import pty
    import subprocess

    from tests.cli.conftest import script

    r = remote(lro_polls=4, retry_after_s=1)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*script(), "apply", str(plan_file), "--yes", *r.flags],
        cwd=cli.cwd,
        env={**cli.env, **r.env, "TERM": "xterm-256color"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    out, _ = process.communicate(timeout=120)
    os.close(leader)
    text = screen.decode("utf-8", "replace")

    assert process.returncode == 0, text
    assert re.search(r"waiting for Azure to update the app: InProgress\s+\d+\.\ds", text)
    assert "\x1b[" in text  # drawn in place, not printed line after line
    assert "  ...     " not in text
    assert b"Verify:" in out


# -- --out - --------------------------------------------------------------------------------------
def test_out_dash_writes_to_stdout_and_creates_no_file(cli: Cli, plan_file: Path) -> None:
    ran = cli(
        "plan",
        "--offline",
        "--subscription",
        SUB,
        "--resource-group",
        "rg-runner",
        "--identity",
        "id-maia-runner",
        "--out",
        "-",
    )
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f'subscription = "{SUB}"')
    assert not (cli.cwd / "-").exists()

    ran = cli("export", str(plan_file), "--format", "bicep", "--out", "-", "--sandbox")
    assert ran.code == 0, ran.err
    assert "Microsoft.ManagedIdentity/userAssignedIdentities" in ran.out
    assert not (cli.cwd / "-").exists()


# -- failures a user can cause --------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--tenant", "11111111-2222-3333-4444-555555555555"], ["--json"]])
def test_a_failed_sign_in_is_one_paragraph_with_the_fix(cli: Cli, extra: list[str]) -> None:
    ran = cli("verify", "--container-app", APP, *extra)

    assert ran.code == 1
    if "--json" in extra:
        error = json.loads(ran.out)["error"]
        assert error["code"] == "SignInFailed"
        text = error["message"]
    else:
        text = ran.err.strip()
        assert ran.out == ""
    assert "\n" not in text
    assert "Traceback" not in ran.err
    assert "DefaultAzureCredential" in text and "AzureCliCredential" in text  # what was tried
    assert "`az login`" in text and "--tenant" in text and "--device-code" in text  # the fix
    assert "cloud AzureCloud" in text  # where
    if "--tenant" in extra:
        assert "tenant 11111111-2222-3333-4444-555555555555" in text


def test_ctrl_c_during_apply_exits_130_with_the_journal_and_both_ways_on(cli: Cli, remote, plan_file: Path) -> None:
    r = remote(lro_polls=100_000, retry_after_s=1)  # the app's update never ends on its own
    process = cli.popen("apply", str(plan_file), "--yes", *r.flags, **r.env)
    assert process.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any("waiting for Azure to update the app" in line for line in lines):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("apply never showed the app's update: " + "".join(lines))
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    reader.join(timeout=30)
    err = "".join(lines)

    assert process.returncode == 130
    assert "Traceback" not in err
    match = re.search(r"interrupted: journal at (\S+), run `([^`]+)` again to resume or `([^`]+)` to undo", err)
    assert match, err
    journal = Path(match.group(1))
    events = read_events(journal)
    assert events[0]["event"] == "start"
    assert {e["step"] for e in events if e["event"] == "done"} == {"identity", "role:0"}
    assert shlex.split(match.group(2))[:3] == ["runner-identity", "apply", str(plan_file)]
    assert r.flags[1] in match.group(2) and r.flags[3] in match.group(3)


def test_an_internal_error_prints_one_line_and_a_log_file(cli: Cli, tmp_path: Path) -> None:
    # A bug planted in the command's own code (not the SDK's): what a user would see of one.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import wizard.commands as c\n"
        "def broken(args):\n"
        "    raise RuntimeError('planted bug')\n"
        "c.cmd_verify = broken\n"
    )

    ran = cli("verify", "--container-app", APP, PYTHONPATH=str(hook))

    assert ran.code == 1
    assert "Traceback" not in ran.err
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1
    log = Path(re.search(r"details in (\S+\.log)", lines[0]).group(1))  # type: ignore[union-attr]
    assert log.parent == cli.state_dir / "logs"
    assert "RuntimeError: planted bug" in log.read_text()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["apply", "missing.toml", "--yes"], "missing.toml"),
        (["apply", "plan.toml", "--yes", "--journal-dir", "plan.toml/x"], "--journal-dir"),
        (["rollback", "plan.toml", "--yes"], "JOURNAL"),
        (["rollback", "binary.bin", "--yes"], "JOURNAL"),
        (["rollback", "nowhere.jsonl", "--yes"], "JOURNAL"),
        (["verify"], "PLAN"),
        (["export", "plan.toml", "--out", "no/such/dir/x.sh", "--sandbox"], "--out"),
        (["plan", "--offline", "--subscription", SUB, "--resource-group", "rg", "--identity", "idx", "--out", "."], "--out"),
        (["verify", "plan.toml", "--arm-endpoint", "http://127.0.0.1:9"], "--arm-endpoint"),
        (["verify", "plan.toml", "--arm-endpoint", "https://127.0.0.1:9", "--ca-bundle", "nope.pem"], "--ca-bundle"),
        (["verify", "plan.toml", "--ca-bundle", "plan.toml"], "--ca-bundle"),
        (["verify", "plan.toml", "--sandbox-state", "t.json"], "--sandbox-state"),
        (["export", "plan.toml", "--json"], "--json"),
        (["--json"], "--json"),
        (["--json", "completion", "bash"], "--json"),  # as export does: no JSON to give, so refused
        (["--plan", "plan.toml", "verify"], "--plan"),  # the wizard's option: a command takes PLAN itself
    ],
)
def test_user_mistakes_exit_2_with_one_message_and_a_json_error(
    cli: Cli, plan_file: Path, args: list[str], field: str
) -> None:
    (cli.cwd / "binary.bin").write_bytes(b"\xff\xfe\x00garbage")
    for json_mode in (False, True):
        argv = [*args, "--json"] if json_mode and "--json" not in args else args
        ran = cli(*argv)
        assert ran.code == 2, (argv, ran.text)
        assert "Traceback" not in ran.err
        if "--json" in argv:
            error = json.loads(ran.out)["error"]
            assert set(error) >= {"code", "message", "field"}
            if argv[0] != "export":  # export has no JSON output: --json itself is the mistake there
                assert field in (error["field"] or "") + error["message"]
        else:
            assert field in ran.err
            said = [line for line in ran.err.splitlines() if line.strip() and not line.startswith("SANDBOX:")]
            if said[0].startswith("The plan is not valid"):  # a heading, then one line per broken rule
                said = said[1:]
            assert len(said) == 1, said


# -- --json ---------------------------------------------------------------------------------------
def test_every_json_command_prints_one_documented_shape(cli: Cli, tmp_path: Path) -> None:
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]
    plan_flags = [
        "plan",
        "--subscription",
        SUB,
        "--resource-group",
        "rg-runner",
        "--identity",
        "id-maia-runner",
        "--role",
        f"Key Vault Secrets User@{VAULT}",
        "--container-app",
        APP,
        "--container",
        "runner",
        "--out",
        "plan.toml",
        "--json",
    ]
    planned = cli(*plan_flags, *state)
    assert planned.code == 0, planned.err
    doc = json.loads(planned.out)
    assert set(doc) == {"status", "plan", "out", "problems", "steps"}
    assert doc["status"] == "planned" and doc["out"] == "plan.toml"
    assert doc["plan"]["identity"]["name"] == "id-maia-runner"
    assert {s["action"] for s in doc["steps"]} == {"create"}

    applied = json.loads(cli("apply", "plan.toml", "--yes", "--json", *state).out)
    assert set(applied) >= {"status", "problems", "steps", "journal", "identity", "revision", "checks"}
    assert applied["status"] == "applied"
    assert set(applied["identity"]) == {"id", "client_id", "principal_id"}

    verified = json.loads(cli("verify", "plan.toml", "--json", *state).out)
    assert set(verified) == {"status", "problems", "warnings", "checks"}
    assert verified["status"] == "ok" and verified["problems"] == 0
    assert all(set(c) == {"status", "name", "detail"} for c in verified["checks"])

    rolled = cli("rollback", applied["journal"], "--yes", "--json", *state)
    assert rolled.code == 0, rolled.err
    doc = json.loads(rolled.out)
    assert set(doc) == {"status", "journal", "problems", "steps"}
    assert doc["status"] == "rolled back" and doc["problems"] == []
    assert all(set(s) == {"action", "kind", "target", "summary", "reason", "warnings", "result"} for s in doc["steps"])
    assert [s["result"] for s in doc["steps"] if s["action"] != "keep"] == ["done"] * 4  # restore, unlink, 2 deletes

    failed = cli("verify", "plan.toml", "--json", *state)
    assert failed.code == 1
    assert json.loads(failed.out)["status"] == "problem"

    (tmp_path / "bad.toml").write_text(PLAN_TOML.replace("id-maia-runner", "x"))
    invalid = cli("apply", "bad.toml", "--json", *state)
    assert invalid.code == 2
    error = json.loads(invalid.out)["error"]
    assert error["code"] == "InvalidPlan" and error["field"] == "identity.name"
    assert error["details"][0]["field"] == "identity.name"


# -- hints ----------------------------------------------------------------------------------------
def test_hints_carry_the_connection_options_so_copying_them_works(cli: Cli, remote, plan_file: Path) -> None:
    r = remote()
    r.running.sandbox.faults.add("lro-fail,route=containerApps/maia-runner$,times=5")  # fails at once, no retries

    failed = cli("apply", str(plan_file), "--yes", *r.flags, **r.env)

    assert failed.code == 1
    resume, undo = re.search(r"Run `([^`]+)` again to resume, or `([^`]+)` to undo", failed.out).groups()  # type: ignore[union-attr]
    r.running.sandbox.faults.clear()
    resumed = cli(*shlex.split(resume)[1:], "--yes", **r.env)
    assert resumed.code == 0, resumed.text
    assert "0 problems" in resumed.out
    undone = cli(*shlex.split(undo)[1:], "--yes", **r.env)
    assert undone.code == 0, undone.text
    assert "undone" in undone.out


def test_the_plan_hint_applies_against_the_same_sandbox_state(cli: Cli, tmp_path: Path) -> None:
    state = tmp_path / "tenant.json"
    planned = cli(
        "--sandbox",
        "--sandbox-state",
        str(state),
        "plan",
        "--subscription",
        SUB,
        "--resource-group",
        "rg-runner",
        "--identity",
        "id-from-hint",
        "--out",
        "p.toml",
    )
    assert planned.code == 0, planned.err
    hint = re.search(r"Apply it: (.+)", planned.err).group(1)  # type: ignore[union-attr]
    assert f"--sandbox-state {state}" in hint

    applied = cli(*shlex.split(hint)[1:], "--yes")
    assert applied.code == 0, applied.text
    again = cli("verify", "p.toml", "--sandbox", "--sandbox-state", str(state))
    assert again.code == 0, again.text


# -- one retry layer ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("route", "method"),
    [("userAssignedIdentities", "PUT"), ("roleAssignments", "PUT"), ("containerApps/maia-runner$", "PATCH")],
)
def test_a_persistent_fault_is_sent_once_plus_the_retry_budget(
    cli: Cli, remote, plan_file: Path, route: str, method: str
) -> None:
    from wizard.azure.connection import RETRY_TOTAL

    r = remote()
    r.running.sandbox.faults.add(f"503,route={route},method={method},times=100000,retry_after=0.01")

    ran = cli("apply", str(plan_file), "--yes", *r.flags, **r.env)

    assert ran.code == 1
    assert "ServiceUnavailable" in ran.out
    sent = r.requests(method, route.rstrip("$"))
    assert len(sent) == 1 + RETRY_TOTAL, sent
