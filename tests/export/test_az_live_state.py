"""The exported az script on tenants that differ from the one it was exported on, through the stand-in az:
a provider not registered, an identity deleted and re-created, a linked identity that is gone, a
variable named twice, a pinned revision suffix, a busy app, an assignment or a link made by hand."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningSandbox
from tests.engine.helpers import edit_resource, gateway, ids, runner_plan, snapshot
from tests.export.harness import run_script
from tests.export.test_az_sandbox import BLOB_READER, apply_plan, live, script_for, used_options
from wizard.azure.connection import Connection
from wizard.export import render_az
from wizard.model import RoleDefinition
from wizard.plan import Plan

UAI = "Microsoft.ManagedIdentity/userAssignedIdentities"


def containers_of(running: RunningSandbox) -> list[dict[str, Any]]:
    return snapshot(running, ids(running)["app"])["properties"]["template"]["containers"]


def linked_principal(running: RunningSandbox, identity_id: str) -> str | None:
    held = snapshot(running, ids(running)["app"])["identity"].get("userAssignedIdentities") or {}
    return next((v.get("principalId") for k, v in held.items() if k.lower() == identity_id.lower()), None)


def run_twice_second_writes_nothing(running: RunningSandbox, script: str, tmp_path: Path) -> None:
    run = run_script(script, running, tmp_path)
    assert run.ok, run.result.stderr
    used_options(run)
    writes = len(running.sandbox.writes())
    again = run_script(script, running, tmp_path)
    assert again.ok, again.result.stderr
    assert running.sandbox.writes()[writes:] == []


def nothing_left_for_apply(running: RunningSandbox, plan: Plan, tmp_path: Path) -> None:
    writes = len(running.sandbox.writes())
    assert apply_plan(running, plan, tmp_path).status == "nothing to do"
    assert len(running.sandbox.writes()) == writes


# -- resource providers ----------------------------------------------------------------------------
def test_providers_not_registered_are_registered_then_written(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    running = start_sandbox(unregistered=("Microsoft.ManagedIdentity", "Microsoft.App"))
    plan = runner_plan(running, tags={"owner": "data"})
    script = script_for(running, plan)
    run_twice_second_writes_nothing(running, script, tmp_path)
    registered = [w[1] for w in running.sandbox.writes() if w[1].lower().endswith("/register")]
    assert [r.rsplit("/", 2)[1] for r in registered] == ["Microsoft.ManagedIdentity", "Microsoft.App"]
    identity = snapshot(running, plan.identity_id)
    assert identity is not None
    assert {"name": "AZURE_CLIENT_ID", "value": identity["properties"]["clientId"]} in containers_of(running)[0]["env"]
    nothing_left_for_apply(running, plan, tmp_path)


def test_a_registered_provider_is_not_registered_again(demo: RunningSandbox, tmp_path: Path) -> None:
    run = run_script(script_for(demo, runner_plan(demo)), demo, tmp_path)
    assert run.ok, run.result.stderr
    assert not [w for w in demo.sandbox.writes() if w[1].lower().endswith("/register")]


# -- tags ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("held", "planned", "merged"),
    [
        # ARM keys tag names without regard to case: a planned `Owner` renames a live `owner`, as apply does
        (
            {"owner": "data", "team": "x"},
            {"Owner": "data", "env": "prod"},
            {"Owner": "data", "team": "x", "env": "prod"},
        ),
        ({"OWNER": "old", "a=b": "1"}, {"owner": "new"}, {"owner": "new", "a=b": "1"}),
        ({'"q` é:': "1", "keep": "`@CONTAINER@`"}, {'"Q` é:': "2"}, {'"Q` é:': "2", "keep": "`@CONTAINER@`"}),
        ({"Owner": "data"}, {"Owner": "data"}, {"Owner": "data"}),
    ],
)
def test_tags_are_merged_at_run_time_and_names_matched_without_regard_to_case(
    demo: RunningSandbox, tmp_path: Path, held: dict[str, str], planned: dict[str, str], merged: dict[str, str]
) -> None:
    plan = runner_plan(demo, tags=planned)
    script = script_for(demo, plan)  # exported before the identity existed: its tags are read when it runs

    async def by_hand() -> None:
        async with gateway(demo) as gw:
            await gw.create_identity(plan.subscription, "rg-runner", plan.identity.name, "westeurope", held)

    asyncio.run(by_hand())
    run_twice_second_writes_nothing(demo, script, tmp_path)
    assert snapshot(demo, plan.identity_id)["tags"] == merged
    nothing_left_for_apply(demo, plan, tmp_path)


# -- an identity deleted and re-created under its name ----------------------------------------------
def _recreate(running: RunningSandbox, plan: Plan, tags: dict[str, str] | None = None) -> Any:
    async def go() -> Any:
        async with gateway(running) as gw:
            await gw.delete_identity(plan.identity_id)
            return await gw.create_identity(
                plan.subscription, "rg-runner", plan.identity.name, "westeurope", tags or {}
            )

    return asyncio.run(go())


def test_a_recreated_identity_is_unlinked_then_linked_again(demo: RunningSandbox, tmp_path: Path) -> None:
    plan = runner_plan(demo)
    script = script_for(demo, plan)
    first = run_script(script, demo, tmp_path)
    assert first.ok, first.result.stderr
    again = _recreate(demo, plan)
    assert linked_principal(demo, plan.identity_id) not in (None, again.principal_id)  # the stale principal

    run_twice_second_writes_nothing(demo, script, tmp_path)
    assert linked_principal(demo, plan.identity_id) == again.principal_id
    assert containers_of(demo)[0]["env"][-1] == {"name": "AZURE_CLIENT_ID", "value": again.client_id}
    app = snapshot(demo, ids(demo)["app"])
    assert app["identity"]["type"] == "SystemAssigned,UserAssigned"  # the system-assigned identity stays
    nothing_left_for_apply(demo, plan, tmp_path)


def test_a_recreated_identity_a_registry_names_stops_with_the_reason_before_any_write(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    plan = runner_plan(demo)
    script = script_for(demo, plan)
    assert run_script(script, demo, tmp_path).ok
    edit_resource(
        demo,
        ids(demo)["app"],
        lambda app: app["properties"]["configuration"].__setitem__(
            "registries", [{"server": "contoso.azurecr.io", "identity": plan.identity_id}]
        ),
    )
    _recreate(demo, plan)
    writes = len(demo.sandbox.writes())
    run = run_script(script, demo, tmp_path)
    assert run.result.returncode == 1
    assert "re-created" in run.result.stderr and "registry contoso.azurecr.io" in run.result.stderr
    assert [w for w in demo.sandbox.writes()[writes:] if "containerApps" in w[1]] == []


# -- a linked identity that no longer exists ---------------------------------------------------------
def _link_then_delete(running: RunningSandbox, name: str) -> str:
    async def go() -> str:
        async with gateway(running) as gw:
            i = ids(running)
            doomed = await gw.create_identity(i["sub"], "rg-runner", name, "westeurope", {})
            await gw.patch_container_app(
                i["app"],
                {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {doomed.id: {}}}},
            )
            await gw.delete_identity(doomed.id)
            return str(doomed.id)

    return asyncio.run(go())


def test_a_linked_identity_that_is_gone_is_dropped_by_the_link(demo: RunningSandbox, tmp_path: Path) -> None:
    plan = runner_plan(demo)
    script = script_for(demo, plan)  # exported before the identity was linked and deleted
    doomed = _link_then_delete(demo, "id-doomed")
    run_twice_second_writes_nothing(demo, script, tmp_path)
    held = snapshot(demo, ids(demo)["app"])["identity"]
    assert [k.lower() for k in held["userAssignedIdentities"]] == [plan.identity_id.lower()]
    assert doomed.lower() not in str(held).lower()
    nothing_left_for_apply(demo, plan, tmp_path)


def test_a_gone_identity_a_secret_names_stops_with_the_reason_before_the_app_is_written(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    script = script_for(demo, runner_plan(demo))  # exported before; apply, reading now, refuses the plan
    doomed = _link_then_delete(demo, "id-doomed-named")
    edit_resource(
        demo,
        ids(demo)["app"],
        lambda app: app["properties"]["configuration"]["secrets"].append(
            {"name": "vault-held", "keyVaultUrl": "https://kv.vault.azure.net/secrets/x", "identity": doomed}
        ),
    )
    writes = len(demo.sandbox.writes())
    run = run_script(script, demo, tmp_path)
    assert run.result.returncode == 1
    assert "no longer exists" in run.result.stderr and "secret vault-held" in run.result.stderr
    assert [w for w in demo.sandbox.writes()[writes:] if "containerApps" in w[1]] == []


# -- the variable ------------------------------------------------------------------------------------
def test_a_variable_named_twice_is_read_and_written_as_the_runtime_reads_it(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    """The runtime uses a name's last entry, and so do apply and the script: the earlier entries stay."""
    plan = runner_plan(demo)
    script = script_for(demo, plan)
    assert run_script(script, demo, tmp_path).ok
    client_id = snapshot(demo, plan.identity_id)["properties"]["clientId"]

    def shadow(app: dict[str, Any]) -> None:
        env = app["properties"]["template"]["containers"][0]["env"]
        env.insert(0, {"name": "AZURE_CLIENT_ID", "value": "an-earlier-entry"})

    edit_resource(demo, ids(demo)["app"], shadow)
    writes = len(demo.sandbox.writes())
    assert run_script(script, demo, tmp_path).ok
    assert demo.sandbox.writes()[writes:] == []  # the last entry holds the client ID: nothing to do
    nothing_left_for_apply(demo, plan, tmp_path)

    def stale_last(app: dict[str, Any]) -> None:
        app["properties"]["template"]["containers"][0]["env"].append({"name": "AZURE_CLIENT_ID", "value": "old"})

    edit_resource(demo, ids(demo)["app"], stale_last)
    run_twice_second_writes_nothing(demo, script, tmp_path)
    named = [e for e in containers_of(demo)[0]["env"] if e["name"] == "AZURE_CLIENT_ID"]
    assert named == [
        {"name": "AZURE_CLIENT_ID", "value": "an-earlier-entry"},
        {"name": "AZURE_CLIENT_ID", "value": client_id},
        {"name": "AZURE_CLIENT_ID", "value": client_id},
    ]


