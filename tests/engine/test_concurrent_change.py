"""Someone else writes to the app between apply's read and its PATCH. Container Apps have no ETag, so
that cannot be held off; it must be found and said (exit 1 with what changed), never passed over."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.engine.helpers import applier, edit_resource, gateway, ids, runner_plan, snapshot
from wizard.app_write import app_patch, foreign_changes, merge_patch
from wizard.apply import SENDING, Progress
from wizard.journal import read_events
from wizard.model import Identity
from wizard.sandbox.providers.container_apps import new_revision

SUB = "00000000-0000-4000-8000-000000000001"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
OURS = Identity(
    f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ours",
    "id-ours",
    "rg",
    "westeurope",
    "client-ours",
    "principal-ours",
    "tenant",
)
OTHER = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-other"
values = st.sampled_from(["a", "b", "", "info", "8080"])


@st.composite
def apps(draw: Any) -> dict[str, Any]:
    """A container app as a GET returns it, with what a real one may carry."""
    names = draw(st.lists(st.sampled_from(["runner", "log-shipper", "agent"]), unique=True, min_size=1, max_size=3))
    containers = []
    for name in names:
        env = [
            {"name": n, "value": draw(values)} for n in draw(st.lists(st.sampled_from(["A", "B", "AZURE_CLIENT_ID"])))
        ]
        containers.append({"name": name, "image": f"img/{name}:1", "env": env, "resources": {"cpu": 0.5}})
    users = {OTHER: {"principalId": "p-other", "clientId": "c-other"}} if draw(st.booleans()) else {}
    kind = draw(st.sampled_from(["None", "SystemAssigned"]))
    identity: dict[str, Any] = {"type": kind}
    if users:
        identity = {
            "type": "UserAssigned" if kind == "None" else "SystemAssigned,UserAssigned",
            "userAssignedIdentities": users,
        }
    return {
        "id": f"{RG}/providers/Microsoft.App/containerApps/app",
        "name": "app",
        "tags": {"team": "runners"},
        "identity": identity,
        "properties": {
            "provisioningState": "Succeeded",
            "latestRevisionName": "app--1",
            "environmentId": f"{RG}/providers/Microsoft.App/managedEnvironments/env",
            "configuration": {
                "activeRevisionsMode": "Single",
                "ingress": {"external": False, "targetPort": 8080},
                "secrets": [{"name": "agent-token"}],
            },
            "template": {"containers": containers, "scale": {"minReplicas": 1, "maxReplicas": 2}},
        },
    }


# Someone else's edits: (what the report must name, the edit)
def _tag(app: dict[str, Any]) -> None:
    app["tags"]["owner"] = "someone"


def _ingress(app: dict[str, Any]) -> None:
    app["properties"]["configuration"].setdefault("ingress", {"external": False})["targetPort"] = 9090


def _secret(app: dict[str, Any]) -> None:
    app["properties"]["configuration"]["secrets"].append({"name": "db-url"})


def _scale(app: dict[str, Any]) -> None:
    app["properties"]["template"]["scale"]["maxReplicas"] = 10


def _mode(app: dict[str, Any]) -> None:
    app["properties"]["configuration"]["activeRevisionsMode"] = "Multiple"


def _image(app: dict[str, Any]) -> None:
    app["properties"]["template"]["containers"][-1]["image"] = "img/other:2"


def _their_var(app: dict[str, Any]) -> None:
    app["properties"]["template"]["containers"][-1].setdefault("env", []).append({"name": "NEW_ONE", "value": "x"})


def _our_var(app: dict[str, Any]) -> None:
    for var in app["properties"]["template"]["containers"][0]["env"]:
        if var["name"] == "AZURE_CLIENT_ID":
            var["value"] = "changed-by-someone"


def _container(app: dict[str, Any]) -> None:
    app["properties"]["template"]["containers"].append({"name": "added", "image": "img/added:1"})


def _identity(app: dict[str, Any]) -> None:
    identity = app["identity"]
    identity["type"] = "SystemAssigned,UserAssigned" if "System" in identity["type"] else "UserAssigned"
    identity.setdefault("userAssignedIdentities", {})[f"{RG}/providers/{OTHER.split('/providers/')[1]}-2"] = {}


EDITS = {
    "tag owner added": _tag,
    "configuration.ingress changed": _ingress,
    "secret db-url added": _secret,
    "template.scale changed": _scale,
    "configuration.activeRevisionsMode changed": _mode,
    "image changed": _image,
    "variable NEW_ONE added": _their_var,
    "variable AZURE_CLIENT_ID changed": _our_var,
    "container added added": _container,
    "id-other-2 added": _identity,
}


def _as_azure_answers(app: dict[str, Any]) -> dict[str, Any]:
    """What the operation's result shows besides: new read-only values and ids filled in."""
    done = copy.deepcopy(app)
    done["properties"]["provisioningState"] = "Succeeded"
    done["properties"]["latestRevisionName"] = "app--2"
    done["properties"]["latestRevisionFqdn"] = "app--2.example"
    done["systemData"] = {"lastModifiedAt": "now"}
    for entry in (done.get("identity") or {}).get("userAssignedIdentities", {}).values():
        entry.setdefault("principalId", "filled-in")
    for container in done["properties"]["template"]["containers"]:
        for var in container.get("env") or []:
            var.setdefault("secretRef", None)  # Azure's explicit nulls
    return done


