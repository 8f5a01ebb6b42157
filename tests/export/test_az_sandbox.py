"""The exported az script run by bash against the sandbox, through the stand-in az: what Azure then holds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox
from tests.engine.helpers import applier, assert_demo_app_linked, gateway, ids, runner_plan, secrets_of, snapshot
from tests.export.harness import ScriptRun, run_script
from wizard.azure.connection import Connection
from wizard.azure.gateway import assignment_name
from wizard.export import render_az
from wizard.plan import AppTarget, IdentitySpec, Plan
from wizard.steps import StepPlan, build_steps, read_live

RA = "Microsoft.Authorization/roleAssignments"
KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
REST_OPTIONS = {"method", "url", "body", "query", "output"}
PATCH_OPTIONS = {"ids", "api_version", "is_full_object", "properties", "output"}
PROVIDER_OPTIONS = {"namespace", "subscription", "query", "output", "wait"}


def live(running: RunningSandbox, plan: Plan) -> StepPlan:
    async def read() -> StepPlan:
        async with gateway(running) as gw:
            return build_steps(plan, await read_live(gw, plan))

    return asyncio.run(read())


def script_for(running: RunningSandbox, plan: Plan) -> str:
    return render_az(live(running, plan), Connection(arm_endpoint=running.info.arm_endpoint))


def commands(script: str) -> list[str]:
    """The script without its comment lines: what it runs."""
    return [line for line in script.splitlines() if not line.lstrip().startswith("#")]


def used_options(run: ScriptRun) -> None:
    """Every az call is one the script means: known commands, known options, URLs of the plan's subscription."""
    for call in run.calls:
        given = {k for k, v in call["args"].items() if v not in (None, False)}
        if call["command"] == ["rest"]:
            assert given <= REST_OPTIONS, call
            assert call["args"]["method"] in ("get", "put", "patch")
            assert call["args"]["url"].startswith(("/subscriptions/", "https://127.0.0.1:")), call
        elif call["command"] == ["resource", "patch"]:
            assert given <= PATCH_OPTIONS, call
        elif call["command"][0] == "provider":
            assert call["command"][1] in ("show", "register") and given <= PROVIDER_OPTIONS, call
            assert call["args"]["namespace"] in ("Microsoft.ManagedIdentity", "Microsoft.App"), call
        else:
            assert call["command"] == ["cloud", "show"], call


def apply_plan(running: RunningSandbox, plan: Plan, tmp_path: Path) -> Any:
    async def go() -> Any:
        async with gateway(running) as gw:
            return await applier(gw, tmp_path / "journals").apply(plan)

    return asyncio.run(go())


# -- the whole job ---------------------------------------------------------------------------------
def test_a_fresh_script_does_the_whole_job_and_a_rerun_writes_nothing(demo: RunningSandbox, tmp_path: Path) -> None:
    i = ids(demo)
    before = snapshot(demo, i["app"])
    secrets_before = secrets_of(demo, i["app"])
    plan = runner_plan(demo, tags={"owner": "data"})
    run = run_script(script_for(demo, plan), demo, tmp_path)
    assert run.ok, run.result.stderr
    used_options(run)

    identity = snapshot(demo, plan.identity_id)
    assert identity["tags"] == {"owner": "data"} and identity["location"] == "westeurope"
    client_id, principal_id = identity["properties"]["clientId"], identity["properties"]["principalId"]
    for scope, role in ((i["vault"], KV_SECRETS_USER), (i["group"], BLOB_READER)):
        held = snapshot(demo, f"{scope}/providers/{RA}/{assignment_name(scope, principal_id, role)}")
        assert held is not None, scope  # apply's deterministic name
        assert held["properties"]["principalType"] == "ServicePrincipal"
    after = snapshot(demo, i["app"])
    assert_demo_app_linked(demo, before, after, secrets_before, plan.identity_id, client_id)
    assert after["properties"]["provisioningState"] == "Succeeded"  # az waited for the operation
    assert [w[0] for w in demo.sandbox.writes()] == ["PUT", "PUT", "PUT", "PATCH"]  # one PATCH: one revision

    writes = len(demo.sandbox.writes())
    again = run_script(script_for(demo, plan), demo, tmp_path)
    assert again.ok, again.result.stderr
    assert len(demo.sandbox.writes()) == writes
    # and apply, after the script, finds nothing to do: the same names, the same end state
    outcome = apply_plan(demo, plan, tmp_path)
    assert outcome.status == "nothing to do"
    assert len(demo.sandbox.writes()) == writes