def test_a_variable_held_as_a_secret_reference_becomes_the_client_id(demo: RunningSandbox, tmp_path: Path) -> None:
    plan = runner_plan(demo)
    assert plan.container_app is not None
    plan.container_app.env_var = "AGENT_TOKEN"  # a secretRef in the demo app
    run_twice_second_writes_nothing(demo, script_for(demo, plan), tmp_path)
    client_id = snapshot(demo, plan.identity_id)["properties"]["clientId"]
    assert {"name": "AGENT_TOKEN", "value": client_id} in containers_of(demo)[0]["env"]
    nothing_left_for_apply(demo, plan, tmp_path)


def test_a_pinned_revision_suffix_gets_a_new_one_and_a_rerun_writes_nothing(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    edit_resource(
        demo, ids(demo)["app"], lambda app: app["properties"]["template"].__setitem__("revisionSuffix", "pinned")
    )
    plan = runner_plan(demo)
    run_twice_second_writes_nothing(demo, script_for(demo, plan), tmp_path)
    suffix = snapshot(demo, ids(demo)["app"])["properties"]["template"]["revisionSuffix"]
    assert suffix != "pinned" and suffix.startswith("ri-")


# -- the app busy with someone else's update ---------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [
        "busy,route=maia-runner$,times=6",  # read InProgress: waited for before the PATCH
        "busy,route=maia-runner$,method=PATCH,times=1",  # begun between the read and the PATCH: 409, read again
    ],
)
def test_an_app_busy_with_another_update_is_waited_for(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path, fault: str
) -> None:
    running = start_sandbox(faults=(fault,))
    plan = runner_plan(running)
    script = render_az(live(running, plan), Connection(arm_endpoint=running.info.arm_endpoint))
    run = run_script(script, running, tmp_path)
    assert run.ok, run.result.stderr
    client_id = snapshot(running, plan.identity_id)["properties"]["clientId"]
    assert {"name": "AZURE_CLIENT_ID", "value": client_id} in containers_of(running)[0]["env"]


