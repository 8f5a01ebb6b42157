"""Names keyed the way Azure keys them: tag names without regard to case, and variables named twice
in one container (the runtime uses the last entry)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.helpers import applier, gateway, ids, install_app, roll_back, snapshot
from wizard.model import Identity, ResourceGroup
from wizard.plan import AppTarget, IdentitySpec, Plan
from wizard.rollback import plan_rollback, read_run
from wizard.steps import LiveState, build_steps, render_text

SUB = "00000000-0000-4000-8000-000000000001"
TAG_NAMES = ["owner", "env", "cost-center", "team", "Project"]


@st.composite
def tag_sets(draw: Any) -> dict[str, str]:
    """Tags with names in any casing, each name once (ignoring case), as Azure keeps them."""
    chosen = draw(st.lists(st.sampled_from(TAG_NAMES), unique_by=str.lower, max_size=4))
    tags = {}
    for name in chosen:
        cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)
        tags[cased] = draw(st.sampled_from(["data", "prod", "Data", "x"]))
    return tags


def expected_tags(live: dict[str, str], planned: dict[str, str]) -> dict[str, str]:
    wanted = {k.lower() for k in planned}
    return {**{k: v for k, v in live.items() if k.lower() not in wanted}, **planned}


def _identity(tags: dict[str, str]) -> Identity:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
    return Identity(rid, "id-x", "rg", "westeurope", "client", "principal", "tenant", dict(tags))


@given(live=tag_sets(), planned=tag_sets())
def test_the_diff_keys_tags_without_case(live: dict[str, str], planned: dict[str, str]) -> None:
    plan = Plan(SUB, IdentitySpec("rg", "id-x", tags=planned), [])
    state = LiveState(group=ResourceGroup(f"/subscriptions/{SUB}/resourceGroups/rg", "rg", "westeurope"))
    state.identity = _identity(live)
    step = build_steps(plan, state).step("identity")
    assert step is not None
    want = expected_tags(live, planned)
    if want == live:
        assert step.action == "unchanged"
        return
    assert step.action == "update"
    written = step.data["tags"]
    assert written == want
    assert len({k.lower() for k in written}) == len(written)  # never two tags of one name
    text = render_text(build_steps(plan, state))
    for name in planned:
        old = next((k for k in live if k.lower() == name.lower()), None)
        if old is not None and old != name:
            assert f"{old} -> {name}" in text  # the rename is shown


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(live=tag_sets(), planned=tag_sets())
def test_azure_then_holds_one_tag_per_name_and_a_rerun_writes_nothing(
    demo: Any, tmp_path: Any, live: dict[str, str], planned: dict[str, str]
) -> None:
    name = f"id-tags-{demo.sandbox.request_count}"
    plan = Plan(ids(demo)["sub"], IdentitySpec("rg-runner", name, tags=planned), [])

    async def run() -> Any:
        async with gateway(demo) as gw:
            await gw.create_identity(plan.subscription, "rg-runner", name, "westeurope", live)
            outcome = await applier(gw, tmp_path).apply(plan)
            again = await applier(gw, tmp_path).preview(plan)
            return outcome, again

    outcome, again = asyncio.run(run())
    assert outcome.ok, outcome.error
    assert snapshot(demo, plan.identity_id)["tags"] == expected_tags(live, planned)
    assert [s.action for s in again.steps] == ["unchanged"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(live=tag_sets(), planned=tag_sets())
def test_rollback_gives_a_reused_identity_back_its_tags_as_they_were(
    demo: Any, tmp_path: Any, live: dict[str, str], planned: dict[str, str]
) -> None:
    """A run that renamed a tag (live `owner`, plan `Owner`) wrote one tag, not two; rolling it back
    puts the old name and value back, never drops the tag the admin had."""
    name = f"id-back-{demo.sandbox.request_count}"
    plan = Plan(ids(demo)["sub"], IdentitySpec("rg-runner", name, tags=planned), [])

    async def run() -> Any:
        async with gateway(demo) as gw:
            await gw.create_identity(plan.subscription, "rg-runner", name, "westeurope", live)
            outcome = await applier(gw, tmp_path).apply(plan)
            assert outcome.ok, outcome.error
            if outcome.journal is None:  # nothing to write, so no run to roll back
                return None, None
            done = await roll_back(gw, outcome.journal)
            again = await plan_rollback(gw, read_run(outcome.journal))  # type: ignore[arg-type]
            return done, again

    done, again = asyncio.run(run())
    assert snapshot(demo, plan.identity_id)["tags"] == live
    if done is not None:
        assert done.ok, done.results
        assert not again.writes  # a second rollback finds nothing to undo


# -- variables named twice ------------------------------------------------------------------------
ENV_NAMES = ["AZURE_CLIENT_ID", "LOG_LEVEL", "AGENT_ID"]


@st.composite
def env_lists(draw: Any) -> list[dict[str, Any]]:
    """A container's env list as Azure may hold it: names may repeat (the runtime uses the last)."""
    env = []
    for name in draw(st.lists(st.sampled_from(ENV_NAMES), min_size=1, max_size=7)):
        kind = draw(st.sampled_from(["value", "empty", "secret"]))
        if kind == "secret":
            env.append({"name": name, "secretRef": "agent-token"})
        else:
            env.append({"name": name, "value": "" if kind == "empty" else draw(st.sampled_from(["a", "b", "info"]))})
    return env


