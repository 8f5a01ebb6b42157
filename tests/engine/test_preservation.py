"""Nothing on the user's container app is ever lost: a property test over generated apps.

Whatever containers, variables, secretRefs, empty values, probes, mounts and identities an app
has, apply changes exactly two things: it links our identity and sets one variable on one
container. Everything else reads back as it was.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.helpers import applier, gateway, ids, install_app, secrets_of, snapshot
from wizard.plan import AppTarget, IdentitySpec, Plan
from wizard.sandbox.store import Principal

ENV_NAMES = ["AGENT_ID", "ACCOUNT_ID", "AGENT_TOKEN", "HTTP_PROXY", "LOG_LEVEL", "AZURE_CLIENT_ID", "NO_PROXY"]
CONTAINER_NAMES = ["runner", "log-shipper", "agent", "sidecar"]
SECRET_NAMES = ["agent-token", "proxy-pass", "db-url"]
text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)


@st.composite
def container_apps(draw: Any) -> dict[str, Any]:
    secrets = draw(st.lists(st.sampled_from(SECRET_NAMES), unique=True, max_size=3))
    names = draw(st.lists(st.sampled_from(CONTAINER_NAMES), unique=True, min_size=1, max_size=3))
    containers = []
    for name in names:
        env = []
        for var in draw(st.lists(st.sampled_from(ENV_NAMES), unique=True, max_size=6)):
            kind = draw(st.sampled_from(["value", "empty", "secret"] if secrets else ["value", "empty"]))
            if kind == "secret":
                env.append({"name": var, "secretRef": draw(st.sampled_from(secrets))})
            else:
                env.append({"name": var, "value": "" if kind == "empty" else draw(text)})
        container: dict[str, Any] = {
            "name": name,
            "image": f"contoso.azurecr.io/{name}:{draw(st.integers(1, 9))}",
            "env": env,
        }
        if draw(st.booleans()):
            container["probes"] = [{"type": "Liveness", "httpGet": {"path": "/healthz", "port": 8080}}]
        if draw(st.booleans()):
            container["volumeMounts"] = [{"volumeName": "work", "mountPath": f"/mnt/{name}"}]
        if draw(st.booleans()):
            container["resources"] = {"cpu": 0.5, "memory": "1Gi"}
        containers.append(container)
    return {
        "containers": containers,
        "secrets": {s: f"secret-{s}-value" for s in secrets},
        "identity": draw(st.sampled_from(["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"])),
        "mode": draw(st.sampled_from(["Single", "Multiple"])),
        "target": draw(st.sampled_from(names)),
    }


def _install(running: Any, name: str, spec: dict[str, Any]) -> str:
    i = ids(running)
    identity: dict[str, Any] = {"type": spec["identity"]}
    if "SystemAssigned" in spec["identity"]:
        pid = f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}"
        running.thread.call(lambda: running.store.add_principal(Principal(pid, "ServicePrincipal", name)))
        identity.update(principalId=pid, tenantId=running.store.tenant_id)
    if "UserAssigned" in spec["identity"]:
        legacy = snapshot(running, i["legacy_identity"])
        identity["userAssignedIdentities"] = {
            legacy["id"]: {"principalId": legacy["properties"]["principalId"], "clientId": legacy["properties"]["clientId"]}
        }
    return install_app(
        running,
        name,
        spec["containers"],
        identity=identity,
        configuration={
            "activeRevisionsMode": spec["mode"],
            "ingress": {"external": False, "targetPort": 8080, "traffic": [{"latestRevision": True, "weight": 100}]},
        },
        secrets=spec["secrets"],
        template={"volumes": [{"name": "work", "storageType": "EmptyDir"}]},
    )


def _expected_env(env: list[dict[str, Any]], client_id: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(env)
    for var in out:
        if var["name"] == "AZURE_CLIENT_ID":
            var.clear()
            var.update(name="AZURE_CLIENT_ID", value=client_id)
            return out
    return [*out, {"name": "AZURE_CLIENT_ID", "value": client_id}]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=container_apps())
def test_apply_changes_only_the_link_and_one_variable(demo, tmp_path, spec: dict[str, Any]) -> None:
    counter = demo.sandbox.request_count
    app_id = _install(demo, f"prop-app-{counter}", spec)
    before = snapshot(demo, app_id)
    secrets_before = secrets_of(demo, app_id)
    plan = Plan(ids(demo)["sub"], IdentitySpec("rg-runner", "id-prop-runner"), [], AppTarget(app_id, spec["target"]))

    async def run() -> Any:
        async with gateway(demo) as gw:
            return await applier(gw, tmp_path).apply(plan)

    outcome = asyncio.run(run())
    assert outcome.status == "applied", outcome.error
    client_id = outcome.identity.client_id
    after = snapshot(demo, app_id)

    for old, new in zip(
        before["properties"]["template"]["containers"], after["properties"]["template"]["containers"], strict=True
    ):
        if old["name"] == spec["target"]:
            assert new["env"] == _expected_env(old.get("env", []), client_id)
            assert {k: v for k, v in new.items() if k != "env"} == {k: v for k, v in old.items() if k != "env"}
        else:
            assert new == old
    assert {k: v for k, v in after["properties"]["template"].items() if k != "containers"} == {
        k: v for k, v in before["properties"]["template"].items() if k != "containers"
    }
    assert after["properties"]["configuration"] == before["properties"]["configuration"]
    assert after["tags"] == before["tags"]
    assert secrets_of(demo, app_id) == secrets_before
    old_identity, new_identity = before["identity"], after["identity"]
    assert new_identity.get("principalId") == old_identity.get("principalId")  # system-assigned kept (or absent)
    assert set(new_identity["userAssignedIdentities"]) == {
        *old_identity.get("userAssignedIdentities", {}),
        plan.identity_id,
    }
    assert ("SystemAssigned" in new_identity["type"]) == ("SystemAssigned" in old_identity["type"])
