"""Long lists on a tenant the size real ones are (the sandbox's `large`): what the gateway asks
Azure for, and what the wizard shows while a long list is still coming in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunningSandbox
from wizard.azure.connection import Connection
from wizard.azure.gateway import Gateway
from wizard.catalog import load_catalog

LARGE = "Contoso Enterprise (large)"


@pytest.fixture(scope="module")
def large(start_shared_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_shared_sandbox(scenario="large")


def gateway(running: RunningSandbox) -> Gateway:
    return Gateway(
        Connection(arm_endpoint=running.info.arm_endpoint, ca_bundle=running.info.ca_bundle, managed_identity_only=True)
    )


def big_subscription(running: RunningSandbox) -> str:
    return next(s["subscriptionId"] for s in running.store.subscriptions.values() if s["displayName"] == LARGE)


def sent(running: RunningSandbox, since: int, marker: str) -> list[str]:
    log = running.thread.call(lambda: list(running.sandbox.request_log))
    return [path for method, path, _ in log[since:] if method == "GET" and path.lower().endswith(marker.lower())]


def log_length(running: RunningSandbox) -> int:
    return running.thread.call(lambda: len(running.sandbox.request_log))


async def test_a_subscriptions_980_resource_groups_come_in_one_request(large: RunningSandbox) -> None:
    """ARM's limit of groups in one subscription fits one page of the largest size ARM serves."""
    sub = big_subscription(large)
    before = log_length(large)
    async with gateway(large) as gw:
        groups = await gw.resource_groups(sub)
    assert len(groups) == 980
    assert [g.name for g in groups] == sorted((g.name for g in groups), key=str.lower)
    assert len(sent(large, before, "/resourcegroups")) == 1


async def test_every_list_has_its_first_page_at_once_and_the_long_ones_follow(large: RunningSandbox) -> None:
    """The catalog is there after one request per list; the 1,000 container apps (ten pages) follow
    behind it, and the catalog says which lists are still coming until they are whole."""
    from wizard.catalog import open_catalog

    sub = big_subscription(large)
    async with gateway(large) as gw:
        whole = await load_catalog(gw, sub)
        before = log_length(large)
        catalog, rest = await open_catalog(gw, sub)
        first_requests = len(sent(large, before, "/containerApps"))
        assert catalog.loading == {"apps"} and not catalog.complete
        assert 0 < len(catalog.apps) < len(whole.apps) == 1000
        assert len(catalog.groups) == 980
        grown = [name async for name in rest]
    assert first_requests == 1
    assert grown == ["apps"] and catalog.complete
    assert [a.id for a in catalog.apps] == [a.id for a in whole.apps]  # whole, sorted by name as before
    assert catalog.groups == whole.groups and catalog.roles == whole.roles


async def test_a_list_shown_again_keeps_what_the_admin_typed_and_where_the_cursor_is(tmp_path: Path) -> None:
    """When the rest of a long list arrives, the list is shown again under the admin's hands: the
    filter text, the highlighted item and the focus stay; until then the list says more is coming."""
    from textual.app import App, ComposeResult
    from textual.widgets import Input

    from tests.tui.conftest import shown
    from wizard.tui.widgets.filter_list import FilterList, Item

    class ListApp(App[None]):
        def compose(self) -> ComposeResult:
            yield FilterList(id="list")

    items = [Item(f"app-{n:04d}", f"app-{n:04d}") for n in range(0, 200, 2)]
    app = ListApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lst = app.query_one(FilterList)
        lst.set_items(items, more_coming=True)
        box = lst.query_one(Input)
        box.focus()
        await pilot.press(*"app-001")
        await pilot.press("down", "down")
        await pilot.pause()
        assert "loading the rest of the list" in shown(pilot, "#list OptionList")
        before = lst.highlighted_key
        assert before == "app-0014"
        everything = sorted([*items, *(Item(f"app-{n:04d}", f"app-{n:04d}") for n in range(1, 200, 2))], key=lambda i: i.key)
        lst.set_items(everything)
        await pilot.pause()
        assert box.value == "app-001" and box.has_focus
        assert lst.highlighted_key == before
        text = shown(pilot, "#list OptionList")
        assert "app-0011" in text and "loading the rest" not in text