def _last_replaced(env: list[dict[str, Any]], name: str, value: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(env)
    at = max((i for i, e in enumerate(out) if e["name"] == name), default=None)
    if at is None:
        return [*out, {"name": name, "value": value}]
    out[at] = {"name": name, "value": value}
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=env_lists())
def test_a_variable_named_twice_changes_only_its_last_entry(demo: Any, tmp_path: Any, env: list[dict[str, Any]]) -> None:
    containers = [
        {"name": "runner", "image": "contoso.azurecr.io/runner:1", "env": env},
        {"name": "sidecar", "image": "contoso.azurecr.io/sidecar:1", "env": copy.deepcopy(env)},
    ]
    app_id = install_app(
        demo, f"dup-app-{demo.sandbox.request_count}", containers, secrets={"agent-token": "sandbox-agent-token-value"}
    )
    plan = Plan(ids(demo)["sub"], IdentitySpec("rg-runner", "id-dup-runner"), [], AppTarget(app_id, "runner"))
    count = sum(1 for e in env if e["name"] == "AZURE_CLIENT_ID")

    async def run() -> Any:
        async with gateway(demo) as gw:
            preview = await applier(gw, tmp_path).preview(plan)
            outcome = await applier(gw, tmp_path).apply(plan, preview)
            return preview, outcome

    preview, outcome = asyncio.run(run())
    env_step = preview.step("env")
    assert env_step is not None
    if count > 1:
        said = " ".join(env_step.warnings)
        assert f"{count} times" in said and "last" in said
    assert outcome.status == "applied", outcome.error
    assert all(c.status != "problem" for c in outcome.checks), outcome.checks
    after = snapshot(demo, app_id)["properties"]["template"]["containers"]
    assert after[0]["env"] == _last_replaced(env, "AZURE_CLIENT_ID", outcome.identity.client_id)
    assert after[1] == containers[1]


async def test_the_last_entry_decides_what_the_diff_and_verify_say(demo: Any, tmp_path: Any) -> None:
    """An earlier entry with the right client ID does not make the variable right: the runtime reads the last."""
    async with gateway(demo) as gw:
        identity = await gw.create_identity(ids(demo)["sub"], "rg-runner", "id-dup-last", "westeurope", {})
        env = [{"name": "AZURE_CLIENT_ID", "value": identity.client_id}, {"name": "AZURE_CLIENT_ID", "value": "old"}]
        app_id = install_app(demo, "dup-last", [{"name": "runner", "image": "i:1", "env": env}])
        plan = Plan(ids(demo)["sub"], IdentitySpec("rg-runner", "id-dup-last"), [], AppTarget(app_id))
        preview = await applier(gw, tmp_path).preview(plan)
        from wizard.verify import verify_plan

        before = await verify_plan(gw, plan)
    assert preview.step("env").action == "update"  # type: ignore[union-attr]
    assert any(c.status == "problem" and "'old'" in c.detail for c in before)
