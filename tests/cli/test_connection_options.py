"""Issue 9, the connection items: options mean the same wherever they are typed, a token goes only
to the endpoint it was minted for, and a damaged --sandbox-state is one message, exit 2."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import APP, PLAN_TOML, Cli
from wizard.cli import build_parser, main
from wizard.sandbox.scenarios import build_store

COMMANDS: dict[str, list[str]] = {
    "plan": ["--offline", "--subscription", "00000000-0000-0000-0000-000000000001"],
    "apply": ["plan.toml"],
    "verify": ["plan.toml"],
    "export": ["plan.toml"],
    "rollback": ["journal.jsonl"],
}
# option: (dest, a strategy for its value; None for a flag)
OPTIONS: dict[str, tuple[str, Any]] = {
    "--sandbox": ("sandbox", None),
    "--sandbox-state": ("sandbox_state", st.sampled_from(["t.json", "/tmp/x/state.json"]).map(Path)),
    "--tenant": ("tenant", st.uuids().map(str)),
    "--device-code": ("device_code", None),
    "--cloud": ("cloud", st.sampled_from(["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"])),
    "--arm-endpoint": ("arm_endpoint", st.sampled_from(["https://127.0.0.1:8443", "https://arm.stack.example"])),
    "--ca-bundle": ("ca_bundle", st.sampled_from(["ca.pem", "/etc/ssl/ca.pem"])),
    "--audience": ("audience", st.sampled_from(["https://management.stack.example/abc"])),
    "--verbose": ("verbose", None),
    "--debug": ("debug", None),
}


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], dict[str, Any]]:
    """A command, some connection options with values, each typed before or after the command."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS)), unique=True, max_size=len(OPTIONS)))
    before: list[str] = []
    after: list[str] = []
    expected: dict[str, Any] = {}
    for option in chosen:
        dest, values = OPTIONS[option]
        typed = [option] if values is None else [option, str(value := draw(values))]
        expected[dest] = True if values is None else value
        (before if draw(st.booleans()) else after).extend(typed)
    return [*before, command, *COMMANDS[command], *after], expected


@settings(max_examples=300, deadline=None)
@given(command_lines())
def test_every_connection_option_means_the_same_before_or_after_the_command(
    line: tuple[list[str], dict[str, Any]],
) -> None:
    argv, expected = line
    args = build_parser().parse_args(argv)
    defaults = build_parser().parse_args([])  # the wizard's: nothing typed

    for dest, _ in OPTIONS.values():
        want = expected.get(dest, getattr(defaults, dest))
        assert getattr(args, dest) == want, (argv, dest)


@settings(max_examples=150, deadline=None)
@given(command_lines())
def test_the_hints_repeat_exactly_the_connection_options_typed(line: tuple[list[str], dict[str, Any]]) -> None:
    """What a copied hint carries (`connection_flags`) does not depend on where an option was typed."""
    from wizard.connect import connection_flags

    argv, expected = line
    args = build_parser().parse_args(argv)
    flags = connection_flags(args)

    if expected.get("sandbox"):
        assert flags[0] == "--sandbox"
        if "sandbox_state" in expected:
            assert str(Path(expected["sandbox_state"]).resolve()) in flags
        return
    for dest, value in expected.items():
        option = next(o for o, (d, _) in OPTIONS.items() if d == dest)
        if dest in ("sandbox_state", "verbose", "debug"):
            assert option not in flags
        elif value is True:
            assert option in flags
        else:
            assert flags[flags.index(option) + 1] in (str(value), str(Path(str(value)).resolve()))


def test_every_command_reaches_the_endpoint_named_before_it_and_debug_logs_it(
    cli: Cli, remote, tmp_path: Path
) -> None:
    r = remote()
    (tmp_path / "plan.toml").write_text(PLAN_TOML)

    def ran_against_remote(*argv: str) -> None:
        before = len(r.running.thread.call(lambda: list(r.running.sandbox.request_log)))
        ran = cli(*r.flags, "--debug", *argv, **r.env)
        after = len(r.running.thread.call(lambda: list(r.running.sandbox.request_log)))
        assert ran.code in (0, 1), ran.text
        assert "Sign-in failed" not in ran.text
        assert after > before, argv  # the remote sandbox was asked, not the real tenant
        assert "Response status: 200" in ran.err and "Authorization': 'REDACTED'" in ran.err
        assert r.running.info.identity_header not in ran.text and "eyJ" not in ran.text

    ran_against_remote("plan", "--subscription", r.running.prod, "--resource-group", "rg-runner", "--identity", "idx")
    ran_against_remote("verify", "plan.toml")
    ran_against_remote("export", "plan.toml")
    ran_against_remote("apply", "plan.toml", "--yes")
    journal = next((cli.state_dir / "journals").glob("*.jsonl"))
    ran_against_remote("rollback", str(journal), "--yes")


