"""Rollback as a plan of its own, through the sandbox and the real SDK clients: what it shows, what
it then writes, and what Azure holds afterwards. One test (at least) per promise of the README's
rollback section.
"""

from __future__ import annotations

import json
import shlex
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.engine.helpers import SECRET_VALUE, applier, gateway, ids, roll_back, runner_plan, snapshot
from wizard.azure.gateway import Gateway
from wizard.journal import read_events
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.rollback import execute, plan_rollback, read_run, render_text

RA = "Microsoft.Authorization/roleAssignments"
KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def assignments_of(running: Any, principal: str) -> list[dict[str, Any]]:
    return [a for a in running.store.of_type(RA) if a["properties"]["principalId"] == principal]


def env_of(running: Any, app_id: str, container: str = "runner") -> dict[str, dict[str, Any]]:
    app = snapshot(running, app_id)
    for entry in app["properties"]["template"]["containers"]:
        if entry["name"] == container:
            return {e["name"]: e for e in entry.get("env") or []}
    raise AssertionError(container)


async def link_to(gw: Gateway, app_id: str, identity_id: str) -> None:
    """Someone else links an identity to an app (the portal's Identity blade does this PATCH)."""
    raw = await gw.container_app_raw(app_id)
    assert raw is not None
    current = raw.get("identity") or {}
    users = {k: {} for k in current.get("userAssignedIdentities") or {}}
    system = "SystemAssigned" in str(current.get("type", ""))
    kind = "SystemAssigned,UserAssigned" if system else "UserAssigned"
    await gw.patch_container_app(
        app_id, {"identity": {"type": kind, "userAssignedIdentities": {**users, identity_id: {}}}}
    )


def writes_since(running: Any, start: int) -> list[tuple[str, str]]:
    return [(method, path.lower()) for method, path, _ in running.sandbox.writes()[start:]]


