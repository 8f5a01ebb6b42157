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
