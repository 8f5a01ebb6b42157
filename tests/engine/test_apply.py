"""apply, end to end against the sandbox through the real SDK clients: what Azure then holds."""

from __future__ import annotations

import json
import uuid

from tests.engine.helpers import (
    applier,
    assert_demo_app_linked,
    gateway,
    ids,
    roll_back,
    runner_plan,
    secrets_of,
    snapshot,
)
from wizard.azure.gateway import assignment_name
from wizard.journal import read_events
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest

RA = "Microsoft.Authorization/roleAssignments"


async def test_fresh_setup_creates_links_and_sets_the_client_id(demo, tmp_path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    secrets_before = secrets_of(demo, i["app"])
    plan = runner_plan(demo, tags={"owner": "data"})
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)

    assert outcome.status == "applied", outcome.error
    # every check passes; the one warning says the new role assignments may take minutes to take effect
    assert [c.name for c in outcome.checks if c.status != "ok"] == ["new role assignments are in effect"]
    identity = snapshot(demo, plan.identity_id)
    assert identity["tags"] == {"owner": "data"}
    assert identity["location"] == "westeurope"  # the resource group's region
    client_id, principal_id = identity["properties"]["clientId"], identity["properties"]["principalId"]

    for scope, role in (
        (i["vault"], "4633458b-17de-408a-b874-0445c86b69e6"),
        (i["group"], "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
    ):
        name = assignment_name(scope, principal_id, role)
        held = snapshot(demo, f"{scope}/providers/{RA}/{name}")
        assert held is not None, scope
        assert held["properties"]["principalType"] == "ServicePrincipal"
        assert held["properties"]["roleDefinitionId"].endswith(role)

    after = snapshot(demo, i["app"])
    assert_demo_app_linked(demo, before, after, secrets_before, plan.identity_id, client_id)
    assert after["properties"]["latestRevisionName"] != before["properties"]["latestRevisionName"]
    # One PATCH carries the link and the variable: one revision, one long-running operation.
    patches = [w for w in demo.sandbox.writes() if w[0] == "PATCH"]
    assert len(patches) == 1


async def test_rerunning_an_applied_plan_writes_nothing(demo, tmp_path) -> None:
    plan = runner_plan(demo)
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(plan)
        writes = len(demo.sandbox.writes())
        second = await applier(gw, tmp_path).apply(plan)
    assert first.status == "applied"
    assert second.status == "nothing to do"
    assert second.journal is None
    assert {s.action for s in second.step_plan.steps} == {"unchanged"}
    assert len(demo.sandbox.writes()) == writes


async def test_a_caller_without_role_assignment_rights_is_stopped_before_any_write(start_sandbox, tmp_path) -> None:
    running = start_sandbox(caller_role="Contributor")
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(running))
    assert outcome.status == "blocked"
    assert any("Microsoft.Authorization/roleAssignments/write" in p for p in outcome.step_plan.problems)
    assert running.sandbox.writes() == []
    assert snapshot(running, runner_plan(running).identity_id) is None


async def test_dev_subscription_refuses_role_assignments_to_a_contributor(demo, tmp_path) -> None:
    dev = demo.info.subscription_ids[1]
    plan = Plan(dev, IdentitySpec("rg-dev-runner", "id-dev-runner"), [RoleRequest("Key Vault Secrets User")])
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
    assert outcome.status == "blocked"
    assert "you cannot assign roles at" in outcome.step_plan.problems[0]
    assert demo.sandbox.writes() == []


async def test_reusing_an_identity_and_replacing_a_stale_client_id(demo, tmp_path) -> None:
    """The staging app holds the legacy identity's client ID; a new identity replaces it, with a warning."""
    i = ids(demo)
    before = snapshot(demo, i["staging"])
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-staging"), [], AppTarget(i["staging"]))
    async with gateway(demo) as gw:
        app = applier(gw, tmp_path)
        preview = await app.preview(plan)
        env_step = preview.step("env")
        assert env_step is not None and env_step.action == "update"
        assert any("will be replaced" in w for w in env_step.warnings)
        assert any("Multiple revision mode" in w for w in env_step.warnings)
        outcome = await app.apply(plan, preview)
    assert outcome.status == "applied"
    after = snapshot(demo, i["staging"])
    new_client = snapshot(demo, plan.identity_id)["properties"]["clientId"]
    env = {e["name"]: e for e in after["properties"]["template"]["containers"][0]["env"]}
    assert env["AZURE_CLIENT_ID"] == {"name": "AZURE_CLIENT_ID", "value": new_client}
    # the legacy identity stays linked, and there is still no system-assigned identity
    assert set(after["identity"]["userAssignedIdentities"]) == {i["legacy_identity"], plan.identity_id}
    assert after["identity"]["type"] == "UserAssigned"
    assert any(
        c.status == "warning" and "older active revisions" in c.name and "--" in c.detail for c in outcome.checks
    )
    assert before["properties"]["configuration"] == after["properties"]["configuration"]


