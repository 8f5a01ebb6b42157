"""Container Apps as real tenants meet them: a write while an operation is in progress is 409, a
rerun of the same az update is no new revision, identities the configuration names must be the
app's own, DELETE is long-running, and linking an identity needs assign/action on it.
"""

from __future__ import annotations

import copy
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.msi import ManagedServiceIdentityClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningSandbox
from tests.sandbox.helpers import Recorder, assert_arm_error, http
from tests.sandbox.test_container_apps import app_id, client, held, legacy_identity, new_app, revisions, statuses

IN_PROGRESS = "ContainerAppOperationInProgress"
APP_NUMBERS = itertools.count()
ASSIGN = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"


def containers_with(running: RunningSandbox, name: str, value: str) -> list[dict[str, Any]]:
    containers = copy.deepcopy(held(running)["properties"]["template"]["containers"])
    containers[0]["env"].append({"name": name, "value": value})
    return containers


def settled(apps: Any, name: str) -> Any:
    """The app once its pending operation has ended: reads move it on, as the engine's do."""
    for _ in range(10):
        app = apps.get("rg-runner", name)
        if app.provisioning_state != "InProgress":
            return app
    raise AssertionError(f"{name} stayed InProgress")


def refused(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


# -- a write while another is in progress --------------------------------------------------------
@pytest.mark.parametrize("second", ["PATCH", "PUT", "DELETE"])
def test_a_write_while_an_update_is_in_progress_is_409(start_sandbox, second: str) -> None:
    running = start_sandbox(lro_polls=2)
    apps = client(running).container_apps
    apps.begin_create_or_update("rg-runner", "web", new_app(running)).result()
    apps.begin_update("rg-runner", "web", {"tags": {"first": "1"}}, polling=False)
    before = copy.deepcopy(held(running, "web"))
    calls = {
        "PATCH": lambda: apps.begin_update("rg-runner", "web", {"tags": {"second": "2"}}),
        "PUT": lambda: apps.begin_create_or_update("rg-runner", "web", new_app(running, tags={"second": "2"})),
        "DELETE": lambda: apps.begin_delete("rg-runner", "web"),
    }

    error = refused(calls[second])

    assert error.status_code == 409
    assert error.error.code == IN_PROGRESS
    assert "'web'" in error.error.message and "in progress" in error.error.message
    assert held(running, "web") == before  # nothing of the second write landed
    assert settled(apps, "web").tags == {"team": "web", "first": "1"}  # the first one ends as it would have
    # and once it has ended, the app takes writes again
    assert apps.begin_update("rg-runner", "web", {"tags": {"second": "2"}}).result().tags["second"] == "2"


def test_the_409_has_arms_error_shape(start_sandbox) -> None:
    running = start_sandbox(lro_polls=3)
    path = app_id(running, "maia-runner")
    assert http(running, "PATCH", path, json={"tags": {"a": "1"}}).status_code == 202

    answer = http(running, "PATCH", path, json={"tags": {"b": "2"}})

    body = assert_arm_error(answer, 409, IN_PROGRESS)
    assert "OperationId" in body["message"]


def test_a_busy_fault_holds_the_app_in_progress_for_its_count(start_sandbox) -> None:
    running = start_sandbox(faults=("busy,route=/containerApps/maia-runner$,times=2",))
    apps = client(running).container_apps

    seen_state = apps.get("rg-runner", "maia-runner").provisioning_state  # 1st request: busy
    error = refused(lambda: apps.begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}))  # 2nd: refused
    after = apps.begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}).result()  # the fault is spent

    assert seen_state == "InProgress"
    assert (error.status_code, error.error.code) == (409, IN_PROGRESS)
    assert after.tags == {"a": "b"} and after.provisioning_state == "Succeeded"
    assert running.sandbox.faults.faults[0].hits == 2


def test_a_busy_fault_leaves_other_apps_alone(start_sandbox) -> None:
    running = start_sandbox(faults=("busy,route=maia-runner-staging,times=5",))

    after = client(running).container_apps.begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}).result()

    assert after.provisioning_state == "Succeeded"


