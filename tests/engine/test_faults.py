"""Every fault kind at every step of apply: recovered when it passes, a correct journal when it
does not, then a resume that finishes the job and a rollback that restores the pre-image.
"""

from __future__ import annotations

import pytest

from tests.engine.helpers import applier, gateway, ids, roll_back, runner_plan, snapshot
from wizard.journal import read_events

STEPS = {
    # step: (route regex, method, the journal step it hits, steps done before it)
    "identity": ("userAssignedIdentities", "PUT", "identity", set()),
    "role": ("roleAssignments", "PUT", "role:0", {"identity"}),
    "patch": ("containerApps/maia-runner$", "PATCH", "app", {"identity", "role:0", "role:1"}),
    "poll": ("containerappOperationStatuses", "GET", "app", {"identity", "role:0", "role:1"}),
}
KINDS = ["429,retry_after=0", "500", "503,retry_after=0", "drop"]
CASES = [(step, kind) for step in STEPS for kind in KINDS] + [("patch", "lro-fail")]
RA = "Microsoft.Authorization/roleAssignments"


def _fault(step: str, kind: str, times: int) -> str:
    route, method, _, _ = STEPS[step]
    return f"{kind},route={route},method={method},times={times}"


@pytest.mark.parametrize(("step", "kind"), [c for c in CASES if c[1] != "lro-fail"])
async def test_a_passing_fault_is_recovered(demo, tmp_path, step: str, kind: str) -> None:
    demo.sandbox.faults.add(_fault(step, kind, times=1))
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
    assert outcome.status == "applied", outcome.error
    assert all(c.status != "problem" for c in outcome.checks), outcome.checks
    assert demo.sandbox.faults.faults[0].hits == 1  # the fault really happened


async def test_a_failed_long_running_operation_is_not_retried(demo, tmp_path) -> None:
    """A revision that failed to provision needs a person: apply stops instead of trying again."""
    demo.sandbox.faults.add(_fault("patch", "lro-fail", times=1))
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.code == "ContainerAppOperationFailed"
    assert len([w for w in demo.sandbox.writes() if w[0] == "PATCH"]) == 1


@pytest.mark.parametrize(("step", "kind"), CASES)
async def test_a_lasting_fault_stops_with_a_journal_then_resume_and_rollback(
    demo, tmp_path, step: str, kind: str
) -> None:
    i = ids(demo)
    app_before = snapshot(demo, i["app"])
    _, _, failing, done_before = STEPS[step]
    demo.sandbox.faults.add(_fault(step, kind, times=1000))
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        failed = await applier(gw, tmp_path).apply(plan)
        if step == "poll":
            # The PATCH landed; with its status endpoint failing, apply watches the app itself.
            assert failed.status == "applied", failed.error
            assert snapshot(demo, i["app"])["properties"]["provisioningState"] == "Succeeded"
            return
        assert failed.status == "failed"
        assert failed.error is not None
        journal = read_events(failed.journal)  # type: ignore[arg-type]
        assert journal[-1]["event"] == "failed"
        done = {e["step"] for e in journal if e["event"] == "done"}
        assert done == done_before
        assert failing in {e["step"] for e in journal if e["event"] == "begin"}
        assert failed.results[failing if failing != "app" else "env"].status == "failed"

        demo.sandbox.faults.clear()
        resumed = await applier(gw, tmp_path).apply(plan)
        assert resumed.status in ("applied", "nothing to do"), resumed.error
        assert all(c.status != "problem" for c in resumed.checks), resumed.checks
        # done steps are not redone: the resumed run only writes what the failed one did not
        redone = {s.id for s in resumed.step_plan.steps if s.writes}
        assert not redone & done_before

        principal = resumed.identity.principal_id  # type: ignore[union-attr]
        # The resumed attempt continued the failed run: one journal, one rollback undoes both.
        assert resumed.journal in (None, failed.journal)
        outcome = await roll_back(gw, failed.journal)
        assert outcome.ok, outcome.results
    app_after = snapshot(demo, i["app"])
    assert app_after["identity"] == app_before["identity"]
    assert app_after["properties"]["template"] == app_before["properties"]["template"]
    assert snapshot(demo, plan.identity_id) is None
    assert [a for a in demo.store.of_type(RA) if a["properties"]["principalId"] == principal] == []
