"""Microsoft.Authorization through azure-mgmt-authorization: built-in and custom role definitions,
role assignments at every scope with ARM's refusals, the caller's permission matrix, and permissions.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.aio import AuthorizationManagementClient as AsyncAuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import Recorder, assert_shape, example_body, status_and_body, wire

RD = "/providers/Microsoft.Authorization/roleDefinitions/"
RA_TYPE = "Microsoft.Authorization/roleAssignments"
BUILTINS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
}
CUSTOM = "Maia Runner Secrets Reader"
# RoleAssignmentProperties in authorization-RoleAssignmentsCalls.json (2022-04-01): nothing beyond these.
ASSIGNMENT_PROPERTIES = {
    "condition",
    "conditionVersion",
    "createdBy",
    "createdOn",
    "delegatedManagedIdentityResourceId",
    "description",
    "principalId",
    "principalType",
    "roleDefinitionId",
    "scope",
    "updatedBy",
    "updatedOn",
}


def auth(running: RunningSandbox, sub: str | None = None) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(running.credential(), sub or running.prod, **running.client_kwargs())


def scopes(running: RunningSandbox, sub: str | None = None) -> dict[str, str]:
    sub = sub or running.prod
    return {
        "subscription": f"/subscriptions/{sub}",
        "group": f"/subscriptions/{sub}/resourceGroups/rg-runner",
        "vault": f"/subscriptions/{sub}/resourceGroups/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod",
    }


def role_id(sub: str, name: str) -> str:
    return f"/subscriptions/{sub}{RD}{BUILTINS[name]}"


def new_identity(running: RunningSandbox, name: str, sub: str | None = None, group: str = "rg-runner"):
    client = ManagedServiceIdentityClient(running.credential(), sub or running.prod, **running.client_kwargs())
    return client.user_assigned_identities.create_or_update(group, name, {"location": "westeurope"})


def legacy_principal(running: RunningSandbox) -> str:
    legacy = next(iter(running.store.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")))
    return str(legacy["properties"]["principalId"])


def assignment(sub: str, role: str, principal: str, principal_type: str | None = "ServicePrincipal") -> dict:
    props = {"role_definition_id": role_id(sub, role), "principal_id": principal}
    if principal_type is not None:
        props["principal_type"] = principal_type
    return props


# -- role definitions ---------------------------------------------------------------------------
def test_every_builtin_role_is_listed_in_arms_wire_format(shared_demo) -> None:
    listed = list(
        auth(shared_demo).role_definitions.list(scopes(shared_demo)["subscription"], filter="type eq 'BuiltInRole'")
    )

    assert 900 <= len(listed) <= 960
    assert all(r.role_type == "BuiltInRole" for r in listed)  # properties.type on the wire
    by_name = {r.role_name: r for r in listed}  # properties.roleName on the wire
    for name, guid in BUILTINS.items():
        assert by_name[name].name == guid
        assert by_name[name].id == f"/subscriptions/{shared_demo.prod}{RD}{guid}"
        assert by_name[name].assignable_scopes == ["/"]
    assert CUSTOM not in by_name


def test_role_name_filter_finds_one_role(shared_demo) -> None:
    found = list(
        auth(shared_demo).role_definitions.list(
            scopes(shared_demo)["vault"], filter="roleName eq 'Key Vault Secrets User'"
        )
    )

    assert [(r.role_name, r.name) for r in found] == [("Key Vault Secrets User", BUILTINS["Key Vault Secrets User"])]
    assert found[0].permissions[0].data_actions == [
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ]


def test_the_custom_role_is_visible_only_in_the_subscription_it_is_assignable_in(shared_demo) -> None:
    prod, dev = shared_demo.info.subscription_ids
    in_prod = list(auth(shared_demo).role_definitions.list(f"/subscriptions/{prod}", filter=f"roleName eq '{CUSTOM}'"))
    custom_in_prod = list(
        auth(shared_demo).role_definitions.list(f"/subscriptions/{prod}", filter="type eq 'CustomRole'")
    )
    in_dev = list(
        auth(shared_demo, dev).role_definitions.list(f"/subscriptions/{dev}", filter=f"roleName eq '{CUSTOM}'")
    )

    assert [r.role_name for r in in_prod] == [CUSTOM]
    assert in_prod[0].role_type == "CustomRole"
    assert in_prod[0].assignable_scopes == [f"/subscriptions/{prod}"]
    assert [r.role_name for r in custom_in_prod] == [CUSTOM]
    assert in_dev == []


def test_get_role_definitions_by_id_and_at_scope(shared_demo) -> None:
    client = auth(shared_demo)
    custom = next(
        iter(client.role_definitions.list(f"/subscriptions/{shared_demo.prod}", filter=f"roleName eq '{CUSTOM}'"))
    )

    by_id = client.role_definitions.get_by_id(role_id(shared_demo.prod, "Reader"))
    at_scope = client.role_definitions.get(scopes(shared_demo)["group"], BUILTINS["AcrPull"])
    custom_by_id = client.role_definitions.get_by_id(custom.id)
    raw = client.role_definitions.get_by_id(role_id(shared_demo.prod, "Reader"), cls=wire)

    assert by_id.role_name == "Reader"
    assert by_id.permissions[0].actions == ["*/read"]
    assert at_scope.role_name == "AcrPull"
    assert custom_by_id.role_name == CUSTOM
    assert custom_by_id.permissions[0].data_actions
    assert_shape(raw, example_body("GetRoleDefinitionById"))
    assert set(example_body("GetRoleDefinitionById")["properties"]) <= set(raw["properties"])
    assert raw["properties"]["type"] == "BuiltInRole"


def test_an_unknown_role_definition_is_role_definition_does_not_exist(shared_demo) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        auth(shared_demo).role_definitions.get(f"/subscriptions/{shared_demo.prod}", str(uuid.uuid4()))

    assert caught.value.error.code == "RoleDefinitionDoesNotExist"


def test_an_unsupported_role_definition_filter_is_refused(shared_demo) -> None:
    with pytest.raises(HttpResponseError) as caught:
        list(auth(shared_demo).role_definitions.list(f"/subscriptions/{shared_demo.prod}", filter="roleName ne 'x'"))

    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidFilterInQueryString"


# -- role assignments ---------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["subscription", "group", "vault"])
def test_create_get_list_and_delete_an_assignment_at_each_scope(demo, where: str) -> None:
    client = auth(demo)
    scope = scopes(demo)[where]
    principal = new_identity(demo, f"id-{where}").principal_id
    name = str(uuid.uuid4())

    status, created = client.role_assignments.create(
        scope, name, assignment(demo.prod, "Key Vault Secrets User", principal), cls=status_and_body
    )
    fetched = client.role_assignments.get(scope, name)
    listed = list(client.role_assignments.list_for_scope(scope, filter=f"principalId eq '{principal}'"))

    assert status == 201
    assert created.id == f"{scope}/providers/{RA_TYPE}/{name}"
    assert (created.scope, created.principal_id, created.principal_type) == (scope, principal, "ServicePrincipal")
    assert created.role_definition_id == role_id(demo.prod, "Key Vault Secrets User")
    assert fetched.id == created.id
    assert [a.name for a in listed] == [name]
    held = demo.store.get(created.id)
    assert held is not None and held["properties"]["principalId"] == principal

    deleted = client.role_assignments.delete(scope, name)

    assert deleted is not None and deleted.id == created.id
    assert demo.store.get(created.id) is None
    assert client.role_assignments.delete(scope, name) is None  # a 204 for what is already gone
    with pytest.raises(ResourceNotFoundError) as caught:
        client.role_assignments.get(scope, name)
    assert caught.value.error.code == "RoleAssignmentNotFound"


def test_an_assignment_has_the_keys_of_azures_examples(demo) -> None:
    client = auth(demo)
    vault = scopes(demo)["vault"]
    name = str(uuid.uuid4())

    created = client.role_assignments.create(
        vault, name, assignment(demo.prod, "Reader", legacy_principal(demo)), cls=wire
    )
    fetched = client.role_assignments.get(vault, name, cls=wire)

    for answer, example in ((created, "RoleAssignments_CreateForResource"), (fetched, "RoleAssignments_Get")):
        expected = example_body(example, "201" if "Create" in example else "200")
        assert_shape(answer, expected, set())
        assert set(expected["properties"]) <= set(answer["properties"]) <= ASSIGNMENT_PROPERTIES
    assert created["type"] == RA_TYPE


def test_list_filters_by_principal_and_at_scope(demo) -> None:
    client = auth(demo)
    s = scopes(demo)
    principal = new_identity(demo, "id-lists").principal_id
    made = {}
    for where, role in (("subscription", "Reader"), ("group", "AcrPull"), ("vault", "Key Vault Secrets User")):
        made[where] = client.role_assignments.create(
            s[where], str(uuid.uuid4()), assignment(demo.prod, role, principal)
        ).id

    everywhere = {a.id for a in client.role_assignments.list_for_subscription(filter=f"principalId eq '{principal}'")}
    at_group = {a.id for a in client.role_assignments.list_for_scope(s["group"], filter="atScope()")}
    in_group = {a.id for a in client.role_assignments.list_for_resource_group("rg-runner")}
    on_vault = {
        a.id
        for a in client.role_assignments.list_for_resource(
            "rg-shared-secrets", "Microsoft.KeyVault", "vaults", "kv-maia-prod", filter=f"principalId eq '{principal}'"
        )
    }

    assert everywhere == set(made.values())
    assert made["subscription"] in at_group and made["group"] in at_group  # at the scope and above it
    assert made["vault"] not in at_group  # not below
    assert all(a.startswith(s["subscription"] + "/providers/") or a.startswith(s["group"] + "/") for a in at_group)
    assert {made["subscription"], made["group"]} <= in_group and made["vault"] not in in_group
    assert on_vault == {made["subscription"], made["vault"]}  # a resource sees what is assigned above it too


def test_the_same_principal_role_and_scope_under_another_name_is_409(demo) -> None:
    client = auth(demo)
    group = scopes(demo)["group"]
    body = assignment(demo.prod, "AcrPull", legacy_principal(demo))
    client.role_assignments.create(group, str(uuid.uuid4()), body)
    count = len(list(demo.store.of_type(RA_TYPE)))

    with pytest.raises(ResourceExistsError) as caught:
        client.role_assignments.create(group, str(uuid.uuid4()), body)

    assert caught.value.status_code == 409
    assert caught.value.error.code == "RoleAssignmentExists"
    assert len(list(demo.store.of_type(RA_TYPE))) == count


def test_a_just_created_identity_is_principal_not_found_without_principal_type(start_sandbox) -> None:
    running = start_sandbox(replication_delay_s=3600)
    client = auth(running)
    group = scopes(running)["group"]
    fresh = new_identity(running, "id-fresh").principal_id

    with pytest.raises(HttpResponseError) as caught:
        client.role_assignments.create(group, str(uuid.uuid4()), assignment(running.prod, "Reader", fresh, None))
    created = client.role_assignments.create(group, str(uuid.uuid4()), assignment(running.prod, "Reader", fresh))

    assert caught.value.status_code == 400
    assert caught.value.error.code == "PrincipalNotFound"
    assert "principalType" in caught.value.error.message
    assert created.principal_type == "ServicePrincipal"


def test_after_replication_principal_type_may_be_left_out(start_sandbox) -> None:
    running = start_sandbox(replication_delay_s=0)
    fresh = new_identity(running, "id-replicated").principal_id

    created = auth(running).role_assignments.create(
        scopes(running)["group"], str(uuid.uuid4()), assignment(running.prod, "Reader", fresh, None)
    )

    assert created.principal_type == "ServicePrincipal"  # looked up in the directory


def test_a_principal_the_directory_never_had_is_principal_not_found(shared_demo) -> None:
    with pytest.raises(HttpResponseError) as caught:
        auth(shared_demo).role_assignments.create(
            scopes(shared_demo)["group"],
            str(uuid.uuid4()),
            assignment(shared_demo.prod, "Reader", str(uuid.uuid4()), None),
        )

    assert caught.value.error.code == "PrincipalNotFound"


@pytest.mark.parametrize(
    ("name", "props", "code"),
    [
        (
            "5e1c0ef1-3c9b-4b4e-9d0e-8f8c1f1d2a3b",
            {
                "role_definition_id": f"/subscriptions/{{sub}}{RD}{uuid.UUID(int=7)}",
                "principal_type": "ServicePrincipal",
            },
            "RoleDefinitionDoesNotExist",
        ),
        ("not-a-guid", {"principal_type": "ServicePrincipal"}, "InvalidRoleAssignmentId"),
        ("5e1c0ef1-3c9b-4b4e-9d0e-8f8c1f1d2a3c", {"principal_type": "User"}, "UnmatchedPrincipalType"),
        ("5e1c0ef1-3c9b-4b4e-9d0e-8f8c1f1d2a3d", {"principal_type": "Robot"}, "InvalidPrincipalType"),
        ("5e1c0ef1-3c9b-4b4e-9d0e-8f8c1f1d2a3e", {"principal_id": "nobody"}, "InvalidPrincipalId"),
    ],
    ids=["missing-role", "name-not-guid", "unmatched-type", "invalid-type", "principal-not-guid"],
)
def test_assignment_refusals(shared_demo, name: str, props: dict, code: str) -> None:
    body = {**assignment(shared_demo.prod, "Reader", legacy_principal(shared_demo)), **props}
    body["role_definition_id"] = body["role_definition_id"].format(sub=shared_demo.prod)

    with pytest.raises(HttpResponseError) as caught:
        auth(shared_demo).role_assignments.create(scopes(shared_demo)["group"], name, body)

    assert caught.value.status_code == 400
    assert caught.value.error.code == code


def test_an_assignment_at_a_scope_that_does_not_exist_is_404(shared_demo) -> None:
    scope = f"/subscriptions/{shared_demo.prod}/resourceGroups/rg-runner/providers/Microsoft.KeyVault/vaults/kv-nowhere"

    with pytest.raises(ResourceNotFoundError):
        auth(shared_demo).role_assignments.create(
            scope, str(uuid.uuid4()), assignment(shared_demo.prod, "Reader", legacy_principal(shared_demo))
        )


# -- who may do what ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "may_assign", "may_create_identity"),
    [
        ("Owner", True, True),
        ("User Access Administrator", True, False),
        ("Contributor", False, True),
        ("Reader", False, False),
    ],
)
def test_the_callers_builtin_role_decides_what_it_may_write(
    start_sandbox, role: str, may_assign: bool, may_create_identity: bool
) -> None:
    running = start_sandbox(caller_role=role)
    scope = scopes(running)["group"]
    principal = legacy_principal(running)
    name = str(uuid.uuid4())
    msi = ManagedServiceIdentityClient(running.credential(), running.prod, **running.client_kwargs())

    if may_assign:
        assert (
            auth(running).role_assignments.create(scope, name, assignment(running.prod, "AcrPull", principal)).name
            == name
        )
    else:
        with pytest.raises(HttpResponseError) as caught:
            auth(running).role_assignments.create(scope, name, assignment(running.prod, "AcrPull", principal))
        assert caught.value.status_code == 403
        assert caught.value.error.code == "AuthorizationFailed"
        assert "Microsoft.Authorization/roleAssignments/write" in caught.value.error.message
        assert running.store.get(f"{scope}/providers/{RA_TYPE}/{name}") is None
    if may_create_identity:
        msi.user_assigned_identities.create_or_update("rg-runner", "id-matrix", {"location": "westeurope"})
    else:
        with pytest.raises(HttpResponseError) as caught:
            msi.user_assigned_identities.create_or_update("rg-runner", "id-matrix", {"location": "westeurope"})
        assert caught.value.status_code == 403
        assert caught.value.error.code == "AuthorizationFailed"
    # Every one of them may read.
    assert "id-legacy-runner" in [i.name for i in msi.user_assigned_identities.list_by_resource_group("rg-runner")]


def test_in_the_dev_subscription_the_caller_is_only_contributor(demo) -> None:
    dev = demo.info.subscription_ids[1]
    client = auth(demo, dev)
    group = f"/subscriptions/{dev}/resourceGroups/rg-dev-runner"
    identity = new_identity(demo, "id-dev", dev, "rg-dev-runner")  # a Contributor may create identities

    with pytest.raises(HttpResponseError) as caught:
        client.role_assignments.create(group, str(uuid.uuid4()), assignment(dev, "Reader", identity.principal_id))

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert not [a for a in client.role_assignments.list_for_scope(group) if a.principal_id == identity.principal_id]
    # Nor may the caller remove an assignment there, not even its own Contributor one.
    (own,) = client.role_assignments.list_for_subscription(filter=f"principalId eq '{demo.store.caller['object_id']}'")
    with pytest.raises(HttpResponseError) as caught:
        client.role_assignments.delete(own.scope, own.name)
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/delete" in caught.value.error.message
    assert demo.store.get(own.id) is not None


def test_permissions_for_a_group_and_a_resource(shared_demo) -> None:
    dev = shared_demo.info.subscription_ids[1]
    seen = Recorder()
    owner = list(auth(shared_demo).permissions.list_for_resource_group("rg-runner", raw_response_hook=seen))
    on_vault = list(
        auth(shared_demo).permissions.list_for_resource(
            "rg-shared-secrets", "Microsoft.KeyVault", "", "vaults", "kv-maia-prod"
        )
    )
    contributor = list(auth(shared_demo, dev).permissions.list_for_resource_group("rg-dev-runner"))

    assert [p.actions for p in owner] == [["*"]]
    assert not any(p.not_actions for p in owner)
    assert [p.actions for p in on_vault] == [["*"]]  # the Owner role at the subscription covers the vault
    assert [p.actions for p in contributor] == [["*"]]
    assert "Microsoft.Authorization/*/Write" in contributor[0].not_actions
    assert set(seen.json()["value"][0]) == set(example_body("GetPermissions"))


async def test_assignments_through_the_async_sdk(demo) -> None:
    group = scopes(demo)["group"]
    principal = legacy_principal(demo)
    name = str(uuid.uuid4())
    async with (
        demo.async_credential() as credential,
        AsyncAuthorizationManagementClient(credential, demo.prod, **demo.client_kwargs()) as client,
    ):
        (role,) = [r async for r in client.role_definitions.list(group, filter="roleName eq 'AcrPull'")]
        created = await client.role_assignments.create(
            group,
            name,
            {"role_definition_id": role.id, "principal_id": principal, "principal_type": "ServicePrincipal"},
        )
        mine = [
            a.name async for a in client.role_assignments.list_for_scope(group, filter=f"principalId eq '{principal}'")
        ]
        await client.role_assignments.delete(group, name)

    assert created.role_definition_id.endswith(BUILTINS["AcrPull"])
    assert name in mine
    assert demo.store.get(created.id) is None


# -- orphaned assignments -------------------------------------------------------------------------
def test_assignments_of_a_deleted_principal_stay_listed_with_the_same_shape(demo) -> None:
    """ARM deletes no role assignment with its principal: they stay, listed as before ("Identity not
    found" in the portal), until someone deletes them."""
    ops = auth(demo).role_assignments
    group = scopes(demo)["group"]
    made = new_identity(demo, "id-short-lived")
    created = ops.create(group, str(uuid.uuid4()), assignment(demo.prod, "Reader", made.principal_id))
    before = ops.get_by_id(created.id, cls=wire)
    msi = ManagedServiceIdentityClient(demo.credential(), demo.prod, **demo.client_kwargs())
    apps = ContainerAppsAPIClient(demo.credential(), demo.prod, **demo.client_kwargs()).container_apps
    system = apps.get("rg-runner", "maia-runner").identity.principal_id
    system_assignment = ops.create(group, str(uuid.uuid4()), assignment(demo.prod, "AcrPull", system))

    msi.user_assigned_identities.delete("rg-runner", "id-short-lived")
    apps.begin_delete("rg-runner", "maia-runner").result()

    assert demo.store.principal(made.principal_id) is None and demo.store.principal(system) is None
    seen = Recorder()
    listed = list(ops.list_for_scope(group, raw_response_hook=seen))
    by_principal = list(ops.list_for_scope(group, filter=f"principalId eq '{made.principal_id}'"))
    in_subscription = list(ops.list_for_subscription())
    raw = next(a for page in map(seen.json, range(len(seen.bodies))) for a in page["value"] if a["id"] == created.id)
    assert raw == before  # the same body, nulls and principalType included
    assert set(raw["properties"]) == ASSIGNMENT_PROPERTIES
    assert [a.id for a in by_principal] == [created.id]
    for found in (listed, in_subscription):
        assert {created.id, system_assignment.id} <= {a.id for a in found}
    assert ops.get_by_id(created.id).principal_type == "ServicePrincipal"
    ops.delete_by_id(created.id)  # and they can still be removed
    assert created.id not in {a.id for a in ops.list_for_scope(group)}