# -- read, diff, show, confirm, then write --------------------------------------------------------
async def test_the_plan_lists_exactly_the_writes_execute_then_makes(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        assert outcome.status == "applied"
        principal = outcome.identity.principal_id  # type: ignore[union-attr]
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        text = render_text(shown)
        assert not shown.problems
        actions = sorted((s.action, s.kind) for s in shown.steps)
        assert actions == [
            ("delete", "identity"),
            ("delete", "role"),
            ("delete", "role"),
            ("restore", "env"),
            ("unlink", "link"),
        ]
        assert "delete managed identity id-maia-runner" in text
        assert "remove AZURE_CLIENT_ID from container runner of maia-runner" in text
        start = len(demo.sandbox.writes())
        done = await execute(gw, shown)
    assert done.status == "rolled back", done.results
    assert {r.status for r in done.results.values()} == {"done"}
    # exactly the listed writes: one PATCH of the app, a DELETE per listed role assignment and the identity
    made = writes_since(demo, start)
    deleted = sorted(path for method, path in made if method == "DELETE")
    listed = sorted(s.target.lower() for s in shown.steps if s.action == "delete")
    assert deleted == listed
    assert [m for m in made if m[0] != "DELETE"] == [("PATCH", i["app"].lower())]
    after = snapshot(demo, i["app"])
    assert after["identity"] == before["identity"]
    assert after["properties"]["template"] == before["properties"]["template"]
    assert after["properties"]["configuration"] == before["properties"]["configuration"]
    assert snapshot(demo, plan.identity_id) is None
    assert assignments_of(demo, principal) == []
    events = read_events(outcome.journal)  # type: ignore[arg-type]
    assert events[-1] == {**events[-1], "event": "rollback-finished", "ok": True, "remaining": []}


async def test_a_reference_that_appears_after_the_plan_was_shown_stops_the_delete(demo, tmp_path) -> None:
    """Confirmation takes a person's time: execute reads again and never does more than it showed."""
    i = ids(demo)
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        assert any(s.action == "delete" and s.kind == "identity" for s in shown.steps)
        await link_to(gw, i["staging"], plan.identity_id)  # while the admin reads the list
        done = await execute(gw, shown)
    assert snapshot(demo, plan.identity_id) is not None
    identity_step = next(s for s in shown.steps if s.kind == "identity")
    result = done.results[identity_step.key]
    assert result.status == "skipped" and "maia-runner-staging" in result.message
    assert not done.ok


async def test_a_second_rollback_finds_nothing_to_undo_and_says_so(demo, tmp_path) -> None:
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
        first = await roll_back(gw, outcome.journal)  # type: ignore[arg-type]
        assert first.status == "rolled back"
        writes = len(demo.sandbox.writes())
        again = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        assert not again.writes
        assert "Nothing to undo" in render_text(again)
        second = await execute(gw, again)
    assert second.status == "nothing to undo"
    assert len(demo.sandbox.writes()) == writes


# -- a run is all its attempts ----------------------------------------------------------------------
async def test_a_resumed_run_is_one_run_and_rollback_undoes_every_attempt(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = runner_plan(demo)
    demo.sandbox.faults.add("lro-fail,route=containerApps,times=1000")
    async with gateway(demo) as gw:
        failed = await applier(gw, tmp_path).apply(plan)
        assert failed.status == "failed"
        demo.sandbox.faults.add("500,route=containerApps/maia-runner$,method=PATCH,times=1000")
        again = await applier(gw, tmp_path).apply(plan)  # the CLI's `apply` again, the wizard's Retry
        assert again.status == "failed"
        assert again.journal == failed.journal  # one run: the attempts share its journal
        principal = failed.identity.principal_id  # type: ignore[union-attr]
        assert len(assignments_of(demo, principal)) == 2
        demo.sandbox.faults.clear()
        done = await roll_back(gw, again.journal)  # type: ignore[arg-type]
    assert done.status == "rolled back", done.results
    events = read_events(failed.journal)  # type: ignore[arg-type]
    assert [e["event"] for e in events].count("attempt") == 1
    assert snapshot(demo, plan.identity_id) is None
    assert assignments_of(demo, principal) == []
    assert snapshot(demo, i["app"])["properties"]["template"] == before["properties"]["template"]


async def test_a_finished_or_rolled_back_run_is_not_continued(demo, tmp_path) -> None:
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(plan)
        await roll_back(gw, first.journal)  # type: ignore[arg-type]
        second = await applier(gw, tmp_path).apply(plan)
    assert second.status == "applied"
    assert second.journal != first.journal


# -- never delete what something else uses ---------------------------------------------------------
async def test_an_identity_a_second_app_holds_is_kept_with_its_roles(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        principal = outcome.identity.principal_id  # type: ignore[union-attr]
        await link_to(gw, i["staging"], plan.identity_id)
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    kept = {s.kind: s for s in shown.steps if s.action == "keep"}
    assert "maia-runner-staging" in kept["identity"].reason
    assert "maia-runner-staging" in render_text(shown)
    assert done.ok
    assert snapshot(demo, plan.identity_id) is not None
    assert len(assignments_of(demo, principal)) == 2  # the other app may need them
    assert plan.identity_id in snapshot(demo, i["staging"])["identity"]["userAssignedIdentities"]
    after = snapshot(demo, i["app"])  # this run's own app is restored all the same
    assert after["identity"] == before["identity"]
    assert after["properties"]["template"] == before["properties"]["template"]


async def test_an_identity_an_app_in_another_subscription_holds_is_kept(demo, tmp_path) -> None:
    i = ids(demo)
    dev_app = (
        f"/subscriptions/{i['dev']}/resourceGroups/rg-dev-runner/providers/Microsoft.App/containerApps/maia-runner-dev"
    )
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        await link_to(gw, dev_app, plan.identity_id)
        done = await roll_back(gw, outcome.journal)  # type: ignore[arg-type]
    identity = done.plan.step("identity")
    assert identity is not None and identity.action == "keep" and "maia-runner-dev" in identity.reason
    assert snapshot(demo, plan.identity_id) is not None


@pytest.mark.parametrize("where", ["registry", "secret"])
async def test_an_identity_the_apps_registry_or_secret_names_stays_linked(demo, tmp_path, where: str) -> None:
    i = ids(demo)
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        principal = outcome.identity.principal_id  # type: ignore[union-attr]
        if where == "registry":
            config = {"registries": [{"server": "maiaaihybrid.azurecr.io", "identity": plan.identity_id}]}
        else:
            config = {
                "secrets": [
                    {"name": "agent-token", "value": SECRET_VALUE},
                    {
                        "name": "vault-token",
                        "keyVaultUrl": "https://kv-maia-prod.vault.azure.net/secrets/token",
                        "identity": plan.identity_id,
                    },
                ]
            }
        await gw.patch_container_app(i["app"], {"properties": {"configuration": config}})
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    link = next(s for s in shown.steps if s.kind == "link")
    assert link.action == "keep" and where in link.reason
    assert done.ok, done.results
    after = snapshot(demo, i["app"])
    assert plan.identity_id in after["identity"]["userAssignedIdentities"]
    assert "AZURE_CLIENT_ID" not in env_of(demo, i["app"])  # the variable is still undone
    assert snapshot(demo, plan.identity_id) is not None
    assert len(assignments_of(demo, principal)) == 2


async def test_a_role_assignment_someone_made_since_keeps_the_identity(demo, tmp_path) -> None:
    i = ids(demo)
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        principal = outcome.identity.principal_id  # type: ignore[union-attr]
        reader = await gw.find_role(i["sub"], "Reader")
        assert reader is not None
        theirs = await gw.create_role_assignment(i["storage"], reader, principal, str(uuid.uuid4()))
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    identity = next(s for s in shown.steps if s.kind == "identity")
    assert identity.action == "keep" and "Reader" in identity.reason
    assert done.ok
    assert snapshot(demo, plan.identity_id) is not None
    assert snapshot(demo, theirs.id) is not None


async def test_a_later_run_that_uses_the_identity_keeps_it_until_that_run_is_rolled_back(demo, tmp_path) -> None:
    i = ids(demo)
    first_plan = runner_plan(demo)
    later_plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-maia-runner"), [RoleRequest("Reader", i["storage"])])
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(first_plan)
        later = await applier(gw, tmp_path).apply(later_plan)
        assert later.status == "applied" and later.journal != first.journal
        principal = first.identity.principal_id  # type: ignore[union-attr]
        shown = await plan_rollback(gw, read_run(first.journal))  # type: ignore[arg-type]
        identity = next(s for s in shown.steps if s.kind == "identity")
        assert identity.action == "keep" and later.journal.name in identity.reason  # type: ignore[union-attr]
        done = await execute(gw, shown)
        assert done.ok
        assert snapshot(demo, first_plan.identity_id) is not None
        # the first run's own roles are not the later run's: they go; the later run's Reader stays
        held = {a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1] for a in assignments_of(demo, principal)}
        assert held == {"acdd72a7-3385-48ef-bd42-f606fba81ae7"}

        assert (await roll_back(gw, later.journal)).status == "rolled back"  # type: ignore[arg-type]
        assert snapshot(demo, first_plan.identity_id) is not None  # the later run did not create it
        rerun = await roll_back(gw, first.journal)  # type: ignore[arg-type]
    assert rerun.status == "rolled back"
    assert snapshot(demo, first_plan.identity_id) is None
    assert assignments_of(demo, principal) == []


async def test_when_the_apps_cannot_be_listed_nothing_is_deleted_blind(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        principal = outcome.identity.principal_id  # type: ignore[union-attr]
        demo.sandbox.faults.add("500,route=^list_apps$,times=1000")
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    identity = next(s for s in shown.steps if s.kind == "identity")
    assert identity.action == "keep" and "cannot be listed" in identity.reason
    assert done.ok
    assert snapshot(demo, plan.identity_id) is not None
    assert len(assignments_of(demo, principal)) == 2
    assert snapshot(demo, i["app"])["properties"]["template"] == before["properties"]["template"]


@pytest.mark.parametrize("changed_since", [False, True])
async def test_tags_a_run_put_on_a_reused_identity_are_put_back(demo, tmp_path, changed_since: bool) -> None:
    i = ids(demo)
    legacy = snapshot(demo, i["legacy_identity"])
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-legacy-runner", tags={"owner": "data"}), [])
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        assert outcome.step_plan.step("identity").action == "update"  # type: ignore[union-attr]
        if changed_since:
            await gw.create_identity(i["sub"], "rg-runner", "id-legacy-runner", "westeurope", {"owner": "security"})
        done = await roll_back(gw, outcome.journal)  # type: ignore[arg-type]
    after = snapshot(demo, i["legacy_identity"])
    assert after is not None  # not created by the run: never deleted
    assert after["properties"]["clientId"] == legacy["properties"]["clientId"]
    tags = done.plan.step("tags")
    assert tags is not None
    if changed_since:
        assert tags.action == "keep" and "changed after this run" in tags.reason
        assert after["tags"] == {"owner": "security"}
    else:
        assert tags.action == "restore" and done.status == "rolled back"
        assert after["tags"] == legacy["tags"]


# -- dependencies hold ---------------------------------------------------------------------------
async def test_when_restoring_the_app_fails_nothing_it_still_needs_is_deleted(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        principal = outcome.identity.principal_id  # type: ignore[union-attr]
        demo.sandbox.faults.add("lro-fail,route=containerApps,times=1000")
        failed = await roll_back(gw, outcome.journal)  # type: ignore[arg-type]
        assert failed.status == "failed"
        assert {r.status for k, r in failed.results.items() if k in ("env", "link")} == {"failed"}
        assert {r.status for k, r in failed.results.items() if k not in ("env", "link")} == {"not run"}
        assert snapshot(demo, plan.identity_id) is not None
        assert len(assignments_of(demo, principal)) == 2
        app = snapshot(demo, i["app"])
        assert plan.identity_id in app["identity"]["userAssignedIdentities"]
        events = read_events(outcome.journal)  # type: ignore[arg-type]
        steps = {e["key"]: e["result"] for e in events if e["event"] == "rollback-step"}
        assert steps["env"] == "failed" and steps["identity"] == "not run"
        assert events[-1]["event"] == "rollback-finished" and events[-1]["ok"] is False
        assert "identity" in events[-1]["remaining"]

        demo.sandbox.faults.clear()
        rerun = await roll_back(gw, outcome.journal)  # type: ignore[arg-type]
    assert rerun.status == "rolled back", rerun.results
    assert snapshot(demo, plan.identity_id) is None
    assert assignments_of(demo, principal) == []
    assert snapshot(demo, i["app"])["properties"]["template"] == before["properties"]["template"]


# -- order -----------------------------------------------------------------------------------------
async def test_rolling_back_two_runs_in_the_wrong_order_is_refused_and_the_right_order_restores(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    first_plan, second_plan = runner_plan(demo, "id-runner-a"), runner_plan(demo, "id-runner-b")
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(first_plan)
        second = await applier(gw, tmp_path).apply(second_plan)
        assert first.status == second.status == "applied"
        writes = len(demo.sandbox.writes())
        wrong = await plan_rollback(gw, read_run(first.journal))  # type: ignore[arg-type]
        assert any(str(second.journal) in p for p in wrong.problems), wrong.problems
        refused = await execute(gw, wrong)
        assert refused.status == "refused"
        assert len(demo.sandbox.writes()) == writes
        assert snapshot(demo, first_plan.identity_id) is not None

        later = await plan_rollback(gw, read_run(second.journal))  # type: ignore[arg-type]
        env_step = next(s for s in later.steps if s.kind == "env")
        assert env_step.action == "restore" and not env_step.warnings  # id-runner-a's client ID, which exists
        assert (await execute(gw, later)).status == "rolled back"
        assert (await roll_back(gw, first.journal)).status == "rolled back"  # type: ignore[arg-type]
    after = snapshot(demo, i["app"])
    assert after["identity"] == before["identity"]
    assert after["properties"]["template"] == before["properties"]["template"]
    assert snapshot(demo, first_plan.identity_id) is None and snapshot(demo, second_plan.identity_id) is None


async def test_runs_whose_writes_are_gone_do_not_hold_anything(demo, tmp_path) -> None:
    """A journal is a record, not the truth: a run undone by hand (or a namesake identity's, deleted
    and created again) neither blocks an older run's rollback nor keeps a new identity alive."""
    i = ids(demo)
    before = snapshot(demo, i["app"])
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(runner_plan(demo, "id-runner-a"))
        second = await applier(gw, tmp_path).apply(runner_plan(demo, "id-runner-b"))
        # someone undoes the second run by hand: the variable back to id-runner-a's, id-runner-b gone
        raw = await gw.container_app_raw(i["app"])
        containers = raw["properties"]["template"]["containers"]  # type: ignore[index]
        a_client = snapshot(demo, runner_plan(demo, "id-runner-a").identity_id)["properties"]["clientId"]
        containers[0]["env"][-1]["value"] = a_client
        b_id = runner_plan(demo, "id-runner-b").identity_id
        await gw.patch_container_app(
            i["app"],
            {
                "identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {b_id: None}},
                "properties": {"template": {"containers": containers}},
            },
        )
        await gw.delete_identity(b_id)
        # and a third run creates id-runner-b again (another principal) for the app without roles
        third = await applier(gw, tmp_path).apply(runner_plan(demo, "id-runner-b", app=None))
        assert third.journal not in (first.journal, second.journal)
        undone_first = await roll_back(gw, first.journal)  # type: ignore[arg-type]
        undone_third = await roll_back(gw, third.journal)  # type: ignore[arg-type]
    assert undone_first.status == "rolled back", undone_first.plan.problems
    assert undone_third.status == "rolled back", [s.reason for s in undone_third.plan.steps]
    assert snapshot(demo, b_id) is None  # the second run's journal names it, but not this one
    after = snapshot(demo, i["app"])
    assert after["identity"] == before["identity"]
    assert after["properties"]["template"] == before["properties"]["template"]


# -- revisions -------------------------------------------------------------------------------------
async def test_a_fixed_revision_suffix_is_never_reused_by_the_revert(demo, tmp_path) -> None:
    i = ids(demo)
    async with gateway(demo) as gw:
        raw = await gw.container_app_raw(i["app"])
        template = raw["properties"]["template"]  # type: ignore[index]
        await gw.patch_container_app(
            i["app"], {"properties": {"template": {"revisionSuffix": "v1", "containers": template["containers"]}}}
        )
        before = snapshot(demo, i["app"])
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
        assert outcome.status == "applied", outcome.error
        applied_revision = snapshot(demo, i["app"])["properties"]["latestRevisionName"]
        assert applied_revision.startswith("maia-runner--ri-")  # apply's own fresh suffix
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        env_step = next(s for s in shown.steps if s.kind == "env")
        assert any("revisionSuffix" in d for d in env_step.details)
        done = await execute(gw, shown)
        names = [r.name for r in await gw.revisions(i["app"])]
    assert done.status == "rolled back", done.results
    after = snapshot(demo, i["app"])
    latest = after["properties"]["latestRevisionName"]
    assert latest not in (applied_revision, before["properties"]["latestRevisionName"])
    assert len(names) == len(set(names))
    assert after["properties"]["template"]["containers"] == before["properties"]["template"]["containers"]


# -- values ----------------------------------------------------------------------------------------
async def test_a_value_that_existed_before_the_run_is_restored(demo, tmp_path) -> None:
    """The staging app held the legacy identity's client ID: rollback puts exactly that back. It runs
    in Multiple revision mode, so the run's revision stays active beside the restored one, still
    using the run's identity: that keeps the identity, linked, with the reason."""
    i = ids(demo)
    before = snapshot(demo, i["staging"])
    legacy_client = snapshot(demo, i["legacy_identity"])["properties"]["clientId"]
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-staging"), [], AppTarget(i["staging"]))
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        applied = snapshot(demo, i["staging"])["properties"]["latestRevisionName"]
        assert env_of(demo, i["staging"])["AZURE_CLIENT_ID"]["value"] != legacy_client
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        env_step = next(s for s in shown.steps if s.kind == "env")
        assert env_step.action == "restore" and not env_step.warnings
        assert legacy_client in env_step.summary
        done = await execute(gw, shown)
    assert done.status == "rolled back"
    assert env_of(demo, i["staging"])["AZURE_CLIENT_ID"] == {"name": "AZURE_CLIENT_ID", "value": legacy_client}
    after = snapshot(demo, i["staging"])
    assert after["properties"]["template"]["containers"] == before["properties"]["template"]["containers"]
    link = next(s for s in shown.steps if s.kind == "link")
    assert link.action == "keep" and f"active revision {applied}" in link.reason
    assert next(s for s in shown.steps if s.kind == "identity").action == "keep"
    assert set(after["identity"]["userAssignedIdentities"]) == {i["legacy_identity"], plan.identity_id}
    assert snapshot(demo, plan.identity_id) is not None


@pytest.mark.parametrize("previous", ["gone", "unlinked"])
async def test_a_restored_value_whose_identity_is_gone_or_unlinked_is_warned(demo, tmp_path, previous: str) -> None:
    i = ids(demo)
    value = str(uuid.uuid4()) if previous == "gone" else snapshot(demo, i["legacy_identity"])["properties"]["clientId"]
    async with gateway(demo) as gw:
        raw = await gw.container_app_raw(i["app"])
        containers = raw["properties"]["template"]["containers"]  # type: ignore[index]
        containers[0]["env"].append({"name": "AZURE_CLIENT_ID", "value": value})
        await gw.patch_container_app(i["app"], {"properties": {"template": {"containers": containers}}})
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        env_step = next(s for s in shown.steps if s.kind == "env")
        done = await execute(gw, shown)
    assert env_step.action == "restore"
    warning = " ".join(env_step.warnings)
    assert value in warning
    assert ("no identity" in warning) if previous == "gone" else ("not linked" in warning)
    assert f"! {env_step.warnings[0]}" in render_text(shown)
    assert done.ok
    assert env_of(demo, i["app"])["AZURE_CLIENT_ID"] == {"name": "AZURE_CLIENT_ID", "value": value}


async def test_a_variable_someone_changed_since_is_left_as_it_is(demo, tmp_path) -> None:
    i = ids(demo)
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        raw = await gw.container_app_raw(i["app"])
        containers = raw["properties"]["template"]["containers"]  # type: ignore[index]
        containers[0]["env"][-1]["value"] = "changed-by-a-colleague"
        await gw.patch_container_app(i["app"], {"properties": {"template": {"containers": containers}}})
        shown = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
        done = await execute(gw, shown)
    env_step = next(s for s in shown.steps if s.kind == "env")
    assert env_step.action == "keep" and "changed after this run" in env_step.reason
    assert done.ok
    assert env_of(demo, i["app"])["AZURE_CLIENT_ID"] == {"name": "AZURE_CLIENT_ID", "value": "changed-by-a-colleague"}


# -- the command -----------------------------------------------------------------------------------
def _cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "no-az"))
    monkeypatch.chdir(tmp_path)
    return ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]


def _plan_file(tmp_path: Path, name: str) -> Path:
    from wizard.sandbox.scenarios import build_store

    sub = next(iter(build_store("demo").subscriptions.values()))["subscriptionId"]
    app = f"/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
    plan = Plan(sub, IdentitySpec("rg-runner", name), [RoleRequest("Reader")], AppTarget(app, "runner"))
    path = tmp_path / f"{name}.toml"
    plan.save(path)
    return path


def test_the_command_dry_run_json_then_yes_then_nothing_to_undo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.cli import main

    state = _cli(tmp_path, monkeypatch)
    plan = _plan_file(tmp_path, "id-cli-runner")
    assert main(["apply", str(plan), "--yes", "--json", *state]) == 0
    journal = json.loads(capsys.readouterr().out)["journal"]

    assert main(["rollback", journal, "--dry-run", "--json", *state]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["status"] == "dry run" and dry["journal"] == journal
    assert sorted(s["action"] for s in dry["steps"]) == ["delete", "delete", "restore", "unlink"]
    assert {s["result"] for s in dry["steps"]} == {None}
    assert main(["verify", str(plan), *state]) == 0  # nothing was undone
    capsys.readouterr()

    assert main(["rollback", journal, *state]) == 2  # no terminal to confirm on, no --yes
    assert "--yes" in capsys.readouterr().err

    assert main(["rollback", journal, "--yes", "--json", *state]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["status"] == "rolled back"
    assert [(s["action"], s["target"]) for s in done["steps"]] == [(s["action"], s["target"]) for s in dry["steps"]]
    assert {s["result"] for s in done["steps"]} == {"done"}

    assert main(["rollback", journal, "--yes", *state]) == 0
    assert "Nothing to undo" in capsys.readouterr().out


def test_the_command_refuses_the_wrong_order_and_a_bad_journal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.cli import main

    state = _cli(tmp_path, monkeypatch)
    journals = []
    for name in ("id-cli-first", "id-cli-second"):
        assert main(["apply", str(_plan_file(tmp_path, name)), "--yes", "--json", *state]) == 0
        journals.append(json.loads(capsys.readouterr().out)["journal"])
    assert main(["rollback", journals[0], "--yes", "--json", *state]) == 2
    refused = json.loads(capsys.readouterr().out)
    assert refused["status"] == "refused"
    assert any(journals[1] in p for p in refused["problems"])
    # Said as a command to copy, with the connection in use (a bare one would go to the real tenant).
    assert main(["rollback", journals[0], "--yes", *state]) == 2
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Roll back the later run first")]
    assert said and shlex.split(said[0].split(": ", 1)[1]) == ["runner-identity", "rollback", journals[1], *state], said

    (tmp_path / "notes.jsonl").write_text('{"hello": 1}\n')
    assert main(["rollback", str(tmp_path / "notes.jsonl"), "--yes", *state]) == 2
    assert "not a runner-identity journal" in capsys.readouterr().err
    assert main(["rollback", str(tmp_path / "missing.jsonl"), "--yes", *state]) == 2
    assert "cannot be read" in capsys.readouterr().err