def test_the_script_is_the_same_before_and_after_apply_and_either_is_a_no_op_after_it(
    demo: RunningSandbox, tmp_path: Path
) -> None:
    plan = runner_plan(demo, tags={"owner": "data"})
    before = script_for(demo, plan)
    assert apply_plan(demo, plan, tmp_path).status == "applied"
    after = script_for(demo, plan)
    assert commands(before) == commands(after)  # the desired state, not a diff of the moment
    writes = len(demo.sandbox.writes())
    for script in (before, after):
        run = run_script(script, demo, tmp_path)
        assert run.ok, run.result.stderr
    assert len(demo.sandbox.writes()) == writes


def test_a_script_exported_after_apply_does_the_whole_job_on_another_tenant(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    first = start_sandbox(seed=7)
    plan = runner_plan(first, tags={"owner": "data"})
    assert apply_plan(first, plan, tmp_path).status == "applied"
    script = render_az(live(first, plan))  # for the public cloud; every step "unchanged" when exported
    second = start_sandbox(seed=7)  # another tenant with the same ids, nothing applied yet
    assert snapshot(second, plan.identity_id) is None
    public = {"AZ_STANDIN_CLOUD_ARM": "https://management.azure.com"}  # az set to the public cloud
    run = run_script(script, second, tmp_path, env=public)
    assert run.ok, run.result.stderr
    assert snapshot(second, plan.identity_id)["tags"] == {"owner": "data"}
    assert [w[0] for w in second.sandbox.writes()] == ["PUT", "PUT", "PUT", "PATCH"]


def test_tags_are_merged_at_run_time(demo: RunningSandbox, tmp_path: Path) -> None:
    plan = runner_plan(demo, tags={"owner": "data", "cost": "42"})
    script = script_for(demo, plan)

    async def someone_tags() -> None:
        async with gateway(demo) as gw:
            await gw.create_identity(plan.subscription, "rg-runner", plan.identity.name, "westeurope",
                                     {"team": "runners", "cost": "7"})  # fmt: skip

    asyncio.run(someone_tags())  # after the export, before the run
    run = run_script(script, demo, tmp_path)
    assert run.ok, run.result.stderr
    assert snapshot(demo, plan.identity_id)["tags"] == {"team": "runners", "cost": "42", "owner": "data"}
    writes = len(demo.sandbox.writes())
    assert run_script(script, demo, tmp_path).ok
    assert len(demo.sandbox.writes()) == writes


def test_a_single_container_app_without_a_named_container(demo: RunningSandbox, tmp_path: Path) -> None:
    i = ids(demo)
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-staging"), [], AppTarget(i["staging"]))
    run = run_script(script_for(demo, plan), demo, tmp_path)
    assert run.ok, run.result.stderr
    client_id = snapshot(demo, plan.identity_id)["properties"]["clientId"]
    env = {e["name"]: e for e in snapshot(demo, i["staging"])["properties"]["template"]["containers"][0]["env"]}
    assert env["AZURE_CLIENT_ID"] == {"name": "AZURE_CLIENT_ID", "value": client_id}  # replaced in place


def test_another_cloud_is_refused_before_anything_is_written(demo: RunningSandbox, tmp_path: Path) -> None:
    script = script_for(demo, runner_plan(demo))
    run = run_script(script, demo, tmp_path, env={"AZ_STANDIN_CLOUD_ARM": "https://management.usgovcloudapi.net"})
    assert run.result.returncode == 1
    assert "this script is for the Resource Manager at https://127.0.0.1" in run.result.stderr
    assert [c["command"] for c in run.calls] == [["cloud", "show"]]
    assert demo.sandbox.writes() == []


# -- data stays data -------------------------------------------------------------------------------
# What a plan may hold: the plan refuses control and formatting characters (NUL, newline, ESC, ...)
# in every string (tests/test_plan_file.py), so those never reach an export.
AZURE_TAG_NAME = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp"), exclude_characters="<>%&\\?/"),
    min_size=1,
    max_size=24,
).filter(lambda s: s.strip() != "")
AZURE_TAG_VALUE = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp")), max_size=40)
HOSTILE = st.sampled_from(
    ["--resource-group", "-n", "--image=evil", "a=b", "@/etc/passwd", "$(touch pwned)", "`id`", "'\"", "x y", "--"]
)
ENV_NAME = st.from_regex(r"[-._a-zA-Z][-._a-zA-Z0-9]{0,20}", fullmatch=True)


