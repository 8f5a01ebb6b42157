"""Microsoft.App through azure-mgmt-appcontainers: environments, container apps and their
long-running PUT and PATCH, merge-patch, secrets, revisions and the app's managed identities.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient as AsyncContainerAppsAPIClient

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import Recorder, assert_shape, example_body, status_and_body, wire

# An identity that does not exist, in a group the demo's caller owns (so no 403 comes first).
NOWHERE = (
    "/subscriptions/{prod}/resourceGroups/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
)
SECRET = "sandbox-agent-token-value"  # the demo's agent-token value: no read may show it
APP_TYPE = "Microsoft.App/containerApps"


def client(running: RunningSandbox, sub: str | None = None) -> ContainerAppsAPIClient:
    return ContainerAppsAPIClient(running.credential(), sub or running.prod, **running.client_kwargs())


def app_id(running: RunningSandbox, name: str = "maia-runner", group: str = "rg-runner") -> str:
    return f"/subscriptions/{running.prod}/resourceGroups/{group}/providers/{APP_TYPE}/{name}"


def env_id(running: RunningSandbox) -> str:
    return (
        f"/subscriptions/{running.prod}/resourceGroups/rg-runner/providers/Microsoft.App/managedEnvironments/cae-maia"
    )


def legacy_identity(running: RunningSandbox) -> dict[str, Any]:
    return next(iter(running.store.of_type("Microsoft.ManagedIdentity/userAssignedIdentities")))


def held(running: RunningSandbox, name: str = "maia-runner") -> dict[str, Any]:
    found = running.store.get(app_id(running, name))
    assert found is not None
    return found


def revisions(running: RunningSandbox, name: str = "maia-runner") -> list[Any]:
    return list(client(running).container_apps_revisions.list_revisions("rg-runner", name))


def new_app(running: RunningSandbox, **extra: Any) -> dict[str, Any]:
    body = {
        "location": "westeurope",
        "tags": {"team": "web"},
        "properties": {
            "environmentId": env_id(running),
            "configuration": {"activeRevisionsMode": "Single", "secrets": [{"name": "api-key", "value": "k-123"}]},
            "template": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "env": [{"name": "API_KEY", "secretRef": "api-key"}, {"name": "MODE", "value": "a"}],
                    }
                ],
                "scale": {"minReplicas": 0, "maxReplicas": 2},
            },
        },
    }
    body.update(extra)
    return body


def statuses(seen: Recorder) -> list[str]:
    """The `status` of every operation-status poll the SDK made, in order."""
    return [
        seen.json(i)["status"]
        for i, (_, url, _, _) in enumerate(seen.responses)
        if "containerappoperationstatuses" in url.lower()
    ]


# -- reads --------------------------------------------------------------------------------------
def test_managed_environments_get_and_list(shared_demo) -> None:
    envs = client(shared_demo).managed_environments
    dev = shared_demo.info.subscription_ids[1]

    got = envs.get("rg-runner", "cae-maia")
    in_group = [e.name for e in envs.list_by_resource_group("rg-runner")]
    in_prod = [e.name for e in envs.list_by_subscription()]
    in_dev = [e.name for e in client(shared_demo, dev).managed_environments.list_by_subscription()]

    assert got.id == env_id(shared_demo)
    assert got.location == "westeurope"
    assert got.properties.provisioning_state == "Succeeded"
    assert (in_group, in_prod, in_dev) == (["cae-maia"], ["cae-maia"], ["cae-dev"])
    with pytest.raises(ResourceNotFoundError):
        envs.get("rg-runner", "cae-nowhere")


def test_get_and_list_container_apps(shared_demo) -> None:
    apps = client(shared_demo).container_apps
    dev = shared_demo.info.subscription_ids[1]

    app = apps.get("rg-runner", "maia-runner")
    in_group = sorted(a.name for a in apps.list_by_resource_group("rg-runner"))
    in_prod = sorted(a.name for a in apps.list_by_subscription())
    in_dev = [a.name for a in client(shared_demo, dev).container_apps.list_by_subscription()]

    assert app.id == app_id(shared_demo)
    assert app.identity.type == "SystemAssigned"
    assert [c.name for c in app.template.containers] == ["runner", "log-shipper"]
    env = {e.name: e for e in app.template.containers[0].env}
    assert env["AGENT_ID"].value == "agt-7f3a91"
    assert env["AGENT_TOKEN"].secret_ref == "agent-token"
    assert env["HTTP_PROXY"].value == ""
    assert app.managed_environment_id == env_id(shared_demo)
    assert in_group == in_prod == ["maia-runner", "maia-runner-staging"]
    assert in_dev == ["maia-runner-dev"]
    with pytest.raises(ResourceNotFoundError) as caught:
        apps.get("rg-runner", "no-such-app")
    assert caught.value.error.code == "ResourceNotFound"


def test_a_container_app_has_the_keys_of_azures_examples(shared_demo) -> None:
    apps = client(shared_demo).container_apps

    got = apps.get("rg-runner", "maia-runner", cls=wire)
    expected = example_body("ContainerApps_Get")

    assert_shape(got, expected)
    assert set(expected["properties"]) <= set(got["properties"])
    assert set(got["identity"]) == {"type", "principalId", "tenantId"}
    seen = Recorder()
    list(apps.list_by_resource_group("rg-runner", raw_response_hook=seen))
    listed = seen.json()["value"][0]
    assert_shape(listed, example_body("ContainerApps_ListByResourceGroup"))


def test_secret_values_come_only_from_list_secrets(shared_demo) -> None:
    apps = client(shared_demo).container_apps
    seen = Recorder()

    secrets = apps.list_secrets("rg-runner", "maia-runner")
    apps.get("rg-runner", "maia-runner", raw_response_hook=seen)
    list(apps.list_by_resource_group("rg-runner", raw_response_hook=seen))
    list(apps.list_by_subscription(raw_response_hook=seen))
    list(
        client(shared_demo).container_apps_revisions.list_revisions("rg-runner", "maia-runner", raw_response_hook=seen)
    )

    assert {s.name: s.value for s in secrets.value} == {"agent-token": SECRET}
    assert len(seen.bodies) == 4
    assert not any(SECRET in body for body in seen.bodies)
    assert seen.json(0)["properties"]["configuration"]["secrets"] == [{"name": "agent-token"}]


def test_revisions_list_and_get(shared_demo) -> None:
    revs = client(shared_demo).container_apps_revisions
    app = client(shared_demo).container_apps.get("rg-runner", "maia-runner")

    single = list(revs.list_revisions("rg-runner", "maia-runner"))
    multiple = list(revs.list_revisions("rg-runner", "maia-runner-staging"))
    latest = revs.get_revision("rg-runner", "maia-runner", app.latest_revision_name)

    assert [r.name for r in single] == [app.latest_revision_name]
    assert single[0].properties.active is True
    assert single[0].name.startswith("maia-runner--")
    assert len(multiple) == 2 and all(r.properties.active for r in multiple)
    assert latest.properties.template.containers[0].name == "runner"


# -- PUT ----------------------------------------------------------------------------------------
def test_put_is_201_with_azure_async_operation_and_the_sdk_polls_it_to_the_end(start_sandbox) -> None:
    running = start_sandbox(lro_polls=3)
    seen = Recorder()

    app = (
        client(running)
        .container_apps.begin_create_or_update("rg-runner", "web", new_app(running), raw_response_hook=seen)
        .result()
    )

    method, _, status, headers = seen.responses[0]
    assert (method, status) == ("PUT", 201)
    assert "/containerappOperationStatuses/" in headers["Azure-AsyncOperation"]
    assert "/containerappOperationResults/" in headers["Location"]
    assert headers["Retry-After"] == "0"
    assert statuses(seen) == ["InProgress", "InProgress", "InProgress", "Succeeded"]
    assert app.provisioning_state == "Succeeded"
    assert app.latest_revision_name and app.latest_ready_revision_name == app.latest_revision_name
    stored = held(running, "web")
    assert stored["properties"]["provisioningState"] == "Succeeded"
    assert stored["tags"] == {"team": "web"}
    assert stored["properties"]["configuration"]["secrets"] == [{"name": "api-key"}]
    secrets = client(running).container_apps.list_secrets("rg-runner", "web")
    assert {s.name: s.value for s in secrets.value} == {"api-key": "k-123"}
    assert [r.name for r in revisions(running, "web")] == [app.latest_revision_name]


def test_a_second_put_is_200_and_keeps_the_revision_when_the_template_is_the_same(demo) -> None:
    apps = client(demo).container_apps
    first = apps.begin_create_or_update("rg-runner", "web", new_app(demo)).result()
    seen = Recorder()

    again = apps.begin_create_or_update(
        "rg-runner", "web", new_app(demo, tags={"team": "api"}), raw_response_hook=seen
    ).result()

    assert seen.statuses[0] == 200
    assert again.latest_revision_name == first.latest_revision_name
    assert again.tags == {"team": "api"}
    assert len(revisions(demo, "web")) == 1


def test_a_put_of_a_read_app_fails_on_its_value_less_secrets(demo) -> None:
    apps = client(demo).container_apps
    before = copy.deepcopy(held(demo))
    app = apps.get("rg-runner", "maia-runner")

    with pytest.raises(HttpResponseError) as caught:
        apps.begin_create_or_update("rg-runner", "maia-runner", app)

    assert caught.value.status_code == 400
    assert caught.value.error.code == "ContainerAppSecretInvalid"
    assert "agent-token" in caught.value.error.message
    assert held(demo) == before
    assert {s.name: s.value for s in apps.list_secrets("rg-runner", "maia-runner").value} == {"agent-token": SECRET}


@pytest.mark.parametrize(
    ("name", "change", "code"),
    [
        ("Bad_Name", {}, "ContainerAppInvalidName"),
        ("web--double", {}, "ContainerAppInvalidName"),
        ("web", {"location": "atlantis"}, "LocationRequired"),
        ("web", {"properties": {"environmentId": "/subscriptions/x/nowhere"}}, "ManagedEnvironmentNotFound"),
    ],
)
def test_put_refusals(shared_demo, name: str, change: dict, code: str) -> None:
    body = new_app(shared_demo)
    if "properties" in change:
        body["properties"].update(change["properties"])
    else:
        body.update(change)

    with pytest.raises(HttpResponseError) as caught:
        client(shared_demo).container_apps.begin_create_or_update("rg-runner", name, body)

    assert caught.value.status_code == 400
    assert caught.value.error.code == code
    assert shared_demo.store.get(app_id(shared_demo, name)) is None


# -- PATCH --------------------------------------------------------------------------------------
def test_patch_is_202_and_merges_objects_but_replaces_lists_whole(start_sandbox) -> None:
    running = start_sandbox(lro_polls=2)
    before = copy.deepcopy(held(running))
    runner = copy.deepcopy(before["properties"]["template"]["containers"][0])
    runner["env"] = [{"name": "ONLY", "value": "this"}]
    seen = Recorder()

    client(running).container_apps.begin_update(
        "rg-runner",
        "maia-runner",
        {
            "tags": {"patched": "yes"},
            "properties": {"template": {"containers": [runner], "scale": {"maxReplicas": 5}}},
        },
        raw_response_hook=seen,
    ).result()

    method, _, status, headers = seen.responses[0]
    assert (method, status) == ("PATCH", 202)
    assert "/containerappOperationResults/" in headers["Location"]
    assert "/containerappOperationStatuses/" in headers["Azure-AsyncOperation"]
    assert statuses(seen) == ["InProgress", "InProgress", "Succeeded"]
    after = held(running)
    template = after["properties"]["template"]
    assert [c["name"] for c in template["containers"]] == ["runner"]  # the list was replaced whole
    assert template["containers"][0]["env"] == [{"name": "ONLY", "value": "this"}]
    assert template["scale"] == {"minReplicas": 1, "maxReplicas": 5}  # the object was merged
    assert template["volumes"] == before["properties"]["template"]["volumes"]  # untouched keys stay
    assert after["properties"]["configuration"] == before["properties"]["configuration"]
    assert after["tags"] == {"patched": "yes"}
    assert after["identity"] == before["identity"]
    assert after["properties"]["provisioningState"] == "Succeeded"


def test_patch_without_secrets_keeps_their_values_and_with_them_replaces_them(demo) -> None:
    apps = client(demo).container_apps

    apps.begin_update(
        "rg-runner", "maia-runner", {"properties": {"configuration": {"maxInactiveRevisions": 5}}}
    ).result()
    kept = {s.name: s.value for s in apps.list_secrets("rg-runner", "maia-runner").value}
    apps.begin_update(
        "rg-runner",
        "maia-runner",
        {"properties": {"configuration": {"secrets": [{"name": "agent-token", "value": "rotated"}]}}},
    ).result()
    rotated = {s.name: s.value for s in apps.list_secrets("rg-runner", "maia-runner").value}

    assert kept == {"agent-token": SECRET}
    assert rotated == {"agent-token": "rotated"}
    assert held(demo)["properties"]["configuration"]["maxInactiveRevisions"] == 5


def test_a_template_change_makes_a_new_revision_and_retires_the_old_one(demo) -> None:
    apps = client(demo).container_apps
    before = apps.get("rg-runner", "maia-runner")
    containers = copy.deepcopy(held(demo)["properties"]["template"]["containers"])
    containers[0]["env"].append({"name": "AZURE_CLIENT_ID", "value": "abc"})

    after = apps.begin_update(
        "rg-runner", "maia-runner", {"properties": {"template": {"containers": containers}}}
    ).result()

    assert after.latest_revision_name != before.latest_revision_name
    listed = revisions(demo)
    assert [r.name for r in listed] == [before.latest_revision_name, after.latest_revision_name]
    assert [r.properties.active for r in listed] == [False, True]  # Single revision mode
    assert after.latest_ready_revision_name == after.latest_revision_name


def test_multiple_revision_mode_keeps_older_revisions_active(demo) -> None:
    apps = client(demo).container_apps
    containers = copy.deepcopy(held(demo, "maia-runner-staging")["properties"]["template"]["containers"])
    containers[0]["image"] = "maiaaihybrid.azurecr.io/maia/runner:2.15.0"

    after = apps.begin_update(
        "rg-runner", "maia-runner-staging", {"properties": {"template": {"containers": containers}}}
    ).result()

    listed = revisions(demo, "maia-runner-staging")
    assert len(listed) == 3
    assert listed[-1].name == after.latest_revision_name
    assert all(r.properties.active for r in listed)


def test_an_identity_only_change_keeps_the_revision(demo) -> None:
    apps = client(demo).container_apps
    before = apps.get("rg-runner", "maia-runner")
    legacy = legacy_identity(demo)

    after = apps.begin_update(
        "rg-runner",
        "maia-runner",
        {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {legacy["id"]: {}}}},
    ).result()

    assert after.latest_revision_name == before.latest_revision_name
    assert len(revisions(demo)) == 1
    assert after.identity.type == "SystemAssigned,UserAssigned"
    assert after.identity.principal_id == before.identity.principal_id  # the system-assigned one lives on
    linked = after.identity.user_assigned_identities[legacy["id"]]
    assert (linked.principal_id, linked.client_id) == (
        legacy["properties"]["principalId"],
        legacy["properties"]["clientId"],
    )
    assert demo.store.principal(before.identity.principal_id) is not None


def test_user_assigned_alone_drops_the_system_assigned_principal(demo) -> None:
    apps = client(demo).container_apps
    system = apps.get("rg-runner", "maia-runner").identity.principal_id
    legacy = legacy_identity(demo)

    after = apps.begin_update(
        "rg-runner", "maia-runner", {"identity": {"type": "UserAssigned", "userAssignedIdentities": {legacy["id"]: {}}}}
    ).result()

    assert after.identity.type == "UserAssigned"
    assert after.identity.principal_id is None
    assert "principalId" not in held(demo)["identity"]
    assert demo.store.principal(system) is None  # gone from the directory for good
    assert list(after.identity.user_assigned_identities) == [legacy["id"]]


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"identity": {"type": "UserAssigned"}}, "InvalidIdentityValues"),
        ({"identity": {"type": "Everything"}}, "InvalidIdentityType"),
        (
            {"identity": {"type": "UserAssigned", "userAssignedIdentities": {NOWHERE: {}}}},
            "InvalidUserAssignedIdentity",
        ),
        (
            {"properties": {"template": {"containers": [{"name": "runner", "image": "i", "env": [{"name": "1BAD"}]}]}}},
            "ContainerAppInvalidEnvVarName",
        ),
        (
            {
                "properties": {
                    "template": {
                        "containers": [{"name": "runner", "image": "i", "env": [{"name": "A", "secretRef": "nope"}]}]
                    }
                }
            },
            "ContainerAppSecretRefNotFound",
        ),
        ({"properties": {"configuration": {"secrets": [{"name": "agent-token"}]}}}, "ContainerAppSecretInvalid"),
    ],
    ids=["user-assigned-without-ids", "unknown-type", "unknown-identity", "env-name", "secret-ref", "secret-value"],
)
def test_patch_refusals_leave_the_app_as_it_was(demo, patch: dict, code: str) -> None:
    before = copy.deepcopy(held(demo))
    patch = json.loads(json.dumps(patch).replace("{prod}", demo.prod))

    with pytest.raises(HttpResponseError) as caught:
        client(demo).container_apps.begin_update("rg-runner", "maia-runner", patch)

    assert caught.value.status_code == 400
    assert caught.value.error.code == code
    assert held(demo) == before
    assert demo.store.principal(before["identity"]["principalId"]) is not None


# -- failed operations --------------------------------------------------------------------------
def test_a_failed_patch_restores_the_app_as_it_was_with_provisioning_state_failed(start_sandbox) -> None:
    running = start_sandbox(faults=("lro-fail,times=1",), lro_polls=1)
    apps = client(running).container_apps
    before = copy.deepcopy(held(running))
    system = before["identity"]["principalId"]
    containers = copy.deepcopy(before["properties"]["template"]["containers"])
    containers[0]["env"].append({"name": "NEW", "value": "1"})
    seen = Recorder()

    with pytest.raises(HttpResponseError) as caught:
        apps.begin_update(
            "rg-runner",
            "maia-runner",
            {
                "identity": {"type": "UserAssigned", "userAssignedIdentities": {legacy_identity(running)["id"]: {}}},
                "properties": {"template": {"containers": containers}},
            },
            raw_response_hook=seen,
        ).result()

    assert statuses(seen) == ["InProgress", "Failed"]
    assert caught.value.error.code == "ContainerAppOperationFailed"
    after = held(running)
    assert after["properties"]["provisioningState"] == "Failed"
    expected = copy.deepcopy(before)
    expected["properties"]["provisioningState"] = "Failed"
    assert after == expected
    assert running.store.principal(system) is not None  # the system-assigned identity came back
    assert [r.name for r in revisions(running)] == [before["properties"]["latestRevisionName"]]
    assert {s.name: s.value for s in apps.list_secrets("rg-runner", "maia-runner").value} == {"agent-token": SECRET}

    # The fault was bounded (times=1): the same change goes through on a retry.
    retried = apps.begin_update(
        "rg-runner", "maia-runner", {"properties": {"template": {"containers": containers}}}
    ).result()
    assert retried.provisioning_state == "Succeeded"
    assert held(running)["properties"]["provisioningState"] == "Succeeded"


def test_a_failed_create_leaves_the_app_in_state_failed(start_sandbox) -> None:
    running = start_sandbox(faults=("lro-fail,method=PUT,times=1",))

    with pytest.raises(HttpResponseError):
        client(running).container_apps.begin_create_or_update("rg-runner", "web", new_app(running)).result()

    assert held(running, "web")["properties"]["provisioningState"] == "Failed"
    assert client(running).container_apps.get("rg-runner", "web").provisioning_state == "Failed"


def test_a_read_of_the_app_moves_its_operation_on(start_sandbox) -> None:
    """Azure finishes an operation whether or not anyone polls it."""
    running = start_sandbox(lro_polls=2)
    apps = client(running).container_apps

    status, _ = apps.get("rg-runner", "maia-runner", cls=status_and_body)
    poller = apps.begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}, polling=False)
    states = [apps.get("rg-runner", "maia-runner").provisioning_state for _ in range(3)]

    assert status == 200
    assert poller.done()
    assert states == ["InProgress", "InProgress", "Succeeded"]


def test_delete_an_app(demo) -> None:
    apps = client(demo).container_apps

    apps.begin_delete("rg-runner", "maia-runner-staging").result()

    assert demo.store.get(app_id(demo, "maia-runner-staging")) is None
    assert sorted(a.name for a in apps.list_by_resource_group("rg-runner")) == ["maia-runner"]


# -- async --------------------------------------------------------------------------------------
async def test_create_update_and_read_through_the_async_sdk(demo) -> None:
    async with (
        demo.async_credential() as credential,
        AsyncContainerAppsAPIClient(credential, demo.prod, **demo.client_kwargs()) as aclient,
    ):
        apps = aclient.container_apps
        created = await (await apps.begin_create_or_update("rg-runner", "web", new_app(demo))).result()
        patch = {"properties": {"template": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}
        updated = await (await apps.begin_update("rg-runner", "web", patch)).result()
        names = sorted([a.name async for a in apps.list_by_resource_group("rg-runner")])
        secrets = await apps.list_secrets("rg-runner", "web")
        revs = [r.name async for r in aclient.container_apps_revisions.list_revisions("rg-runner", "web")]

    assert created.provisioning_state == updated.provisioning_state == "Succeeded"
    assert updated.latest_revision_name != created.latest_revision_name
    assert revs == [created.latest_revision_name, updated.latest_revision_name]
    assert names == ["maia-runner", "maia-runner-staging", "web"]
    assert {s.name: s.value for s in secrets.value} == {"api-key": "k-123"}
    assert held(demo, "web")["properties"]["template"]["containers"] == [{"name": "web", "image": "nginx:1.28"}]
