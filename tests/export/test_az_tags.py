"""The az script merges the plan's tags into whatever tags the identity holds when it runs, with tag
names matched as ARM keys them (without regard to case): the same end state as apply's merged_tags."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox
from tests.engine.helpers import gateway, ids, snapshot
from tests.export.harness import run_script
from tests.export.test_az_sandbox import AZURE_TAG_NAME, AZURE_TAG_VALUE, HOSTILE, script_for, used_options
from wizard.plan import IdentitySpec, Plan
from wizard.steps import merged_tags

NAMES = st.one_of(AZURE_TAG_NAME, HOSTILE, st.sampled_from(["Owner", "OWNER", "owner", "Cost-Center", '"', "`x`"]))


@pytest.fixture(scope="module")
def shared(start_shared_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_shared_sandbox()


_names: Iterator[int] = itertools.count()


def ascii_folded(name: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in name)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    held=st.dictionaries(NAMES, st.one_of(AZURE_TAG_VALUE, HOSTILE), max_size=4),
    planned=st.dictionaries(NAMES, st.one_of(AZURE_TAG_VALUE, HOSTILE), min_size=1, max_size=3),
    swap=st.booleans(),
)
def test_any_held_tags_end_as_applys_merge_and_a_rerun_writes_nothing(
    shared: RunningSandbox,
    tmp_path_factory: pytest.TempPathFactory,
    held: dict[str, str],
    planned: dict[str, str],
    swap: bool,
) -> None:
    if swap:  # the plan names some held tags in another case
        planned = {**{k.swapcase(): v for k, v in list(held.items())[:2]}, **planned}
    for tags in (held, planned):
        assume(all(k.strip() and not set(k) & set("<>%&\\?/") for k in tags))
        assume(len({k.lower() for k in tags}) == len(tags))
    # The script matches ASCII letters without regard to case (see tags_body); ARM folds more.
    names = [*held, *planned]
    assume(len({k.lower() for k in names}) == len({ascii_folded(k) for k in names}))
    plan = Plan(ids(shared)["sub"], IdentitySpec("rg-runner", f"id-tags-{next(_names)}", tags=planned), [], None)
    assert not plan.problems()

    async def by_hand() -> None:
        async with gateway(shared) as gw:
            await gw.create_identity(plan.subscription, "rg-runner", plan.identity.name, "westeurope", held)

    script = script_for(shared, plan)
    asyncio.run(by_hand())
    tmp_path: Path = tmp_path_factory.mktemp("tags")
    run = run_script(script, shared, tmp_path)
    assert run.ok, run.result.stderr
    used_options(run)
    assert snapshot(shared, plan.identity_id)["tags"] == merged_tags(held, planned)
    writes = len(shared.sandbox.writes())
    again = run_script(script, shared, tmp_path)
    assert again.ok, again.result.stderr
    assert shared.sandbox.writes()[writes:] == []
