"""Microsoft.ManagedIdentity/userAssignedIdentities through azure-mgmt-msi: synchronous create,
update, read, delete and lists, fresh ids for each new identity, and ARM's naming rules.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.aio import ManagedServiceIdentityClient as AsyncManagedServiceIdentityClient
from azure.mgmt.msi.models import Identity, IdentityUpdate

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import assert_shape, example_body, status_and_body, wire

TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def identities(running: RunningSandbox, sub: str | None = None):
    client = ManagedServiceIdentityClient(running.credential(), sub or running.prod, **running.client_kwargs())
    return client.user_assigned_identities


def identity_id(running: RunningSandbox, group: str, name: str) -> str:
    return f"/subscriptions/{running.prod}/resourceGroups/{group}/providers/{TYPE}/{name}"


def test_create_is_201_with_fresh_ids_then_200_keeping_them(demo) -> None:
    ops = identities(demo)
    known = {p for p in demo.store.principals}

    first, created = ops.create_or_update(
        "rg-runner", "id-new", Identity(location="westeurope", tags={"team": "a"}), cls=status_and_body
    )
    second, again = ops.create_or_update(
        "rg-runner", "id-new", Identity(location="westeurope", tags={"team": "b"}), cls=status_and_body
    )

    assert (first, second) == (201, 200)
    for value in (created.principal_id, created.client_id, created.tenant_id):
        uuid.UUID(value)
    assert created.principal_id.lower() not in known
    assert created.client_id != created.principal_id
    assert created.tenant_id == demo.info.tenant_id
    assert (again.principal_id, again.client_id) == (created.principal_id, created.client_id)
    assert again.tags == {"team": "b"}
    held = demo.store.get(identity_id(demo, "rg-runner", "id-new"))
    assert held is not None and held["properties"]["principalId"] == created.principal_id
    principal = demo.store.principal(created.principal_id)
    assert principal is not None and principal.kind == "ServicePrincipal"


def test_each_new_identity_gets_its_own_principal_and_client_id(demo) -> None:
    ops = identities(demo)

    made = [ops.create_or_update("rg-runner", f"id-many-{i}", {"location": "westeurope"}) for i in range(3)]

    assert len({m.principal_id for m in made}) == 3
    assert len({m.client_id for m in made}) == 3


def test_identity_answers_have_the_keys_of_azures_examples(demo) -> None:
    ops = identities(demo)

    created = ops.create_or_update("rg-runner", "id-shape", {"location": "westeurope", "tags": {"k": "v"}}, cls=wire)
    fetched = ops.get("rg-runner", "id-shape", cls=wire)
    updated = ops.update("rg-runner", "id-shape", {"tags": {"k": "w"}}, cls=wire)

    for answer, name in ((created, "IdentityCreate"), (fetched, "IdentityGet"), (updated, "IdentityUpdate")):
        expected = example_body(name, "201" if name == "IdentityCreate" else "200")
        assert_shape(answer, expected)
        assert set(answer["properties"]) == set(expected["properties"])
    assert created["type"] == TYPE
    assert created["id"] == identity_id(demo, "rg-runner", "id-shape")


def test_patch_changes_tags_and_nothing_else(demo) -> None:
    ops = identities(demo)
    before = ops.create_or_update("rg-runner", "id-patch", {"location": "westeurope", "tags": {"a": "1"}})

    after = ops.update("rg-runner", "id-patch", IdentityUpdate(tags={"b": "2"}))

    assert after.tags == {"b": "2"}
    assert (after.principal_id, after.client_id, after.location) == (
        before.principal_id,
        before.client_id,
        before.location,
    )
    assert demo.store.get(identity_id(demo, "rg-runner", "id-patch"))["tags"] == {"b": "2"}


def test_a_seeded_identity_can_be_updated_and_recreated(demo) -> None:
    """The demo's identity was never written through the API (no systemData): both writes still work."""
    ops = identities(demo)
    legacy = ops.get("rg-runner", "id-legacy-runner")

    patched = ops.update("rg-runner", "id-legacy-runner", {"tags": {"owner": "data"}})
    status, put = ops.create_or_update(
        "rg-runner", "id-legacy-runner", {"location": "westeurope", "tags": {"owner": "ops"}}, cls=status_and_body
    )

    assert patched.tags == {"owner": "data"}
    assert status == 200
    assert put.principal_id == legacy.principal_id
    assert put.tags == {"owner": "ops"}


