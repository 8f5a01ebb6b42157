"""A journal is input too: edited by hand, truncated, damaged in the middle, copied from another
machine. Rollback of such a journal never writes to anything the run did not write, never prints a
traceback, and one damaged journal beside the others breaks neither rollback nor apply."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.helpers import applier, gateway, runner_plan
from wizard.journal import JournalError, read_run
from wizard.rollback import build_rollback, plan_rollback, render_text

RA = "providers/Microsoft.Authorization/roleAssignments"


class Applied(dict):  # type: ignore[type-arg]
    def __repr__(self) -> str:  # hypothesis prints the fixture with a failing example: keep it short
        return f"<the applied run {self['run'].path.name}>"


@pytest.fixture(scope="module")
def applied(start_shared_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One applied run (its journal's events), the live state its rollback reads, and every id it wrote."""
    running = start_shared_sandbox()
    folder = tmp_path_factory.mktemp("journals")

    async def go() -> dict[str, Any]:
        async with gateway(running) as gw:
            outcome = await applier(gw, folder).apply(runner_plan(running))
            assert outcome.ok, outcome.error
            run = read_run(outcome.journal)  # type: ignore[arg-type]
            shown = await plan_rollback(gw, run)
            written = {s.target.lower() for s in shown.steps if s.writes}
            return Applied(run=run, live=shown.live, written=written, running=running)

    return asyncio.run(go())