def test_a_busy_fault_with_a_duration_ends_by_itself(start_sandbox) -> None:
    running = start_sandbox(faults=("busy,route=/containerApps/maia-runner$,ms=1",))
    apps = client(running).container_apps
    first = apps.get("rg-runner", "maia-runner").provisioning_state
    fault = running.sandbox.faults.faults[0]
    fault.first_hit_at -= 1.0  # a second later, without a test that sleeps

    after = apps.begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}).result()

    assert first == "InProgress"
    assert after.provisioning_state == "Succeeded"


# -- what az sends back unchanged is no change -----------------------------------------------------
OPTIONAL_CONTAINER_KEYS = ("command", "args", "probes", "volumeMounts", "resources")
ENV = st.lists(
    st.tuples(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True),
        st.one_of(st.text(max_size=5).map(lambda v: ("value", v)), st.just(("secretRef", "api-key"))),
    ),
    max_size=4,
    unique_by=lambda t: t[0],
)


def az_echo(template: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    """The template as the az CLI sends it back: explicit nulls for the unset optional properties,
    `"value": ""` beside a secretRef, `"secretRef": null` beside a value."""
    echo = copy.deepcopy(template)
    for key in ("initContainers", "volumes", "serviceBinds", "revisionSuffix", "terminationGracePeriodSeconds"):
        if key not in echo and draw(st.booleans()):
            echo[key] = None
    for container in echo["containers"]:
        for key in OPTIONAL_CONTAINER_KEYS:
            if key not in container and draw(st.booleans()):
                container[key] = None
        for var in container.get("env", []):
            if "secretRef" in var:
                var["value"] = draw(st.sampled_from(["", None]))
            elif draw(st.booleans()):
                var["secretRef"] = None
    scale = echo.setdefault("scale", {"minReplicas": 0, "maxReplicas": 2})
    if draw(st.booleans()):
        scale["rules"] = None
    return echo


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=ENV, data=st.data())
def test_a_rerun_of_the_same_update_makes_no_new_revision(demo, env: list[tuple[str, tuple[str, str]]], data) -> None:
    apps = client(demo).container_apps
    name = f"web-{next(APP_NUMBERS)}"
    template = {
        "containers": [
            {"name": "web", "image": "nginx:1.27", "env": [{"name": n, kind: v} for n, (kind, v) in env]},
        ],
        "scale": {"minReplicas": 0, "maxReplicas": 2},
    }
    body = new_app(demo)
    body["properties"]["template"] = template
    apps.begin_create_or_update("rg-runner", name, body).result()
    stored = copy.deepcopy(held(demo, name))

    apps.begin_update("rg-runner", name, {"properties": {"template": az_echo(template, data.draw)}}).result()

    assert len(revisions(demo, name)) == 1
    after = held(demo, name)
    assert after["properties"]["template"] == stored["properties"]["template"]  # nulls mean absent
    assert after["properties"]["latestRevisionName"] == stored["properties"]["latestRevisionName"]


def test_a_real_change_still_makes_a_revision_after_az_style_nulls(demo) -> None:
    apps = client(demo).container_apps
    containers = containers_with(demo, "NEW", "1")
    for container in containers:
        container["probes"] = None
        for var in container.get("env", []):
            var.setdefault("secretRef", None)

    after = apps.begin_update("rg-runner", "maia-runner", {"properties": {"template": {"containers": containers}}})

    assert len(revisions(demo)) == 2
    env = held(demo)["properties"]["template"]["containers"][0]["env"]
    assert {"name": "NEW", "value": "1"} in env
    assert all(v is not None for var in env for v in var.values())
    assert after.result().provisioning_state == "Succeeded"


# -- identities the configuration names ------------------------------------------------------------
def new_identity(running: RunningSandbox, name: str) -> str:
    msi = ManagedServiceIdentityClient(running.credential(), running.prod, **running.client_kwargs())
    return str(msi.user_assigned_identities.create_or_update("rg-runner", name, {"location": "westeurope"}).id)


def registry(identity: str) -> dict[str, Any]:
    return {"properties": {"configuration": {"registries": [{"server": "maia.azurecr.io", "identity": identity}]}}}


def vault_secret(identity: str) -> dict[str, Any]:
    return {
        "properties": {
            "configuration": {
                "secrets": [
                    {"name": "agent-token", "value": "v"},
                    {"name": "kv", "keyVaultUrl": "https://kv.vault.azure.net/secrets/s", "identity": identity},
                ]
            }
        }
    }


