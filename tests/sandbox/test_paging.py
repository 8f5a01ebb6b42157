"""ARM's `$top` is a page size, not a limit: the SDK's pager follows `nextLink` page after page of `$top`
items until the list is done; a `$top` ARM refuses is a 400 before anything is listed.
"""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import Recorder, assert_arm_error, http

MAX_TOP = 1000


@pytest.fixture(scope="module")
def large(start_shared_sandbox) -> RunningSandbox:
    return start_shared_sandbox(scenario="large")


def big_subscription(running: RunningSandbox) -> str:
    """The subscription of `large` that holds 980 resource groups, ARM's limit."""
    return next(s["subscriptionId"] for s in running.store.subscriptions.values() if "(large)" in s["displayName"])


def groups_client(running: RunningSandbox) -> ResourceManagementClient:
    return ResourceManagementClient(running.credential(), big_subscription(running), **running.client_kwargs())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=st.integers(min_value=20, max_value=MAX_TOP))
def test_top_sets_the_page_size_and_the_pager_still_gets_every_group(large, top: int) -> None:
    seen = Recorder()

    groups = list(groups_client(large).resource_groups.list(top=top, raw_response_hook=seen))

    assert len(groups) == 980
    assert len({g.name for g in groups}) == 980
    pages = [body for (_, url, _, _), body in zip(seen.responses, seen.bodies, strict=True) if "/resourcegroups" in url]
    sizes = [len(json.loads(b)["value"]) for b in pages]
    assert sizes == [top] * (980 // top) + ([980 % top] if 980 % top else [])
    assert all("$top=" in url.replace("%24", "$") for _, url, _, _ in seen.responses if "/resourcegroups" in url)


def test_a_client_asking_for_pages_of_250_gets_all_of_them_through_the_sdk(large) -> None:
    pages = groups_client(large).resource_groups.list(top=250).by_page()

    sizes = [len(list(page)) for page in pages]

    assert sizes == [250, 250, 250, 230]


async def test_top_pages_through_the_async_sdk(large) -> None:
    from azure.mgmt.resource.resources.aio import ResourceManagementClient as AsyncClient

    async with (
        large.async_credential() as credential,
        AsyncClient(credential, big_subscription(large), **large.client_kwargs()) as client,
    ):
        names = [g.name async for g in client.resource_groups.list(top=300)]

    assert len(names) == 980


@pytest.mark.parametrize("top", ["0", "-1", str(MAX_TOP + 1), "abc", "1.5"])
def test_a_top_arm_refuses_is_invalid_top_in_query_string(large, top: str) -> None:
    answer = http(large, "GET", f"/subscriptions/{big_subscription(large)}/resourcegroups", params={"$top": top})

    error = assert_arm_error(answer, 400, "InvalidTopInQueryString")
    assert "$top" in error["message"] or "Top" in error["message"]


def test_a_refused_top_reaches_the_sdk_as_an_http_error(large) -> None:
    with pytest.raises(HttpResponseError) as caught:
        list(groups_client(large).resource_groups.list(top=MAX_TOP + 1))

    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidTopInQueryString"


def test_top_pages_other_lists_too(large) -> None:
    sub = big_subscription(large)
    seen = Recorder()
    client = ResourceManagementClient(large.credential(), sub, **large.client_kwargs())

    resources = list(client.resources.list(top=7, raw_response_hook=seen))

    assert len(resources) > 7
    assert len(seen.responses) == -(-len(resources) // 7)


def _strict_count(value: str, low: int, high: int) -> bool:
    return value.isascii() and value.isdigit() and low <= int(value) <= high


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.one_of(st.none(), st.text(max_size=5), st.integers(-3, MAX_TOP + 3).map(str)),
    skip=st.one_of(st.none(), st.text(max_size=6), st.integers(-3, 990).map(str)),
)
@example(top="²", skip=None)
@example(top="٣", skip=None)
@example(top="1", skip="-1")
def test_any_top_or_skiptoken_is_a_page_or_arms_400_never_a_500(large, top: str | None, skip: str | None) -> None:
    """Whatever a client puts in `$top` and `$skiptoken` (superscript digits, signs, spaces): a page, or
    400 naming the parameter; a skip token is a position the sandbox handed out (0 or more)."""
    params = {k: v for k, v in (("$top", top), ("$skiptoken", skip)) if v is not None}

    answer = http(large, "GET", f"/subscriptions/{big_subscription(large)}/resourcegroups", params=params)

    top_ok = top is None or top == "" or _strict_count(top, 1, MAX_TOP)
    skip_ok = skip is None or skip == "" or _strict_count(skip, 0, 10**9)
    if not top_ok:
        assert_arm_error(answer, 400, "InvalidTopInQueryString")
    elif not skip_ok:
        assert_arm_error(answer, 400, "InvalidSkipToken")
    else:
        assert answer.status_code == 200, answer.text
        start, size = int(skip or 0), int(top or 100)
        body = answer.json()
        assert len(body["value"]) == max(0, min(size, 980 - start))
        assert ("nextLink" in body) == (start + size < 980)