def _write(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


# Values an edit may leave in any field: wrong types, and ids of things the run never wrote (another
# subscription's app, a path that climbs out of its scope, someone else's role assignment).
SUB = "62cfbf70-8668-55fc-b457-ad7b17105b7e"
FOREIGN_IDS = [
    f"/subscriptions/{SUB}/resourceGroups/rg-runner/providers/Microsoft.App/containerApps/maia-runner-staging",
    f"/subscriptions/{SUB}/resourceGroups/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
    "id-legacy-runner",
    f"/subscriptions/{SUB}/resourceGroups/rg-runner/{RA}/00000000-0000-0000-0000-000000000001",
    f"/subscriptions/{SUB}/resourceGroups/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
    "id-maia-runner/../../../..",
    f"/subscriptions/{SUB}",
    "/subscriptions/x/../../y",
    "",
]
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(FOREIGN_IDS),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def edits(draw: Any, events: list[dict[str, Any]]) -> list[Any]:
    """The journal's events with one field of one event (or of the app's pre-image) changed or removed."""
    out = copy.deepcopy(events)
    event = out[draw(st.integers(0, len(out) - 1))]
    holder = event
    if "pre_image" in event and draw(st.booleans()) and isinstance(event["pre_image"], dict):
        holder = event["pre_image"]
    key = draw(st.sampled_from(sorted(holder)))
    if draw(st.integers(0, 4)) == 0:
        del holder[key]
    else:
        holder[key] = draw(values)
    return out


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_edited_journal_never_widens_what_rollback_writes(applied: dict[str, Any], tmp_path: Path, data: Any) -> None:
    events = data.draw(edits(applied["run"].events))
    path = _write(tmp_path / "edited.jsonl", events)
    try:
        run = read_run(path)
    except JournalError:
        return  # refused as a whole: fine
    plan = build_rollback(run, applied["live"])  # must not raise
    render_text(plan)
    for step in plan.steps:
        if step.writes:
            assert step.target.lower() in applied["written"], (step.summary, step.target)


def test_a_journal_damaged_in_the_middle_is_refused_and_a_torn_last_line_is_not(
    applied: dict[str, Any], tmp_path: Path
) -> None:
    events = applied["run"].events
    lines = [json.dumps(e) for e in events]
    middle = tmp_path / "middle.jsonl"
    middle.write_text("\n".join([*lines[:3], '{"event": "begin", "step": "ro', *lines[3:]]) + "\n")
    plan = build_rollback(read_run(middle), applied["live"])
    assert not plan.writes
    assert any("line 4" in p for p in plan.problems), plan.problems

    torn = tmp_path / "torn.jsonl"
    torn.write_text("\n".join([*lines, '{"event": "rollback-st']))
    plan = build_rollback(read_run(torn), applied["live"])
    assert not plan.problems
    assert plan.writes


@pytest.mark.parametrize(
    ("where", "field", "value", "said"),
    [
        (0, "time", "yesterday", "time"),
        (0, "plan", 12, "plan"),
        (0, "plan", "subscription = [", "plan"),
        (0, "assignments", "abc", "assignments"),
        ("app", "pre_image", "x", "pre_image"),
        ("identity", "target", "/subscriptions/x/../../y", "target"),
    ],
)
def test_the_command_names_the_line_and_field_of_an_edited_journal(
    applied: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: Any,
    field: str,
    value: Any,
    said: str,
) -> None:
    from wizard.cli import main

    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    events = copy.deepcopy(applied["run"].events)
    index = where if isinstance(where, int) else next(i for i, e in enumerate(events) if e.get("step") == where)
    events[index][field] = value
    path = _write(tmp_path / "edited.jsonl", events)
    code = main(["rollback", str(path), "--yes", "--sandbox"])
    out = capsys.readouterr()
    assert code == 2, out
    text = out.out + out.err
    assert "Traceback" not in text and "internal error" not in text
    assert f"line {index + 1}" in text and said in text, text


def test_one_damaged_journal_beside_the_others_breaks_neither_rollback_nor_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.cli import main
    from wizard.sandbox.scenarios import build_store

    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    sub = next(iter(build_store("demo").subscriptions.values()))["subscriptionId"]
    app = f"/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]
    journals = tmp_path / "state" / "journals"
    base = ["plan", "--subscription", sub, "--resource-group", "rg-runner", "--offline"]
    assert main([*base, "--identity", "id-first", "--container-app", app, "--container", "runner", "--out", "first.toml"]) == 0
    assert main([*base, "--identity", "id-second", "--out", "second.toml"]) == 0
    assert main(["apply", "first.toml", "--yes", "--json", *state]) == 0
    first = json.loads(capsys.readouterr().out)["journal"]
    damaged = json.loads(Path(first).read_text().splitlines()[0])
    damaged["time"] = "yesterday"
    (journals / "damaged.jsonl").write_text(json.dumps(damaged) + "\n")

    assert main(["apply", "second.toml", "--yes", *state]) == 0  # a run of another plan still starts
    capsys.readouterr()
    assert main(["rollback", first, "--yes", *state]) == 0
    out = capsys.readouterr()
    assert "internal error" not in out.err
    assert "damaged.jsonl" in out.out  # it may be a run that uses the identity: nothing is deleted blind


@pytest.mark.parametrize("kind", ["nested", "one huge line", "huge"])
def test_a_file_no_journal_could_be_is_refused_beside_or_named(
    applied: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    """JSON nested past any parser's depth, a line longer than any record, a file larger than any run's
    journal: read as a damaged journal (or not one), never an internal error, named or beside the others."""
    path = tmp_path / f"{kind.replace(' ', '-')}.jsonl"
    start = json.dumps(applied["run"].events[0])
    if kind == "nested":
        path.write_text(start + "\n" + "[" * 200_000 + "\n" + start + "\n")
    elif kind == "one huge line":
        path.write_text(start + "\n" + '{"event": "begin", "x": "' + "a" * (9 << 20) + '"}\n' + start + "\n")
    else:
        with path.open("w") as fh:
            for _ in range((65 << 20) // len(start) + 1):
                fh.write(start + "\n")
    run = read_run(path)
    assert run.problems, kind
    plan = build_rollback(run, applied["live"])
    assert plan.problems and not plan.steps


@pytest.mark.parametrize("named", [True, False], ids=["named", "beside"])
def test_a_journal_that_is_not_a_regular_file_never_blocks(applied: dict[str, Any], tmp_path: Path, named: bool) -> None:
    """A FIFO (or a device) named like a journal, given or lying in the journals folder, blocks a plain
    read forever: rollback must say it is not a journal (named) or pass it by (beside), at once."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "journals"
    folder.mkdir()
    journal = folder / "run.jsonl"
    journal.write_bytes(applied["run"].path.read_bytes())
    os.mkfifo(folder / "zz-pipe.jsonl")
    target = folder / "zz-pipe.jsonl" if named else journal
    code = f"from wizard.cli import main; raise SystemExit(main(['--sandbox', 'rollback', {str(target)!r}, '--dry-run']))"
    env = {**os.environ, "RUNNER_IDENTITY_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env)
    assert "Traceback" not in done.stderr
    if named:
        assert done.returncode == 2
        assert "zz-pipe.jsonl cannot be read: not a regular file" in done.stderr
    else:
        assert "Rollback of" in done.stdout, done.stderr
        assert "zz-pipe" not in done.stdout + done.stderr