@pytest.mark.parametrize("named_by", [registry, vault_secret], ids=["registry", "key-vault-secret"])
def test_an_identity_the_app_does_not_hold_is_refused_by_name(demo, named_by: Any) -> None:
    legacy = legacy_identity(demo)["id"]
    before = copy.deepcopy(held(demo))

    error = refused(lambda: client(demo).container_apps.begin_update("rg-runner", "maia-runner", named_by(legacy)))

    assert (error.status_code, error.error.code) == (400, "InvalidParameterValueInContainerTemplate")
    assert legacy in error.error.message
    assert held(demo) == before


@pytest.mark.parametrize("named_by", [registry, vault_secret], ids=["registry", "key-vault-secret"])
def test_an_identity_the_app_holds_may_be_named_and_then_not_unlinked(demo, named_by: Any) -> None:
    apps = client(demo).container_apps
    legacy = legacy_identity(demo)["id"]
    linked = {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {legacy: {}}}}
    apps.begin_update("rg-runner", "maia-runner", {**linked, **named_by(legacy)}).result()
    before = copy.deepcopy(held(demo))

    unlink_patch = refused(
        lambda: apps.begin_update("rg-runner", "maia-runner", {"identity": {"type": "SystemAssigned"}})
    )
    other = new_identity(demo, "id-other")
    unlink_by_null = refused(
        lambda: apps.begin_update(
            "rg-runner",
            "maia-runner",
            {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {legacy: None, other: {}}}},
        )
    )

    for error in (unlink_patch, unlink_by_null):
        assert (error.status_code, error.error.code) == (400, "InvalidParameterValueInContainerTemplate")
        assert legacy in error.error.message
    assert held(demo) == before


def test_a_put_that_drops_an_identity_its_registry_names_is_refused(demo) -> None:
    apps = client(demo).container_apps
    legacy = legacy_identity(demo)["id"]
    body = new_app(demo, identity={"type": "UserAssigned", "userAssignedIdentities": {legacy: {}}})
    body["properties"]["configuration"]["registries"] = [{"server": "maia.azurecr.io", "identity": legacy}]
    apps.begin_create_or_update("rg-runner", "web", body).result()

    error = refused(lambda: apps.begin_create_or_update("rg-runner", "web", {**body, "identity": {"type": "None"}}))

    assert (error.status_code, error.error.code) == (400, "InvalidParameterValueInContainerTemplate")
    assert held(demo, "web")["identity"]["userAssignedIdentities"]


def test_system_names_the_system_assigned_identity_which_must_exist(demo) -> None:
    apps = client(demo).container_apps
    ok = apps.begin_update("rg-runner", "maia-runner", registry("system")).result()  # maia-runner has one
    staging = refused(lambda: apps.begin_update("rg-runner", "maia-runner-staging", registry("system")))

    assert ok.configuration.registries[0].identity == "system"
    assert (staging.status_code, staging.error.code) == (400, "InvalidParameterValueInContainerTemplate")
    assert "system" in staging.error.message


# -- DELETE is long-running ------------------------------------------------------------------------
def test_delete_is_202_with_an_operation_the_sdk_polls_to_the_end(start_sandbox) -> None:
    running = start_sandbox(lro_polls=2)
    apps = client(running).container_apps
    system = held(running)["identity"]["principalId"]
    seen = Recorder()

    poller = apps.begin_delete("rg-runner", "maia-runner", raw_response_hook=seen)
    state = apps.get("rg-runner", "maia-runner").provisioning_state
    poller.result()

    method, _, status, headers = seen.responses[0]
    assert (method, status) == ("DELETE", 202)
    assert "/containerappOperationStatuses/" in headers["Azure-AsyncOperation"]
    assert "/containerappOperationResults/" in headers["Location"]
    assert state == "Deleting"
    assert statuses(seen)[-1] == "Succeeded"
    assert running.store.get(app_id(running)) is None
    assert running.store.principal(system) is None
    assert [a.name for a in apps.list_by_resource_group("rg-runner")] == ["maia-runner-staging"]


def test_a_failed_delete_leaves_the_app_in_state_failed(start_sandbox) -> None:
    running = start_sandbox(faults=("lro-fail,method=DELETE,times=1",), lro_polls=1)
    apps = client(running).container_apps

    error = refused(lambda: apps.begin_delete("rg-runner", "maia-runner").result())

    assert error.error.code == "ContainerAppOperationFailed"
    assert apps.get("rg-runner", "maia-runner").provisioning_state == "Failed"