def test_get_and_delete(demo) -> None:
    ops = identities(demo)
    made = ops.create_or_update("rg-runner", "id-gone", {"location": "westeurope"})

    fetched = ops.get("RG-RUNNER", "ID-GONE")
    ops.delete("rg-runner", "id-gone")
    ops.delete("rg-runner", "id-gone")  # deleting what is not there is a quiet 204

    assert fetched.id == made.id
    assert demo.store.get(made.id) is None
    assert demo.store.principal(made.principal_id) is None
    with pytest.raises(ResourceNotFoundError) as caught:
        ops.get("rg-runner", "id-gone")
    assert caught.value.error.code == "ResourceNotFound"


def test_list_by_group_and_subscription(demo) -> None:
    ops = identities(demo)
    ops.create_or_update("rg-data", "id-in-data", {"location": "northeurope"})

    in_runner = [i.name for i in ops.list_by_resource_group("rg-runner")]
    in_data = [i.name for i in ops.list_by_resource_group("rg-data")]
    everywhere = sorted(i.name for i in ops.list_by_subscription())

    assert in_runner == ["id-legacy-runner"]
    assert in_data == ["id-in-data"]
    assert everywhere == ["id-in-data", "id-legacy-runner"]
    assert list(identities(demo, demo.info.subscription_ids[1]).list_by_subscription()) == []


@pytest.mark.parametrize(
    "name",
    ["ab", "-starts-with-hyphen", "_starts-with-underscore", "has.dot", "has space", "bad$char", "x" * 129],
    ids=["too-short", "hyphen-first", "underscore-first", "dot", "space", "dollar", "too-long"],
)
def test_names_azure_refuses(shared_demo, name: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        identities(shared_demo).create_or_update("rg-runner", name, {"location": "westeurope"})

    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidResourceName"
    assert "3 to 128" in caught.value.error.message
    assert shared_demo.store.get(identity_id(shared_demo, "rg-runner", name)) is None


@pytest.mark.parametrize("name", ["abc", "a" * 128, "Id_Under_score-1", "9lives"])
def test_names_azure_accepts(demo, name: str) -> None:
    status, _ = identities(demo).create_or_update("rg-runner", name, {"location": "westeurope"}, cls=status_and_body)

    assert status == 201


@pytest.mark.parametrize(
    ("group", "body", "status", "code"),
    [
        ("rg-runner", {}, 400, "LocationRequired"),
        ("rg-runner", {"location": "atlantis"}, 400, "LocationNotAvailableForResourceType"),
        ("rg-nowhere", {"location": "westeurope"}, 404, "ResourceGroupNotFound"),
    ],
)
def test_create_refusals(shared_demo, group: str, body: dict, status: int, code: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        identities(shared_demo).create_or_update(group, "id-refused", body)

    assert caught.value.status_code == status
    assert caught.value.error.code == code


def test_an_identity_cannot_move_to_another_location(demo) -> None:
    with pytest.raises(HttpResponseError) as caught:
        identities(demo).create_or_update("rg-runner", "id-legacy-runner", {"location": "eastus"})

    assert caught.value.error.code == "InvalidResourceLocation"
    assert demo.store.get(identity_id(demo, "rg-runner", "id-legacy-runner"))["location"] == "westeurope"


async def test_create_and_list_through_the_async_sdk(demo) -> None:
    async with (
        demo.async_credential() as credential,
        AsyncManagedServiceIdentityClient(credential, demo.prod, **demo.client_kwargs()) as client,
    ):
        ops = client.user_assigned_identities
        created = await ops.create_or_update("rg-runner", "id-async", {"location": "westeurope"})
        patched = await ops.update("rg-runner", "id-async", {"tags": {"via": "aio"}})
        names = sorted([i.name async for i in ops.list_by_resource_group("rg-runner")])
        await ops.delete("rg-runner", "id-async")

    assert patched.principal_id == created.principal_id
    assert patched.tags == {"via": "aio"}
    assert names == ["id-async", "id-legacy-runner"]
    assert demo.store.get(created.id) is None