# -- made by hand ------------------------------------------------------------------------------------
def test_an_assignment_made_by_hand_under_another_name_counts_as_done(demo: RunningSandbox, tmp_path: Path) -> None:
    plan = runner_plan(demo)
    group = ids(demo)["group"]

    async def by_hand() -> None:
        async with gateway(demo) as gw:
            made = await gw.create_identity(plan.subscription, "rg-runner", plan.identity.name, "westeurope", {})
            role = RoleDefinition(
                f"/subscriptions/{plan.subscription}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_READER}",
                BLOB_READER,
                "Storage Blob Data Reader",
                "",
                True,
            )
            await gw.create_role_assignment(group, role, made.principal_id, name=str(uuid.uuid4()))

    asyncio.run(by_hand())
    writes = len(demo.sandbox.writes())
    run = run_script(script_for(demo, plan), demo, tmp_path)
    assert run.ok, run.result.stderr
    puts = [w[1] for w in demo.sandbox.writes()[writes:] if w[0] == "PUT"]
    assert len(puts) == 1 and "kv-maia-prod" in puts[0]  # only the vault's; the group's is held already


def test_an_app_linked_by_hand_gets_only_its_variable(demo: RunningSandbox, tmp_path: Path) -> None:
    plan = runner_plan(demo)

    async def by_hand() -> None:
        async with gateway(demo) as gw:
            made = await gw.create_identity(plan.subscription, "rg-runner", plan.identity.name, "westeurope", {})
            await gw.patch_container_app(
                ids(demo)["app"],
                {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {made.id: {}}}},
            )

    asyncio.run(by_hand())
    run_twice_second_writes_nothing(demo, script_for(demo, plan), tmp_path)
    client_id = snapshot(demo, plan.identity_id)["properties"]["clientId"]
    assert {"name": "AZURE_CLIENT_ID", "value": client_id} in containers_of(demo)[0]["env"]
    nothing_left_for_apply(demo, plan, tmp_path)