async def test_delete_through_the_async_sdk(demo) -> None:
    from azure.mgmt.appcontainers.aio import ContainerAppsAPIClient

    async with (
        demo.async_credential() as credential,
        ContainerAppsAPIClient(credential, demo.prod, **demo.client_kwargs()) as aclient,
    ):
        await (await aclient.container_apps.begin_delete("rg-runner", "maia-runner-staging")).result()

    assert demo.store.get(app_id(demo, "maia-runner-staging")) is None


# -- linking an identity needs assign/action on it ---------------------------------------------------
@pytest.mark.parametrize("how", ["PATCH", "PUT"])
def test_linking_without_assign_action_is_linked_authorization_failed(start_sandbox, how: str) -> None:
    running = start_sandbox(caller_role="Container Apps Contributor")  # writes apps, assigns no identity
    apps = client(running).container_apps
    legacy = legacy_identity(running)["id"]
    before = copy.deepcopy(held(running))
    link = {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {legacy: {}}}

    if how == "PATCH":
        error = refused(lambda: apps.begin_update("rg-runner", "maia-runner", {"identity": link}))
    else:
        error = refused(lambda: apps.begin_create_or_update("rg-runner", "web", new_app(running, identity=link)))

    assert error.status_code == 403
    assert error.error.code == "LinkedAuthorizationFailed"
    message = error.error.message
    assert "Microsoft.App/containerApps/write" in message
    assert ASSIGN in message and legacy in message
    assert held(running) == before
    assert running.store.get(app_id(running, "web")) is None


def test_the_same_caller_may_still_write_what_links_nothing(start_sandbox) -> None:
    running = start_sandbox(caller_role="Container Apps Contributor")

    after = client(running).container_apps.begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}).result()

    assert after.tags == {"a": "b"}


# -- resource ids are one id whatever their case -----------------------------------------------------
SPELLINGS = st.sampled_from([str.lower, str.upper, str.swapcase, lambda s: s])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spell_link=SPELLINGS, spell_unlink=SPELLINGS)
def test_an_unlink_in_another_case_unlinks_that_identity(start_sandbox, spell_link: Any, spell_unlink: Any) -> None:
    """ARM ids are case-insensitive: a merge-patch null under the identity's id in any spelling
    unlinks it (it was taken as a new key, and the identity stayed linked)."""
    running = start_sandbox(lro_polls=0)
    apps = client(running).container_apps
    legacy = legacy_identity(running)["id"]
    other = new_identity(running, "id-other")
    apps.begin_update(
        "rg-runner",
        "maia-runner",
        {
            "identity": {
                "type": "SystemAssigned,UserAssigned",
                "userAssignedIdentities": {spell_link(legacy): {}, other: {}},
            }
        },
    ).result()

    after = apps.begin_update(
        "rg-runner", "maia-runner", {"identity": {"userAssignedIdentities": {spell_unlink(legacy): None}}}
    ).result()

    assert [i.lower() for i in after.identity.user_assigned_identities] == [other.lower()]
    assert [i.lower() for i in held(running)["identity"]["userAssignedIdentities"]] == [other.lower()]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spell_name=SPELLINGS, spell_unlink=SPELLINGS, named_by=st.sampled_from([registry, vault_secret]))
def test_an_identity_named_in_any_case_may_not_be_unlinked_in_any_case(
    start_sandbox, spell_name: Any, spell_unlink: Any, named_by: Any
) -> None:
    running = start_sandbox(lro_polls=0)
    apps = client(running).container_apps
    legacy = legacy_identity(running)["id"]
    other = new_identity(running, "id-other")
    linked = {
        "identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {legacy: {}, other: {}}}
    }
    apps.begin_update("rg-runner", "maia-runner", {**linked, **named_by(spell_name(legacy))}).result()
    before = copy.deepcopy(held(running))

    error = refused(
        lambda: apps.begin_update(
            "rg-runner", "maia-runner", {"identity": {"userAssignedIdentities": {spell_unlink(legacy): None}}}
        )
    )

    assert (error.status_code, error.error.code) == (400, "InvalidParameterValueInContainerTemplate")
    assert legacy.lower() in error.error.message.lower()
    assert held(running) == before