@given(app=apps(), edits=st.lists(st.sampled_from(sorted(EDITS)), unique=True, max_size=4))
def test_every_write_someone_else_made_is_reported_and_nothing_else(app: dict[str, Any], edits: list[str]) -> None:
    body, _ = app_patch(app, OURS, app["properties"]["template"]["containers"][0]["name"], "AZURE_CLIENT_ID")
    after = merge_patch(app, body)
    for label in sorted(edits, key=lambda label: label == "container added added"):  # edit the old ones first
        EDITS[label](after)
    found = foreign_changes(app, body, _as_azure_answers(after))
    for label in edits:
        assert any(label in change for change in found), (label, found)
    if not edits:
        assert found == []


# -- through the sandbox: a write lands between apply's read and its PATCH ----------------------------------
def _when_sending(running: Any, change: Any) -> Any:
    """A report callback that makes someone else's write the moment apply is about to send its PATCH."""
    done: list[bool] = []

    def report(p: Progress) -> None:
        if p.message == SENDING and not done:
            done.append(True)
            change()

    return report


async def test_a_configuration_change_in_between_is_reported(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)

    def change() -> None:
        edit_resource(demo, i["app"], _ingress)

    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path, report=_when_sending(demo, change)).apply(runner_plan(demo))
    assert outcome.status == "applied", outcome.error
    assert not outcome.ok
    assert outcome.conflicts == ["configuration.ingress added"]  # the demo app had no ingress
    problem = outcome.checks[0]
    assert problem.status == "problem" and "configuration.ingress added" in problem.detail
    assert snapshot(demo, i["app"])["properties"]["configuration"]["ingress"]["targetPort"] == 9090  # kept
    events = read_events(outcome.journal)  # type: ignore[arg-type]
    assert any(e["event"] == "conflict" and e["changes"] == outcome.conflicts for e in events)


async def test_a_container_change_in_between_that_the_patch_replaced_is_reported(demo: Any, tmp_path: Any) -> None:
    i = ids(demo)

    def change() -> None:
        def edit(app: dict[str, Any]) -> None:
            app["properties"]["template"]["containers"][1]["env"][0]["value"] = "elsewhere"
            new_revision(demo.store, app)

        edit_resource(demo, i["app"], edit)

    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path, report=_when_sending(demo, change)).apply(runner_plan(demo))
    assert outcome.status == "applied", outcome.error
    assert not outcome.ok
    [said] = outcome.conflicts
    assert "was made by someone else" in said and "container log-shipper: variable SHIP_TO changed" in said


async def test_no_one_else_writing_reports_nothing(demo: Any, tmp_path: Any) -> None:
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(runner_plan(demo))
    assert outcome.ok and outcome.conflicts == []