async def test_reusing_an_existing_identity_creates_nothing_new(demo, tmp_path) -> None:
    i = ids(demo)
    plan = Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-legacy-runner"),
        [RoleRequest("Key Vault Secrets User", i["vault"])],  # already held by the legacy identity
        AppTarget(i["app"], "runner"),
    )
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
    actions = {s.id: s.action for s in outcome.step_plan.steps}
    assert actions == {"identity": "unchanged", "role:0": "unchanged", "link": "create", "env": "create"}
    assert [w[0] for w in demo.sandbox.writes()] == ["PATCH"]
    assert outcome.ok


async def test_an_equal_assignment_under_another_name_counts_as_done_and_is_not_rolled_back(demo, tmp_path) -> None:
    i = ids(demo)
    plan = runner_plan(demo, app=None)
    async with gateway(demo) as gw:
        identity = await gw.create_identity(i["sub"], "rg-runner", plan.identity.name, "westeurope", {})
        role = await gw.find_role(i["sub"], "Storage Blob Data Reader")
        assert role is not None
        foreign = await gw.create_role_assignment(i["group"], role, identity.principal_id, str(uuid.uuid4()))
        outcome = await applier(gw, tmp_path).apply(plan)
        assert outcome.status == "applied"
        assert outcome.step_plan.step("role:1").action == "unchanged"  # type: ignore[union-attr]
        undone = await roll_back(gw, outcome.journal)  # type: ignore[arg-type]
    assert undone.ok
    assert snapshot(demo, foreign.id) is not None  # not ours: kept
    assert snapshot(demo, plan.identity_id) is not None  # reused, not created by this run: kept


async def test_role_assignment_exists_race_is_treated_as_done(demo, tmp_path) -> None:
    """Someone assigns the same role between our read and our write: ARM's 409 means done."""
    i = ids(demo)
    plan = runner_plan(demo, app=None)
    async with gateway(demo) as gw:
        identity = await gw.create_identity(i["sub"], "rg-runner", plan.identity.name, "westeurope", {})
        app = applier(gw, tmp_path)
        preview = await app.preview(plan)
        role = await gw.find_role(i["sub"], "Key Vault Secrets User")
        await gw.create_role_assignment(i["vault"], role, identity.principal_id, str(uuid.uuid4()))  # type: ignore[arg-type]
        outcome = await app.apply(plan, preview)
    assert outcome.status == "applied", outcome.error
    events = read_events(outcome.journal)  # type: ignore[arg-type]
    assert any(e["event"] == "done" and e["action"] == "existing" for e in events)


async def test_journal_records_every_write_with_its_pre_image_and_no_secret(demo, tmp_path) -> None:
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
    text = outcome.journal.read_text()  # type: ignore[union-attr]
    events = [json.loads(line) for line in text.splitlines()]
    assert events[0]["event"] == "start"
    begun = [(e["step"], e["action"]) for e in events if e["event"] == "begin"]
    done = [(e["step"], e["action"]) for e in events if e["event"] == "done"]
    assert (
        sorted(begun)
        == sorted(done)
        == sorted([("identity", "create"), ("role:0", "create"), ("role:1", "create"), ("app", "update")])
    )
    app_begin = next(e for e in events if e["event"] == "begin" and e["step"] == "app")
    assert app_begin["pre_image"]["identity_type"] == "SystemAssigned"
    assert app_begin["pre_image"]["previous"] is None
    assert "sandbox-agent-token-value" not in text
    assert "eyJ" not in text  # no JWT