# -- an operation nobody polls still ends ------------------------------------------------------------
def age_operations(running: RunningSandbox, seconds: float) -> None:
    """Make every pending operation `seconds` older, as if that time had passed (no test sleeps)."""

    def shift() -> None:
        for op in running.store.operations.values():
            started = datetime.fromisoformat(op.start_time) - timedelta(seconds=seconds)
            op.start_time = started.isoformat().replace("+00:00", "Z")

    running.thread.call(shift)


@pytest.mark.parametrize("how", ["PUT", "PATCH", "DELETE"])
def test_an_operation_nobody_polls_ends_by_itself_as_azure_ends_it(start_sandbox, how: str) -> None:
    """`az containerapp identity assign` and `secret set` PUT the app and, on a 200, never poll: Azure
    ends the update anyway, and the next command a little later finds the app free. However many polls
    the sandbox would want, an operation older than its `lro_seconds` has ended."""
    running = start_sandbox(lro_polls=1000)
    apps = client(running).container_apps
    apps.begin_create_or_update("rg-runner", "web", new_app(running), polling=False)
    age_operations(running, running.sandbox.config.lro_seconds + 1)
    start = {
        "PUT": lambda: apps.begin_create_or_update("rg-runner", "web", new_app(running, tags={"n": "1"}), polling=False),
        "PATCH": lambda: apps.begin_update("rg-runner", "web", {"tags": {"n": "1"}}, polling=False),
        "DELETE": lambda: apps.begin_delete("rg-runner", "web", polling=False),
    }[how]
    start()
    age_operations(running, running.sandbox.config.lro_seconds + 1)

    listed = {a.name: a.provisioning_state for a in apps.list_by_resource_group("rg-runner")}

    if how == "DELETE":
        assert "web" not in listed
        assert held_or_none(running, "web") is None
    else:
        assert listed["web"] == "Succeeded"
        assert apps.get("rg-runner", "web").tags["n"] == "1"
        assert apps.begin_update("rg-runner", "web", {"tags": {"m": "2"}}).status() != "Failed"


def test_an_operation_younger_than_lro_seconds_still_holds_the_app(start_sandbox) -> None:
    running = start_sandbox(lro_polls=1000)
    apps = client(running).container_apps
    apps.begin_create_or_update("rg-runner", "web", new_app(running), polling=False)

    error = refused(lambda: apps.begin_update("rg-runner", "web", {"tags": {"n": "1"}}))

    assert (error.status_code, error.error.code) == (409, IN_PROGRESS)
    assert apps.get("rg-runner", "web").provisioning_state == "InProgress"


def held_or_none(running: RunningSandbox, name: str) -> dict[str, Any] | None:
    return running.store.get(app_id(running, name))


# -- what the service fills in, clients read back ----------------------------------------------------
@pytest.mark.parametrize("external", [True, False])
def test_ingress_gets_its_fqdn_from_the_environment_as_az_reads_it(demo, external: bool) -> None:
    """`az containerapp ingress enable` and `create --ingress` print `configuration.ingress.fqdn` from the
    PUT's answer (a KeyError in az when it is missing): `<app>.<environment's defaultDomain>`, with
    `.internal` for internal ingress; what a client writes there is not kept (read-only in the spec)."""
    apps = client(demo).container_apps
    domain = client(demo).managed_environments.get("rg-runner", "cae-maia").default_domain
    body = new_app(demo)
    body["properties"]["configuration"]["ingress"] = {"external": external, "targetPort": 8080, "fqdn": "x.example"}
    expected = f"web.{domain}" if external else f"web.internal.{domain}"
    ingress = {"external": external, "targetPort": 80}

    first_answer = apps.begin_create_or_update("rg-runner", "web", body, polling=False).result()
    created = settled(apps, "web")
    patched = apps.begin_update("rg-runner", "maia-runner", {"properties": {"configuration": {"ingress": ingress}}})

    assert first_answer.configuration.ingress.fqdn == expected
    assert created.configuration.ingress.fqdn == expected
    assert patched.result().configuration.ingress.fqdn == expected.replace("web.", "maia-runner.", 1)
    assert created.latest_revision_fqdn.endswith("." + domain)
