"""The identity and the app as they are now, not as they were: a re-created identity, a linked identity
that is gone, an app busy with someone else's update, and an app that changed since the preview."""

from __future__ import annotations

from typing import Any

from tests.engine.helpers import (
    applier,
    edit_resource,
    gateway,
    ids,
    install_app,
    link_then_delete,
    name_in_registry,
    runner_plan,
    snapshot,
)
from wizard.apply import Progress
from wizard.journal import read_events
from wizard.plan import AppTarget, IdentitySpec, Plan
from wizard.steps import render_text
from wizard.verify import verify_app, verify_plan

UAI = "Microsoft.ManagedIdentity/userAssignedIdentities"


def _plan(running: Any, name: str, app: str | None = None, container: str | None = "runner") -> Plan:
    i = ids(running)
    return Plan(i["sub"], IdentitySpec("rg-runner", name), [], AppTarget(app or i["app"], container))


def _problems(checks: list[Any]) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in checks if c.status == "problem"]


# -- an identity deleted and re-created under the same name --------------------------------------------
async def test_a_recreated_identity_is_relinked_and_both_verify_modes_say_so(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)
    plan = _plan(demo, "id-recreated")
    async with gateway(demo) as gw:
        first = await applier(gw, tmp_path).apply(plan)
        assert first.ok, first.error
        await gw.delete_identity(plan.identity_id)
        again = await gw.create_identity(i["sub"], "rg-runner", "id-recreated", "westeurope", {})
        assert again.principal_id != first.identity.principal_id  # type: ignore[union-attr]

        with_plan = _problems(await verify_plan(gw, plan))
        without = _problems(await verify_app(gw, i["app"], "AZURE_CLIENT_ID", "runner"))
        assert any("re-created" in p and "linked" in p for p in with_plan), with_plan
        assert any("re-created" in p for p in without), without

        preview = await applier(gw, tmp_path).preview(plan)
        link = preview.step("link")
        assert link is not None and link.action == "update" and "relink" in link.summary
        assert "relink" in render_text(preview)
        outcome = await applier(gw, tmp_path).apply(plan, preview)
        assert outcome.ok, (outcome.error, outcome.checks)
        assert _problems(await verify_app(gw, i["app"], "AZURE_CLIENT_ID", "runner")) == []

    entry = snapshot(demo, i["app"])["identity"]["userAssignedIdentities"]
    held = next(v for k, v in entry.items() if k.lower() == plan.identity_id.lower())
    assert held["principalId"] == again.principal_id
    env = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]["env"]
    assert env[-1] == {"name": "AZURE_CLIENT_ID", "value": again.client_id}
    events = read_events(outcome.journal)  # type: ignore[arg-type]
    assert [(e["event"], e["step"]) for e in events if e.get("step") == "unlink"] == [
        ("begin", "unlink"),
        ("done", "unlink"),
    ]


async def test_a_recreated_identity_named_by_a_registry_stops_before_any_write(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)
    plan = _plan(demo, "id-registry")
    async with gateway(demo) as gw:
        assert (await applier(gw, tmp_path).apply(plan)).ok
        edit_resource(
            demo,
            i["app"],
            lambda app: app["properties"]["configuration"].__setitem__(
                "registries", [{"server": "contoso.azurecr.io", "identity": plan.identity_id}]
            ),
        )
        await gw.delete_identity(plan.identity_id)
        await gw.create_identity(i["sub"], "rg-runner", "id-registry", "westeurope", {})
        writes = len(demo.sandbox.writes())
        outcome = await applier(gw, tmp_path).apply(plan)
    assert outcome.status == "blocked"
    assert any("registry contoso.azurecr.io" in p for p in outcome.step_plan.problems)
    assert len(demo.sandbox.writes()) == writes


# -- a linked identity that no longer exists -----------------------------------------------------------
async def test_a_linked_identity_that_is_gone_is_dropped_with_a_warning(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)
    plan = runner_plan(demo)
    before = snapshot(demo, i["app"])
    async with gateway(demo) as gw:
        doomed = await link_then_delete(gw, demo, "id-doomed")
        preview = await applier(gw, tmp_path).preview(plan)
        link = preview.step("link")
        assert link is not None
        assert any("id-doomed" in d and "no longer exists" in d for d in link.details)
        assert not any(d.startswith("keeps") and "id-doomed" in d for d in link.details)
        assert any(doomed in w for w in link.warnings)
        outcome = await applier(gw, tmp_path).apply(plan, preview)
    assert outcome.status == "applied", outcome.error
    after = snapshot(demo, i["app"])["identity"]
    assert list(after["userAssignedIdentities"]) == [plan.identity_id]
    assert after["principalId"] == before["identity"]["principalId"]  # the system-assigned identity stays


async def test_a_gone_identity_a_registry_still_names_stops_before_any_write(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)
    async with gateway(demo) as gw:
        doomed = await link_then_delete(gw, demo, "id-doomed-named")
        name_in_registry(demo, i["app"], doomed)
        writes = len(demo.sandbox.writes())
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
    assert outcome.status == "blocked"
    assert any("no longer exists" in p and "registry contoso.azurecr.io" in p for p in outcome.step_plan.problems)
    assert len(demo.sandbox.writes()) == writes


