"""Rollback against the app as it is now, the way apply meets it (tests/engine/test_live_app.py): a
variable listed twice, a linked identity that no longer exists, an app busy with someone else's
update; and the writes of a run rollback cannot undo (a provider's registration, the unlink of a
stale entry, a gone identity dropped from the app) are listed as kept, with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.engine.helpers import (
    applier,
    edit_resource,
    gateway,
    ids,
    link_then_delete,
    name_in_registry,
    runner_plan,
    snapshot,
)
from wizard.cli import main
from wizard.journal import read_events
from wizard.plan import AppTarget, IdentitySpec, Plan
from wizard.rollback import execute, outcome_lines, plan_rollback, read_run, render_text


def _runner_env(running: Any, app_id: str) -> list[dict[str, Any]]:
    containers = snapshot(running, app_id)["properties"]["template"]["containers"]
    return next(c for c in containers if c["name"] == "runner")["env"]


# -- a variable listed twice ----------------------------------------------------------------------------
async def test_a_variable_listed_twice_is_restored_in_its_last_entry_and_the_first_stays(demo, tmp_path) -> None:
    """Apply changed the last entry (the one the runtime uses): rollback reads and restores that same one."""
    i = ids(demo)

    def twice(app: dict[str, Any]) -> None:
        runner = app["properties"]["template"]["containers"][0]
        runner["env"] += [{"name": "AZURE_CLIENT_ID", "value": "first"}, {"name": "AZURE_CLIENT_ID", "value": "last"}]

    edit_resource(demo, i["app"], twice)
    before = _runner_env(demo, i["app"])
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        assert outcome.ok, outcome.error
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    text = render_text(shown)
    assert "restore AZURE_CLIENT_ID on container runner of maia-runner to last" in text, text
    assert [(s.action, s.kind) for s in shown.steps if s.action == "keep"] == [], text
    assert done.status == "rolled back", done.results
    assert _runner_env(demo, i["app"]) == before
    assert snapshot(demo, plan.identity_id) is None


# -- a linked identity that no longer exists -------------------------------------------------------------
async def test_an_identity_linked_since_that_no_longer_exists_is_dropped_by_the_unlink(demo, tmp_path) -> None:
    """Azure refuses an identity change that keeps a user-assigned identity that is gone: the unlink
    drops it too, and says so, rather than failing on every rerun."""
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        doomed = await link_then_delete(gw, demo, "id-doomed")
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    link = next(s for s in shown.steps if s.kind == "link")
    assert link.action == "unlink"
    assert any("id-doomed" in d and "no longer exists" in d for d in link.details), link.details
    assert any(doomed in w for w in link.warnings), link.warnings
    assert done.status == "rolled back", done.results
    after = snapshot(demo, i["app"])
    assert after["identity"] == before["identity"]
    assert after["properties"]["template"] == before["properties"]["template"]
    assert snapshot(demo, plan.identity_id) is None


async def test_a_gone_identity_a_registry_names_keeps_the_link_with_the_reason(demo, tmp_path) -> None:
    i = ids(demo)
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        doomed = await link_then_delete(gw, demo, "id-doomed-named")
        name_in_registry(demo, i["app"], doomed)
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    link = next(s for s in shown.steps if s.kind == "link")
    assert link.action == "keep" and "contoso.azurecr.io" in link.reason and "no longer exists" in link.reason
    assert next(s for s in shown.steps if s.kind == "identity").action == "keep"
    assert done.ok, done.results
    assert plan.identity_id in snapshot(demo, i["app"])["identity"]["userAssignedIdentities"]


# -- an app busy with someone else's update ---------------------------------------------------------------
async def test_an_app_busy_with_someone_elses_update_is_waited_for_then_restored(start_sandbox, tmp_path) -> None:
    running = start_sandbox()
    i = ids(running)
    before = snapshot(running, i["app"])
    plan = runner_plan(running)
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        assert outcome.ok, outcome.error
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        running.sandbox.faults.add("busy,route=maia-runner$,times=3")  # while the admin reads the list
        running.sandbox.faults.add("busy,route=maia-runner$,method=PATCH,times=1")
        done = await execute(gw, shown)
    assert done.status == "rolled back", done.results
    after = snapshot(running, i["app"])
    assert after["properties"]["template"] == before["properties"]["template"]
    assert after["identity"] == before["identity"]
    assert snapshot(running, plan.identity_id) is None


# -- writes rollback cannot undo -------------------------------------------------------------------------
async def test_a_registration_the_run_made_is_listed_as_kept_with_the_reason(start_sandbox, tmp_path) -> None:
    running = start_sandbox(unregistered=("Microsoft.ManagedIdentity",))
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(running))
        assert outcome.ok, outcome.error
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
        state = await gw.provider_state(running.prod, "Microsoft.ManagedIdentity")
    kept = [s for s in shown.steps if s.kind == "provider"]
    assert [s.action for s in kept] == ["keep"]
    assert "Microsoft.ManagedIdentity" in kept[0].summary
    assert "subscription-wide" in kept[0].reason
    assert "Microsoft.ManagedIdentity" in render_text(shown)
    assert done.status == "rolled back", done.results
    assert state.lower() == "registered"  # left as it is


async def test_the_unlink_of_a_stale_entry_is_listed_as_what_cannot_be_undone(demo, tmp_path) -> None:
    """A relink removed the entry of an identity deleted and re-created under the same name: that entry
    held a principal that no longer exists, and no write can bring it back."""
    i = ids(demo)
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-recreated"), [], AppTarget(i["app"], "runner"))
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(plan)
        assert first.ok
        await gw.delete_identity(plan.identity_id)
        await gw.create_identity(i["sub"], "rg-runner", "id-recreated", "westeurope", {})
        relinked = await applier(gw, tmp_path).apply(plan)
        assert relinked.ok, relinked.error
        shown = await plan_rollback(gw, read_run(relinked.journal))  # type: ignore[arg-type]
    stale = [s for s in shown.steps if s.kind == "stale"]
    assert [s.action for s in stale] == ["keep"], render_text(shown)
    assert "cannot be undone" in stale[0].reason and "id-recreated" in stale[0].summary
    assert "cannot be undone" in render_text(shown)


async def test_a_gone_identity_apply_dropped_is_listed_as_what_cannot_be_undone(demo, tmp_path) -> None:
    i = ids(demo)
    async with gateway(demo) as gw:
        doomed = await link_then_delete(gw, demo, "id-doomed-before")
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
        assert outcome.ok, outcome.error
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    dropped = [s for s in shown.steps if s.kind == "dropped"]
    assert [s.action for s in dropped] == ["keep"], render_text(shown)
    assert dropped[0].target == doomed and "no longer exists" in dropped[0].reason
    assert done.status == "rolled back", done.results
    assert doomed not in (snapshot(demo, i["app"])["identity"].get("userAssignedIdentities") or {})


# -- someone else's write while rollback writes -----------------------------------------------------------
async def test_someone_elses_write_between_rollbacks_read_and_its_patch_is_reported(demo, tmp_path) -> None:
    """The same window apply has (no ETag): a change landing between the fresh read and the PATCH is
    found afterwards and said, and the rollback is not called a success."""
    from wizard.apply import SENDING
    from wizard.sandbox.providers.container_apps import new_revision

    i = ids(demo)

    def change(app: dict[str, Any]) -> None:
        app["properties"]["configuration"]["ingress"] = {"external": True, "targetPort": 9090}
        app["properties"]["template"]["containers"][1]["env"][0]["value"] = "elsewhere"
        new_revision(demo.store, app)

    heard: list[str] = []

    def report(message: str) -> None:
        if message == SENDING and not heard:
            edit_resource(demo, i["app"], change)
        heard.append(message)

    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown, report=report)
    assert SENDING in heard
    assert not done.ok
    said = " ".join(done.conflicts)
    assert "configuration.ingress added" in said and "container log-shipper" in said, done.conflicts
    text = "\n".join(t for _, t in outcome_lines(done))
    assert "configuration.ingress added" in text
    assert snapshot(demo, i["app"])["properties"]["configuration"]["ingress"]["targetPort"] == 9090  # kept
    events = read_events(outcome.journal)  # type: ignore[arg-type]
    assert any(e["event"] == "conflict" and e["changes"] == done.conflicts for e in events)


def test_the_command_says_what_rollback_waits_for(start_sandbox, tmp_path, capsys, monkeypatch) -> None:
    """A rollback that meets the app busy with someone else's update waits for it, bounded; the admin
    sees on stderr what it waits for instead of a silent terminal (stdout stays the list and result)."""
    running = start_sandbox(retry_after_s=0.2)  # the console script polls as Retry-After asks
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    journal = asyncio.run(_applied(running, tmp_path))
    running.sandbox.faults.add("busy,route=maia-runner$,method=GET,after=1,times=1")  # the read before the PATCH
    where = ["--arm-endpoint", running.info.arm_endpoint, "--ca-bundle", running.info.ca_bundle]
    assert main(["rollback", str(journal), "--yes", *where]) == 0
    said = capsys.readouterr()
    assert "maia-runner is InProgress" in said.err
    assert "InProgress" not in said.out


async def _applied(running: Any, tmp_path: Any) -> Any:
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(running))
    assert outcome.ok, outcome.error
    return outcome.journal
