"""Microsoft.Resources: resource groups (paged lists, create rules) and the generic resource view of
Key Vaults and storage accounts, through azure-mgmt-resource's ResourceManagementClient.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient as AsyncResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import (
    ENVELOPE_EXTRAS,
    Recorder,
    assert_arm_error,
    assert_shape,
    example_body,
    http,
    status_and_body,
    wire,
)

VAULTS = "Microsoft.KeyVault/vaults"
STORAGE = "Microsoft.Storage/storageAccounts"


def client(running: RunningSandbox, sub: str | None = None) -> ResourceManagementClient:
    return ResourceManagementClient(running.credential(), sub or running.prod, **running.client_kwargs())


# -- resource groups ----------------------------------------------------------------------------
def test_large_is_a_tenant_as_big_tenants_are(start_sandbox) -> None:
    large = start_sandbox(scenario="large")
    kw = large.client_kwargs()
    seen = Recorder()

    subscriptions = list(SubscriptionClient(large.credential(), **kw).subscriptions.list(raw_response_hook=seen))
    big = next(s.subscription_id for s in subscriptions if s.display_name == "Contoso Enterprise (large)")
    groups = list(client(large, big).resource_groups.list(raw_response_hook=seen))
    apps = list(ContainerAppsAPIClient(large.credential(), big, **kw).container_apps.list_by_subscription())
    roles = list(AuthorizationManagementClient(large.credential(), big, **kw).role_definitions.list(f"/subscriptions/{big}"))

    assert len(subscriptions) == 300
    assert len(groups) == 980  # ARM's limit in one subscription
    assert len({g.name for g in groups}) == 980
    pages = [r for r in seen.responses if "/resourcegroups" in r[1].lower()]
    assert len(pages) == 10  # 100 a page, each one pointing at the next through nextLink
    assert "$skiptoken=" in pages[-1][1].lower()
    assert len([r for r in seen.responses if r[1].split("?")[0].endswith("/subscriptions")]) == 3
    assert len(apps) == 1000
    held = list(large.store.of_type("Microsoft.App/containerApps"))
    assert len(held) == 2003  # the demo's three and 2,000 more
    assert {a["id"].split("/")[2] for a in held} == {s.subscription_id for s in subscriptions}
    assert len([r for r in roles if r.role_type == "BuiltInRole"]) > 900


def test_large_is_the_same_tenant_for_the_same_seed() -> None:
    from wizard.sandbox.scenarios import build_store

    first, again, other = build_store("large", 7), build_store("large", 7), build_store("large", 8)

    assert first.to_json()["resources"].keys() == again.to_json()["resources"].keys()
    assert list(first.subscriptions) == list(again.subscriptions)
    assert set(first.subscriptions).isdisjoint(other.subscriptions)


def test_a_short_list_is_one_page_without_a_next_link(shared_demo) -> None:
    pages = client(shared_demo).resource_groups.list().by_page()

    first = list(next(pages))

    assert len(first) == 5
    assert pages.continuation_token is None
    with pytest.raises(StopIteration):
        next(pages)


def test_resource_groups_list_and_get(shared_demo) -> None:
    rm = client(shared_demo)

    names = {g.name for g in rm.resource_groups.list()}
    tagged = [g.name for g in rm.resource_groups.list(filter="tagName eq 'workload'")]
    data = rm.resource_groups.get("rg-data")

    assert names == {"rg-runner", "rg-shared-secrets", "rg-data", "rg-network", "NetworkWatcherRG"}
    assert tagged == ["rg-runner"]
    assert data.location == "northeurope"
    assert data.properties.provisioning_state == "Succeeded"
    assert rm.resource_groups.check_existence("RG-DATA") is True
    assert rm.resource_groups.check_existence("rg-nowhere") is False


def test_an_unknown_resource_group_is_resource_group_not_found(shared_demo) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        client(shared_demo).resource_groups.get("rg-nowhere")

    assert caught.value.error.code == "ResourceGroupNotFound"


def test_create_a_resource_group_201_then_200(demo) -> None:
    rm = client(demo)

    first, created = rm.resource_groups.create_or_update(
        "rg-new", {"location": "West Europe", "tags": {"a": "1"}}, cls=status_and_body
    )
    second, updated = rm.resource_groups.create_or_update(
        "rg-new", {"location": "westeurope", "tags": {"b": "2"}}, cls=status_and_body
    )

    assert (first, second) == (201, 200)
    assert created.location == "westeurope"
    assert updated.tags == {"b": "2"}
    held = demo.store.get(f"/subscriptions/{demo.prod}/resourceGroups/rg-new")
    assert held is not None and held["tags"] == {"b": "2"}
    raw = rm.resource_groups.get("rg-new", cls=wire)
    assert_shape(raw, example_body("CreateResourceGroup", "201"), ENVELOPE_EXTRAS | {"type"})


def test_a_resource_group_cannot_move_to_another_location(demo) -> None:
    with pytest.raises(ResourceExistsError) as caught:
        client(demo).resource_groups.create_or_update("rg-runner", {"location": "eastus"})

    assert caught.value.status_code == 409
    assert caught.value.error.code == "InvalidResourceGroupLocation"
    assert demo.store.get(f"/subscriptions/{demo.prod}/resourceGroups/rg-runner")["location"] == "westeurope"


@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("rg-ends-with.", {"location": "westeurope"}, "InvalidResourceGroupName"),
        ("rg with space", {"location": "westeurope"}, "InvalidResourceGroupName"),
        ("r" * 91, {"location": "westeurope"}, "InvalidResourceGroupName"),
        ("rg-no-location", {}, "LocationRequired"),
        ("rg-mars", {"location": "marsnorth"}, "LocationNotAvailableForResourceGroup"),
        ("rg-bad-tag", {"location": "westeurope", "tags": {"a<b": "x"}}, "InvalidTagNameCharacters"),
    ],
)
def test_resource_group_rules(shared_demo, name: str, body: dict, code: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        client(shared_demo).resource_groups.create_or_update(name, body)

    assert caught.value.status_code == 400
    assert caught.value.error.code == code
    assert shared_demo.store.get(f"/subscriptions/{shared_demo.prod}/resourceGroups/{name}") is None


def test_deleting_a_group_removes_what_it_holds(demo) -> None:
    rm = client(demo)
    group = f"/subscriptions/{demo.prod}/resourceGroups/rg-data"

    rm.resource_groups.begin_delete("rg-data", polling_interval=0.01).result()

    assert demo.store.get(group) is None
    assert demo.store.get(f"{group}/providers/{STORAGE}/stmaiadata01") is None
    assert rm.resource_groups.check_existence("rg-data") is False


# -- generic resources --------------------------------------------------------------------------
def test_list_resources_of_a_type_at_subscription_and_group(shared_demo) -> None:
    rm = client(shared_demo)

    vaults = list(rm.resources.list(filter=f"resourceType eq '{VAULTS}'"))
    accounts = list(rm.resources.list(filter=f"resourceType eq '{STORAGE}'"))
    in_data = list(rm.resources.list_by_resource_group("rg-data", filter=f"resourceType eq '{STORAGE}'"))
    vaults_in_runner = list(rm.resources.list_by_resource_group("rg-runner", filter=f"resourceType eq '{VAULTS}'"))

    assert sorted(v.name for v in vaults) == ["kv-legacy-policies", "kv-maia-prod"]
    assert all(v.type == VAULTS for v in vaults)
    assert sorted(a.name for a in accounts) == ["stmaiadata01", "stmaiarunnerlogs"]
    assert [a.name for a in in_data] == ["stmaiadata01"]
    assert in_data[0].location == "northeurope"
    assert in_data[0].kind == "StorageV2"
    assert vaults_in_runner == []


def test_the_generic_list_shows_no_properties_and_no_role_assignments(shared_demo) -> None:
    items = list(client(shared_demo).resources.list())

    assert items
    assert all(item.properties is None for item in items)
    assert not any("Microsoft.Authorization" in item.type for item in items)


def test_get_a_vault_by_id_shows_whether_it_uses_rbac(shared_demo) -> None:
    rm = client(shared_demo)
    base = f"/subscriptions/{shared_demo.prod}/resourceGroups/rg-shared-secrets/providers/{VAULTS}"

    rbac = rm.resources.get_by_id(f"{base}/kv-maia-prod", api_version="2023-07-01")
    policies = rm.resources.get_by_id(f"{base}/KV-LEGACY-POLICIES", api_version="2023-07-01")

    assert rbac.properties["enableRbacAuthorization"] is True
    assert policies.properties["enableRbacAuthorization"] is False
    assert policies.name == "kv-legacy-policies"
    assert rbac.properties["vaultUri"] == "https://kv-maia-prod.vault.azure.net/"


def test_get_an_unknown_resource_by_id_is_resource_not_found(shared_demo) -> None:
    rid = f"/subscriptions/{shared_demo.prod}/resourceGroups/rg-shared-secrets/providers/{VAULTS}/kv-nowhere"

    with pytest.raises(ResourceNotFoundError) as caught:
        client(shared_demo).resources.get_by_id(rid, api_version="2023-07-01")

    assert caught.value.error.code == "ResourceNotFound"


async def test_generic_resources_through_the_async_sdk(shared_demo) -> None:
    async with (
        shared_demo.async_credential() as credential,
        AsyncResourceManagementClient(credential, shared_demo.prod, **shared_demo.client_kwargs()) as rm,
    ):
        vaults = [v.name async for v in rm.resources.list(filter=f"resourceType eq '{VAULTS}'")]
        groups = [g.name async for g in rm.resource_groups.list()]
        vault = await rm.resources.get_by_id(
            f"/subscriptions/{shared_demo.prod}/resourceGroups/rg-shared-secrets/providers/{VAULTS}/kv-maia-prod",
            api_version="2023-07-01",
        )

    assert sorted(vaults) == ["kv-legacy-policies", "kv-maia-prod"]
    assert "rg-runner" in groups
    assert vault.properties["enableRbacAuthorization"] is True


def test_an_unsupported_filter_is_refused(shared_demo) -> None:
    with pytest.raises(HttpResponseError) as caught:
        list(client(shared_demo).resources.list(filter="startswith(name, 'kv')"))

    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidFilterInQueryString"


def _group(resource_id: str) -> str:
    return resource_id.split("/")[4].lower()


# ($filter as `az resource list` and the Resources_List spec write it, which resources it keeps)
RESOURCE_FILTERS = [
    ("resourceGroup eq 'rg-runner'", lambda r: _group(r.id) == "rg-runner"),  # az resource list -g
    ("resourceGroup eq 'RG-RUNNER'", lambda r: _group(r.id) == "rg-runner"),
    ("resourceGroup ne 'rg-runner'", lambda r: _group(r.id) != "rg-runner"),
    (f"resourceGroup eq 'rg-data' and resourceType eq '{STORAGE}'", lambda r: _group(r.id) == "rg-data"
     and r.type == STORAGE),
    ("name eq 'maia-runner'", lambda r: r.name == "maia-runner"),
    ("location ne 'westeurope'", lambda r: r.location != "westeurope"),
    ("substringof('maia', name)", lambda r: "maia" in r.name.lower()),
    ("substringof('maia', name) or substringof('legacy', name)", lambda r: "maia" in r.name or "legacy" in r.name),
    ("substringof('secrets', resourceGroup)", lambda r: "secrets" in _group(r.id)),
    (f"substringof('maia', name) and resourceType eq '{VAULTS}'", lambda r: "maia" in r.name and r.type == VAULTS),
    ("tagName eq 'workload'", lambda r: "workload" in {k.lower() for k in (r.tags or {})}),
    ("startswith(tagName, 'work')", lambda r: any(k.lower().startswith("work") for k in (r.tags or {}))),
    (f"(substringof('maia', name) or substringof('legacy', name)) and resourceType eq '{VAULTS}'",
     lambda r: ("maia" in r.name or "legacy" in r.name) and r.type == VAULTS),
    ("name eq 'it''s' or (resourceGroup eq 'rg-data')", lambda r: _group(r.id) == "rg-data"),
]


@pytest.mark.parametrize(("expression", "keeps"), RESOURCE_FILTERS, ids=[f for f, _ in RESOURCE_FILTERS])
def test_the_resource_list_filters_as_the_spec_says(shared_demo, expression: str, keeps) -> None:
    rm = client(shared_demo)
    everything = list(rm.resources.list())

    found = sorted(r.id for r in rm.resources.list(filter=expression))

    assert found == sorted(r.id for r in everything if keeps(r))


def test_a_tag_name_and_value_filter_keeps_those_resources_without_their_tags(shared_demo) -> None:
    """Resources_List: "when resources are filtered by tag name and value, the original tags for each
    resource will not be returned in the results"."""
    rm = client(shared_demo)
    tagged = [r for r in rm.resources.list() if r.tags]
    name, value = next(iter(tagged[0].tags.items()))

    found = list(rm.resources.list(filter=f"tagName eq '{name}' and tagValue eq '{value}'"))

    assert sorted(r.id for r in found) == sorted(r.id for r in tagged if (r.tags or {}).get(name) == value)
    assert all(not r.tags for r in found)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    expression=st.lists(
        st.sampled_from(["(", ")", " and ", " or ", "name", "eq", " ne ", "'x'", "''", ",", "substringof", "tagName",
                         "startswith", "resourceGroup eq 'rg-data'", "'", " ", "é", "not"]),
        max_size=8,
    ).map("".join)
)
def test_any_filter_is_a_list_or_invalid_filter_never_a_500(shared_demo, expression: str) -> None:
    answer = http(shared_demo, "GET", f"/subscriptions/{shared_demo.prod}/resources", params={"$filter": expression})

    if answer.status_code != 200:
        assert_arm_error(answer, 400, "InvalidFilterInQueryString")