def test_sandbox_before_the_command_uses_the_sandbox(cli: Cli) -> None:
    ran = cli("--sandbox", "verify", "--container-app", APP, "--container", "runner")

    assert ran.err.startswith("SANDBOX: ")
    assert ran.code == 1 and "PROBLEM" in ran.out  # the demo app, read from the sandbox
    assert "Sign-in failed" not in ran.text


@pytest.mark.parametrize(
    "real",
    [
        ["--arm-endpoint", "https://127.0.0.1:9"],
        ["--ca-bundle", "ca.pem"],
        ["--tenant", "t"],
        ["--cloud", "AzureUSGovernment"],
        ["--device-code"],
        ["--audience", "https://x"],
    ],
)
@pytest.mark.parametrize("sandbox_first", [True, False])
def test_sandbox_with_a_real_tenant_option_is_refused(
    capsys: pytest.CaptureFixture[str], real: list[str], sandbox_first: bool
) -> None:
    argv = ["--sandbox", "verify", "--container-app", APP, *real]
    if not sandbox_first:
        argv = [*real, "verify", "--container-app", APP, "--sandbox"]

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--sandbox" in err and real[0] in err
    assert len(err.strip().splitlines()) == 1


# -- a damaged --sandbox-state --------------------------------------------------------------------
VALID_STATE = json.dumps(build_store("demo").to_json(), separators=(",", ":"))
WRONG_TYPES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3))


@st.composite
def damaged_states(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "truncated", "wrong-type", "missing-key", "not-an-object"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "truncated":
        return VALID_STATE.encode()[: draw(st.integers(0, len(VALID_STATE) - 1))]
    doc = json.loads(VALID_STATE)
    if kind == "not-an-object":
        return json.dumps(draw(WRONG_TYPES)).encode()
    # "operations" may be missing (state files saved before operations were kept have none)
    key = draw(st.sampled_from(sorted(doc) if kind != "missing-key" else sorted(set(doc) - {"operations"})))
    if kind == "missing-key":
        del doc[key]
    else:
        value = draw(WRONG_TYPES.filter(lambda v, k=key: not isinstance(v, type(doc[k]))))
        doc[key] = value
    return json.dumps(doc).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=damaged_states())
def test_a_damaged_sandbox_state_is_one_message_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes
) -> None:
    state = tmp_path / "tenant.json"
    state.write_bytes(content)

    code = main(["verify", "--container-app", APP, "--sandbox", "--sandbox-state", str(state)])

    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "--sandbox-state" in err and str(state) in err
    assert "Traceback" not in err
    assert state.read_bytes() == content  # the file is left as it was, for the user to look at


def test_a_damaged_sandbox_state_as_a_user_sees_it(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "tenant.json").write_text('{"format": 1, "tenant_id": ')
    for argv in (["--sandbox", "--sandbox-state", "tenant.json", "verify", "--container-app", APP],
                 ["verify", "--container-app", APP, "--sandbox", "--sandbox-state", "tenant.json", "--json"]):
        ran = cli(*argv)
        assert ran.code == 2
        assert "Traceback" not in ran.err
        if "--json" in argv:
            assert json.loads(ran.out)["error"]["field"] == "--sandbox-state"
        else:
            assert re.fullmatch(r"runner-identity: --sandbox-state: tenant\.json is not a sandbox state file \(.+\)\n", ran.err)


@pytest.mark.parametrize("json_output", [False, True])
def test_a_sandbox_state_in_use_says_by_whom_and_what_to_do(cli: Cli, tmp_path: Path, json_output: bool) -> None:
    """Another command holds the file: it is a good state file, only busy, and the way out is
    named with this command's own option (--sandbox-state), not `sandbox serve`'s (--state)."""
    from wizard.sandbox.statefile import StateFileLock

    state = tmp_path / "tenant.json"
    state.write_text(VALID_STATE)
    lock = StateFileLock(state).acquire()
    try:
        ran = cli("verify", "--container-app", APP, "--sandbox", "--sandbox-state", str(state), *(["--json"] * json_output))
    finally:
        lock.release()

    assert ran.code == 2, ran.text
    assert "Traceback" not in ran.err
    said = json.loads(ran.out)["error"]["message"] if json_output else ran.err
    assert len(said.strip().splitlines()) == 1, said
    assert f"in use by process {os.getpid()}" in said
    assert "not a sandbox state file" not in said and "--state " not in said
    assert "--sandbox-state" in said


def test_a_sandbox_state_that_is_a_directory_says_so(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "tenant.json").mkdir()

    ran = cli("verify", "--container-app", APP, "--sandbox", "--sandbox-state", "tenant.json")

    assert ran.code == 2, ran.text
    assert ran.err == "runner-identity: --sandbox-state: tenant.json is a directory, not a sandbox state file\n"