# -- an app busy with someone else's update -------------------------------------------------------------
async def test_an_app_that_is_updating_is_waited_for_then_written(start_sandbox: Any, tmp_path: Any) -> None:
    running = start_sandbox(faults=("busy,route=maia-runner$,times=3",))
    heard: list[Progress] = []
    async with gateway(running) as gw:
        preview = await applier(gw, tmp_path).preview(_plan(running, "id-wait"))
        assert any("another update is running" in w for w in preview.step("env").warnings)  # type: ignore[union-attr]
        outcome = await applier(gw, tmp_path, report=heard.append).apply(preview.plan, preview)
    assert outcome.status == "applied", outcome.error
    waits = [p for p in heard if p.status == "waiting"]
    assert waits and all("another update is running" in p.message and " s " in p.message for p in waits)


async def test_a_409_operation_in_progress_on_the_patch_waits_then_writes(start_sandbox: Any, tmp_path: Any) -> None:
    running = start_sandbox(faults=("busy,route=maia-runner$,method=PATCH,times=1",))
    heard: list[Progress] = []
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path, report=heard.append).apply(_plan(running, "id-409"))
    assert outcome.status == "applied", outcome.error
    assert running.sandbox.faults.faults[0].hits == 1  # Azure did answer 409 once
    assert any(p.status == "waiting" and "another update" in p.message for p in heard)
    patches = [w for w in running.sandbox.writes() if w[0] == "PATCH"]
    assert len(patches) == 2  # the refused one and the one that landed


async def test_an_app_busy_past_the_bound_is_a_failed_step_with_a_plain_message(
    start_sandbox: Any, tmp_path: Any
) -> None:
    running = start_sandbox(faults=("busy,route=maia-runner$,ms=600000",))
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path, settle_timeout_s=0.3).apply(_plan(running, "id-busy"))
    assert outcome.status == "failed"
    assert outcome.error is not None
    text = outcome.error.plain()
    assert "another update is running" in text and "Nothing was written to the app" in text
    assert outcome.results["env"].status == "failed" and outcome.results["link"].status == "failed"
    journal = read_events(outcome.journal)  # type: ignore[arg-type]
    assert journal[-1]["event"] == "failed" and "another update" in journal[-1]["message"]
    assert not [w for w in running.sandbox.writes() if w[0] == "PATCH"]


async def test_a_409_past_the_bound_is_a_failed_step_with_a_plain_message(start_sandbox: Any, tmp_path: Any) -> None:
    running = start_sandbox(faults=("busy,route=maia-runner$,method=PATCH,times=1000",))
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path, settle_timeout_s=0.3).apply(_plan(running, "id-409-bound"))
    assert outcome.status == "failed"
    assert "Nothing was written to the app" in outcome.error.plain()  # type: ignore[union-attr]
    assert read_events(outcome.journal)[-1]["event"] == "failed"  # type: ignore[arg-type]


# -- an app that changed since the preview ---------------------------------------------------------------
async def test_a_container_whose_env_is_null_gets_the_variable(demo: Any, tmp_path: Any) -> None:
    app_id = install_app(demo, "null-env", [{"name": "runner", "image": "i:1", "env": None}])
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(_plan(demo, "id-null-env", app_id))
    assert outcome.status == "applied", outcome.error
    env = snapshot(demo, app_id)["properties"]["template"]["containers"][0]["env"]
    assert env == [{"name": "AZURE_CLIENT_ID", "value": outcome.identity.client_id}]  # type: ignore[union-attr]


async def test_a_target_container_renamed_since_the_preview_is_a_failed_step(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)
    async with gateway(demo) as gw:
        preview = await applier(gw, tmp_path).preview(_plan(demo, "id-renamed"))
        edit_resource(demo, i["app"], lambda app: app["properties"]["template"]["containers"][0].update(name="agent"))
        outcome = await applier(gw, tmp_path).apply(preview.plan, preview)
    assert outcome.status == "failed"
    assert "container 'runner' is no longer in the app" in outcome.error.plain()  # type: ignore[union-attr]
    assert "AppChanged" not in outcome.error.plain()  # type: ignore[union-attr]
    assert outcome.results["env"].status == "failed"
    assert not [w for w in demo.sandbox.writes() if w[0] == "PATCH"]


async def test_containers_added_or_removed_since_the_preview_stay_so(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)

    def change(app: dict[str, Any]) -> None:
        containers = app["properties"]["template"]["containers"]
        containers.pop()  # log-shipper goes
        containers.append({"name": "new-sidecar", "image": "i:2", "env": [{"name": "X", "value": "1"}]})

    async with gateway(demo) as gw:
        preview = await applier(gw, tmp_path).preview(_plan(demo, "id-list"))
        edit_resource(demo, i["app"], change)
        outcome = await applier(gw, tmp_path).apply(preview.plan, preview)
    assert outcome.status == "applied", outcome.error
    after = snapshot(demo, i["app"])["properties"]["template"]["containers"]
    assert [c["name"] for c in after] == ["runner", "new-sidecar"]
    assert after[1] == {"name": "new-sidecar", "image": "i:2", "env": [{"name": "X", "value": "1"}]}


async def test_a_variable_someone_set_since_the_preview_is_not_overwritten(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)

    def set_it(app: dict[str, Any]) -> None:
        app["properties"]["template"]["containers"][0]["env"].append({"name": "AZURE_CLIENT_ID", "value": "theirs"})

    async with gateway(demo) as gw:
        preview = await applier(gw, tmp_path).preview(_plan(demo, "id-theirs"))
        assert preview.step("env").action == "create"  # type: ignore[union-attr]
        edit_resource(demo, i["app"], set_it)
        outcome = await applier(gw, tmp_path).apply(preview.plan, preview)
    assert outcome.status == "failed"
    assert "changed since the diff you confirmed" in outcome.error.plain()  # type: ignore[union-attr]
    env = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]["env"]
    assert env[-1] == {"name": "AZURE_CLIENT_ID", "value": "theirs"}
