"""Injected faults as the SDK meets them: throttling and server errors it retries, dropped connections,
latency, and their bounds (times=, every=, after=, p= with a seed). Bad fault specs are refused.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient as AsyncResourceManagementClient

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import Recorder
from wizard.sandbox.faults import FaultSpecError, parse_fault

GROUPS = r"^GET /subscriptions/[^/]+/resourcegroups/[^/]+$"


def kwargs(running: RunningSandbox, **extra: Any) -> dict[str, Any]:
    return {**running.client_kwargs(), "retry_backoff_factor": 0.01, **extra}


def resources(running: RunningSandbox, **extra: Any) -> ResourceManagementClient:
    return ResourceManagementClient(running.credential(), running.prod, **kwargs(running, **extra))


def test_429_every_second_call_is_retried_by_the_sdk_after_retry_after(start_sandbox) -> None:
    running = start_sandbox(faults=(f"429,route={GROUPS},every=2,times=3,retry_after=0",))
    rm = resources(running)
    rm.resource_groups.get("rg-runner")  # signs in; the first matching call is let through
    fault = running.sandbox.faults.faults[0]
    before = running.sandbox.request_count
    seen = Recorder()

    groups = [rm.resource_groups.get(name, raw_response_hook=seen) for name in ("rg-data", "rg-network", "rg-runner")]

    assert [g.name for g in groups] == ["rg-data", "rg-network", "rg-runner"]
    # Every second matching request is throttled: the call above was the first, so each call here is
    # throttled once and its retry goes through.
    assert seen.statuses == [429, 200, 429, 200, 429, 200]
    throttled = [headers for _, _, status, headers in seen.responses if status == 429]
    assert all(h["Retry-After"] == "0" and h["x-ms-request-id"] for h in throttled)
    assert fault.hits == 3
    assert running.sandbox.request_count - before == 6  # three calls, each sent twice


def test_faults_stop_after_times(start_sandbox) -> None:
    running = start_sandbox(faults=(f"429,route={GROUPS},times=2,retry_after=0",))
    rm = resources(running)
    seen = Recorder()

    for _ in range(3):
        rm.resource_groups.get("rg-runner", raw_response_hook=seen)

    assert seen.statuses == [429, 429, 200, 200, 200]
    assert running.sandbox.faults.faults[0].hits == 2


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_on_a_read_are_retried(start_sandbox, kind: str) -> None:
    running = start_sandbox(faults=(f"{kind},route={GROUPS},times=1,retry_after=0",))
    seen = Recorder()

    group = resources(running).resource_groups.get("rg-runner", raw_response_hook=seen)

    assert group.name == "rg-runner"
    assert seen.statuses == [int(kind), 200]
    assert running.sandbox.faults.faults[0].hits == 1
    if kind == "503":
        assert seen.responses[0][3]["Retry-After"] == "0"


def test_server_errors_are_shown_when_retries_run_out(start_sandbox) -> None:
    running = start_sandbox(faults=(f"500,route={GROUPS},times=2",))
    rm = resources(running, retry_total=0)

    outcomes = []
    for _ in range(3):
        try:
            rm.resource_groups.get("rg-runner")
            outcomes.append(200)
        except HttpResponseError as exc:
            assert exc.error.code == "InternalServerError"
            outcomes.append(exc.status_code)

    assert outcomes == [500, 500, 200]


def test_a_500_on_a_write_changes_nothing_and_the_sdk_sends_it_again(start_sandbox) -> None:
    running = start_sandbox(faults=("500,method=PATCH,times=2",))
    identities = ManagedServiceIdentityClient(running.credential(), running.prod, **kwargs(running))
    no_retries = ManagedServiceIdentityClient(running.credential(), running.prod, **kwargs(running, retry_total=0))
    identity_id = identities.user_assigned_identities.get("rg-runner", "id-legacy-runner").id

    with pytest.raises(HttpResponseError) as caught:
        no_retries.user_assigned_identities.update("rg-runner", "id-legacy-runner", {"tags": {"x": "y"}})
    untouched = dict(running.store.get(identity_id)["tags"])
    updated = identities.user_assigned_identities.update("rg-runner", "id-legacy-runner", {"tags": {"x": "y"}})

    assert caught.value.status_code == 500
    assert untouched == {"owner": "platform"}  # the fault answered before the provider saw the write
    assert updated.tags == {"x": "y"}
    patches = [status for method, _, status in running.sandbox.request_log if method == "PATCH"]
    assert patches == [500, 500, 200]


def test_a_dropped_connection_is_retried_by_the_sdk(start_sandbox) -> None:
    running = start_sandbox(faults=(f"drop,route={GROUPS},times=1",))

    group = resources(running).resource_groups.get("rg-runner")

    assert group.name == "rg-runner"
    assert running.sandbox.faults.faults[0].hits == 1
    sent = [r for r in running.sandbox.request_log if r[1].lower().endswith("/resourcegroups/rg-runner")]
    assert len(sent) == 2  # the dropped request, then the SDK's retry


def test_latency_is_added_to_matching_requests_only(start_sandbox) -> None:
    running = start_sandbox(faults=(f"latency,ms=60,route={GROUPS}",))
    rm = resources(running)
    list(rm.resource_groups.list())  # signed in, connection open

    started = time.monotonic()
    rm.resource_groups.get("rg-runner")
    slowed = time.monotonic() - started
    list(rm.resource_groups.list())

    fault = running.sandbox.faults.faults[0]
    assert slowed >= 0.06
    assert fault.hits == 1  # the list did not match; latency is unbounded unless times= says so
    assert fault.times is None


def test_after_lets_the_first_requests_through(start_sandbox) -> None:
    running = start_sandbox(faults=(f"429,route={GROUPS},after=2,times=1,retry_after=0",))
    rm = resources(running)
    seen = Recorder()

    for _ in range(3):
        rm.resource_groups.get("rg-runner", raw_response_hook=seen)

    assert seen.statuses == [200, 200, 429, 200]


def outcomes_with(start_sandbox, seed: int) -> list[int]:
    running = start_sandbox(seed=seed, faults=(f"500,route={GROUPS},p=0.5,times=100",))
    rm = resources(running, retry_total=0)
    seen: list[int] = []
    for _ in range(24):
        try:
            rm.resource_groups.get("rg-runner")
            seen.append(200)
        except HttpResponseError as exc:
            seen.append(exc.status_code)
    return seen


def test_random_faults_repeat_exactly_for_the_same_seed(start_sandbox) -> None:
    first = outcomes_with(start_sandbox, seed=7)
    again = outcomes_with(start_sandbox, seed=7)
    other = outcomes_with(start_sandbox, seed=8)

    assert first == again
    assert {200, 500} == set(first)
    assert other != first


async def test_429_is_retried_by_the_async_sdk(start_sandbox) -> None:
    running = start_sandbox(faults=(f"429,route={GROUPS},times=2,retry_after=0",))
    seen = Recorder()
    async with (
        running.async_credential() as credential,
        AsyncResourceManagementClient(credential, running.prod, **kwargs(running)) as rm,
    ):
        group = await rm.resource_groups.get("rg-runner", raw_response_hook=seen)

    assert group.name == "rg-runner"
    assert seen.statuses == [429, 429, 200]
    assert running.sandbox.faults.faults[0].hits == 2


async def test_a_dropped_connection_is_retried_by_the_async_sdk(start_sandbox) -> None:
    running = start_sandbox(faults=(f"drop,route={GROUPS},times=1",))
    async with (
        running.async_credential() as credential,
        AsyncResourceManagementClient(credential, running.prod, **kwargs(running)) as rm,
    ):
        group = await rm.resource_groups.get("rg-runner")

    assert group.name == "rg-runner"
    assert running.sandbox.faults.faults[0].hits == 1


def test_a_fault_without_a_route_spares_the_token_endpoint(start_sandbox) -> None:
    running = start_sandbox(faults=("503,times=1,retry_after=0",))
    seen = Recorder()

    group = resources(running).resource_groups.get("rg-runner", raw_response_hook=seen)

    assert group.name == "rg-runner"
    assert seen.statuses == [503, 200]  # the sign-in went through; the first ARM request did not
    assert not any("/msi/token" in r[1] and r[2] >= 500 for r in running.sandbox.request_log)


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        ("", "the kind must be one of"),
        ("418", "the kind must be one of 429, 500, 503, drop, latency, lro-fail, busy"),
        ("429,every=0", "every must be a non-negative number, not '0'"),
        ("429,every=x", "every must be a non-negative number, not 'x'"),
        ("429,times=-1", "times must be a non-negative number"),
        ("429,p=1.5", "p must be a non-negative number, not '1.5'"),
        ("429,route=(", "route is not a valid regular expression"),
        ("429,colour=red", "unknown key 'colour'"),
        ("429,every", "'every' is not key=value"),
        ("latency", "latency needs ms=N"),
    ],
)
def test_a_bad_fault_spec_is_refused_with_a_clear_message(start_sandbox, spec: str, phrase: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        start_sandbox(faults=(spec,))

    assert phrase in str(caught.value)
    assert repr(spec) in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "times", "ms"),
    [("busy", 3, 0), ("busy,times=1", 1, 0), ("busy,ms=2000", None, 2000), ("busy,ms=2000,times=4", 4, 2000)],
)
def test_a_busy_fault_is_bounded_by_a_count_or_a_duration(spec: str, times: int | None, ms: int) -> None:
    fault = parse_fault(spec)

    assert (fault.kind, fault.times, fault.ms) == ("busy", times, ms)


def test_a_busy_fault_is_not_an_error_of_the_pipeline(start_sandbox) -> None:
    """The busy fault never answers a request by itself: reads elsewhere go through untouched."""
    running = start_sandbox(faults=("busy,times=5",))

    group = resources(running).resource_groups.get("rg-runner")

    assert group.name == "rg-runner"
    assert running.sandbox.faults.faults[0].hits == 0