@pytest.fixture(scope="module")
def shared(start_shared_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_shared_sandbox()


_names: Iterator[int] = itertools.count()
# What the script itself writes on command lines (methods, formats, namespaces, query names): a plan
# value that is part of one of these is not evidence of a value on the command line.
SCRIPT_WORDS = "get put patch tsv json none registrationState Microsoft.ManagedIdentity Microsoft.App"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tags=st.dictionaries(st.one_of(AZURE_TAG_NAME, HOSTILE), st.one_of(AZURE_TAG_VALUE, HOSTILE), max_size=4).filter(
        lambda t: len({k.lower() for k in t}) == len(t) and all(k.strip() and not set(k) & set("<>%&\\?/") for k in t)
    ),
    env_var=st.one_of(ENV_NAME, st.sampled_from(["--image", "-command", "--name", ".x", "_"])),
)
def test_every_value_reaches_azure_intact_and_adds_no_option(
    shared: RunningSandbox, tmp_path_factory: pytest.TempPathFactory, tags: dict[str, str], env_var: str
) -> None:
    i = ids(shared)
    name = f"id-prop-{next(_names)}"
    plan = Plan(i["sub"], IdentitySpec("rg-runner", name, tags=tags), [], AppTarget(i["app"], "runner", env_var))
    assert not plan.problems()
    before = snapshot(shared, i["app"])
    tmp_path = tmp_path_factory.mktemp("prop")
    run = run_script(script_for(shared, plan), shared, tmp_path)
    assert run.ok, run.result.stderr
    used_options(run)
    for call in run.calls:  # no value of the plan is (part of) a word of any command line
        for word in call["argv"]:
            given = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
            assert not any(
                len(v) > 2 and v in given and v not in SCRIPT_WORDS for v in [*tags, *tags.values(), env_var]
            ), (word, call)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    identity = snapshot(shared, plan.identity_id)
    assert identity["tags"] == tags
    after = snapshot(shared, i["app"])
    runner = after["properties"]["template"]["containers"][0]
    old_runner = before["properties"]["template"]["containers"][0]
    env = {e["name"]: e for e in runner["env"]}
    assert env[env_var] == {"name": env_var, "value": identity["properties"]["clientId"]}
    assert runner["image"] == old_runner["image"] and runner.get("command") == old_runner.get("command")
    assert [c for c in runner["env"] if c["name"] != env_var] == [c for c in old_runner["env"] if c["name"] != env_var]


def test_hostile_text_in_every_field_stays_text(demo: RunningSandbox, tmp_path: Path) -> None:
    i = ids(demo)
    tags = {"--resource-group": "rg-other", "a=b": "c=d", "x": "$(touch pwned) `touch pwned2` '\"\n\\", "-n": "\x00"}
    plan = Plan(
        i["sub"], IdentitySpec("rg-runner", "id-hostile", tags=tags), [], AppTarget(i["app"], "runner", "--image")
    )
    run = run_script(script_for(demo, plan), demo, tmp_path)
    assert run.ok, run.result.stderr
    assert snapshot(demo, plan.identity_id)["tags"] == tags
    assert not list(tmp_path.glob("pwned*"))
    runner = snapshot(demo, i["app"])["properties"]["template"]["containers"][0]
    assert runner["image"] == "maiaaihybrid.azurecr.io/maia/runner:2.14.0"
    assert {"name": "--image", "value": snapshot(demo, plan.identity_id)["properties"]["clientId"]} in runner["env"]
