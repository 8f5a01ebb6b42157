"""Tag names are case-insensitive at ARM, values are not: writing `Owner` where `owner` exists
replaces that tag and keeps one name (the one written first), on every resource type the sandbox
keeps, whether the write replaces the tags (PUT) or merges into them (a container app's PATCH).
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox

NAMES = st.sampled_from(["owner", "Owner", "OWNER", "team", "Team", "cost-center", "Cost-Center"])
VALUES = st.sampled_from(["a", "A", "platform", "Platform", ""])
TAGS = st.dictionaries(NAMES, VALUES, max_size=5)
MERGES = st.dictionaries(NAMES, st.one_of(VALUES, st.none()), max_size=4)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def arm_tags(current: dict[str, str], writes: dict[str, Any]) -> dict[str, str]:
    """The model: one tag per name regardless of case, the first spelling kept, the last value won."""
    result = dict(current)
    for name, value in writes.items():
        kept = next((k for k in result if k.lower() == name.lower()), None)
        if value is None:
            result.pop(kept, None) if kept else None
        else:
            result[kept or name] = value
    return result


def folded(tags: dict[str, str] | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (tags or {}).items()}


def clients(running: RunningSandbox) -> tuple[Any, Any, Any]:
    cred, kw, sub = running.credential(), running.client_kwargs(), running.prod
    return (
        ManagedServiceIdentityClient(cred, sub, **kw).user_assigned_identities,
        ContainerAppsAPIClient(cred, sub, **kw).container_apps,
        ResourceManagementClient(cred, sub, **kw).resource_groups,
    )


@SETTINGS
@given(first=TAGS, second=TAGS)
def test_a_put_keeps_one_tag_per_name_whatever_its_case(demo, first: dict, second: dict) -> None:
    identities, _, groups = clients(demo)

    identities.create_or_update("rg-runner", "id-tags", {"location": "westeurope", "tags": first})
    identity = identities.create_or_update("rg-runner", "id-tags", {"location": "westeurope", "tags": second})
    groups.create_or_update("rg-tags", {"location": "westeurope", "tags": first})
    group = groups.create_or_update("rg-tags", {"location": "westeurope", "tags": second})

    expected = arm_tags({}, second)  # a PUT replaces the tags whole
    assert identity.tags == expected == identities.get("rg-runner", "id-tags").tags
    assert group.tags == expected == groups.get("rg-tags").tags
    assert len({k.lower() for k in identity.tags}) == len(identity.tags)


@SETTINGS
@given(start=TAGS, merge=MERGES)
def test_a_merge_replaces_the_tag_of_any_casing_and_keeps_its_name(demo, start: dict, merge: dict) -> None:
    _, apps, _ = clients(demo)
    apps.begin_update("rg-runner", "maia-runner", {"tags": None}).result()
    apps.begin_update("rg-runner", "maia-runner", {"tags": start}).result()

    after = apps.begin_update("rg-runner", "maia-runner", {"tags": merge}).result()

    expected = arm_tags(arm_tags({}, start), merge)
    assert after.tags == expected
    assert folded(after.tags) == folded(expected)  # values kept case-sensitive
    assert len({k.lower() for k in after.tags}) == len(after.tags)


def test_writing_owner_where_owner_exists_replaces_it(demo) -> None:
    identities, apps, _ = clients(demo)
    seeded = next(iter(demo.store.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")))
    group = seeded["id"].split("/")[4]
    assert seeded["tags"] == {"owner": "platform"}

    identity = identities.update(group, seeded["name"], {"tags": {"owner": "platform", "Owner": "Team-B"}})
    app = apps.begin_update("rg-runner", "maia-runner", {"tags": {"Owner": "x"}}).result()
    app = apps.begin_update("rg-runner", "maia-runner", {"tags": {"OWNER": "y"}}).result()

    assert identity.tags == {"owner": "Team-B"}
    assert app.tags == {"Owner": "y"}


# -- through PATCH and the Tags API, on every kind of scope ----------------------------------------
def scopes(running: RunningSandbox) -> dict[str, str]:
    """One scope of each kind a tag can sit on: the subscription, a group, and a resource of each type."""
    sub = f"/subscriptions/{running.prod}"
    one = {
        kind: next(iter(running.store.of_type(kind, sub)))["id"]
        for kind in (
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "Microsoft.App/containerApps",
            "Microsoft.App/managedEnvironments",
            "Microsoft.KeyVault/vaults",
            "Microsoft.Storage/storageAccounts",
        )
    }
    return {"subscription": sub, "group": f"{sub}/resourceGroups/rg-runner", **one}


SCOPE_KINDS = st.sampled_from(
    [
        "subscription",
        "group",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.App/containerApps",
        "Microsoft.App/managedEnvironments",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Storage/storageAccounts",
    ]
)


def tags_api(running: RunningSandbox) -> Any:
    return ResourceManagementClient(running.credential(), running.prod, **running.client_kwargs()).tags


@SETTINGS
@given(kind=SCOPE_KINDS, start=TAGS, merge=st.dictionaries(NAMES, VALUES, max_size=4))
def test_the_tags_api_merges_and_replaces_by_name_without_regard_to_case(
    demo, kind: str, start: dict[str, str], merge: dict[str, str]
) -> None:
    """`az tag update --operation merge|replace` and `az resource tag` (Tags_UpdateAtScope and
    Tags_CreateOrUpdateAtScope): on any scope, one tag per name whatever its case."""
    tags, scope = tags_api(demo), scopes(demo)[kind]
    created = tags.begin_create_or_update_at_scope(scope, {"properties": {"tags": start}}).result()

    merged = tags.begin_update_at_scope(scope, {"operation": "Merge", "properties": {"tags": merge}}).result()
    read = tags.get_at_scope(scope)

    assert created.properties.tags == arm_tags({}, start)
    assert merged.properties.tags == read.properties.tags == arm_tags(arm_tags({}, start), merge)
    assert merged.id == f"{scope}/providers/Microsoft.Resources/tags/default"


@SETTINGS
@given(kind=SCOPE_KINDS, start=TAGS, names=st.lists(NAMES, max_size=3))
def test_the_tags_api_deletes_the_names_given_in_any_case(demo, kind: str, start: dict[str, str], names) -> None:
    tags, scope = tags_api(demo), scopes(demo)[kind]
    tags.begin_create_or_update_at_scope(scope, {"properties": {"tags": start}}).result()

    delete = {"operation": "Delete", "properties": {"tags": dict.fromkeys(names, "")}}
    after = tags.begin_update_at_scope(scope, delete).result()

    gone = {n.lower() for n in names}
    assert after.properties.tags == {k: v for k, v in arm_tags({}, start).items() if k.lower() not in gone}
    tags.begin_delete_at_scope(scope).result()
    assert tags_api(demo).get_at_scope(scope).properties.tags == {}


@SETTINGS
@given(start=TAGS, update=TAGS)
def test_a_resource_group_patch_replaces_its_tags_keeping_one_per_name(demo, start, update) -> None:
    """ResourceGroups_Update (a PATCH, the Python SDK's resource_groups.update): the tags given replace
    the group's, one per name whatever its case; what the body leaves out is kept."""
    groups = ResourceManagementClient(demo.credential(), demo.prod, **demo.client_kwargs()).resource_groups
    groups.create_or_update("rg-runner", {"location": "westeurope", "tags": start})

    untouched = groups.update("rg-runner", {})
    updated = groups.update("rg-runner", {"tags": update})

    assert untouched.tags == arm_tags({}, start)
    assert updated.tags == groups.get("rg-runner").tags == arm_tags({}, update)
    assert updated.location == "westeurope"


def test_tag_names_are_counted_once_whatever_their_case(demo) -> None:
    """Tags_List (`az tag list`): a name used as `env` and `Env` is one name."""
    tags, scope = tags_api(demo), scopes(demo)
    for kind, written in (
        ("group", {"Env": "prod"}),
        ("Microsoft.KeyVault/vaults", {"env": "prod"}),
        ("Microsoft.Storage/storageAccounts", {"ENV": "dev"}),
    ):
        tags.begin_create_or_update_at_scope(scope[kind], {"properties": {"tags": written}}).result()

    listed = [t for t in tags.list() if t.tag_name.lower() == "env"]

    assert len(listed) == 1
    assert listed[0].count.value == 3
    assert {v.tag_value: v.count.value for v in listed[0].values_property} == {"prod": 2, "dev": 1}
