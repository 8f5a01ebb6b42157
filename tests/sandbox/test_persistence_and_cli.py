"""A rehearsal saved to --state survives a restart, written atomically after every write; and
`runner-identity sandbox serve` as a script or a terminal runs it: one JSON line, a clean stop, exit 2.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity import DefaultAzureCredential
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from tests.conftest import ARM_SCOPE, FOREIGN_CREDENTIAL_VARS, RunningSandbox

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
INFO_KEYS = {
    "arm_endpoint",
    "ca_bundle",
    "identity_endpoint",
    "identity_header",
    "tenant_id",
    "subscription_ids",
}


# -- --state ------------------------------------------------------------------------------------
def rehearse(running: RunningSandbox) -> dict[str, str]:
    """An identity, a role assignment and a linked app, all through the SDKs."""
    cred, kw, sub = running.credential(), running.client_kwargs(), running.prod
    identity = ManagedServiceIdentityClient(cred, sub, **kw).user_assigned_identities.create_or_update(
        "rg-runner", "id-saved", {"location": "westeurope", "tags": {"saved": "yes"}}
    )
    group = f"/subscriptions/{sub}/resourceGroups/rg-runner"
    assignment = AuthorizationManagementClient(cred, sub, **kw).role_assignments.create(
        group,
        str(uuid.uuid4()),
        {
            "role_definition_id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
            "principal_id": identity.principal_id,
            "principal_type": "ServicePrincipal",
        },
    )
    app = (
        ContainerAppsAPIClient(cred, sub, **kw)
        .container_apps.begin_update(
            "rg-runner",
            "maia-runner",
            {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {identity.id: {}}}},
        )
        .result()
    )
    return {
        "identity": identity.id,
        "principal": identity.principal_id,
        "client": identity.client_id,
        "assignment": assignment.id,
        "app": app.id,
    }


def test_writes_survive_a_restart_with_the_same_state_file(start_sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = start_sandbox(state_file=state)
    made = rehearse(first)
    first.thread.stop()

    again = start_sandbox(state_file=state)
    cred, kw, sub = again.credential(), again.client_kwargs(), again.prod
    identity = ManagedServiceIdentityClient(cred, sub, **kw).user_assigned_identities.get("rg-runner", "id-saved")
    assignment = AuthorizationManagementClient(cred, sub, **kw).role_assignments.get_by_id(made["assignment"])
    app = ContainerAppsAPIClient(cred, sub, **kw).container_apps.get("rg-runner", "maia-runner")
    secrets = ContainerAppsAPIClient(cred, sub, **kw).container_apps.list_secrets("rg-runner", "maia-runner")

    assert (identity.principal_id, identity.client_id) == (made["principal"], made["client"])
    assert identity.tags == {"saved": "yes"}
    assert assignment.principal_id == made["principal"]
    assert made["identity"] in app.identity.user_assigned_identities
    assert app.provisioning_state == "Succeeded"
    assert {s.name: s.value for s in secrets.value} == {"agent-token": "sandbox-agent-token-value"}
    assert again.store.principal(made["principal"]) is not None  # the directory came back too
    assert again.info.tenant_id == first.info.tenant_id


def test_the_state_file_is_written_atomically_after_each_write(start_sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    running = start_sandbox(state_file=state)
    assert json.loads(state.read_text())["format"] == 1  # saved at start: the scenario itself

    client = ManagedServiceIdentityClient(running.credential(), running.prod, **running.client_kwargs())
    made = client.user_assigned_identities.create_or_update("rg-runner", "id-now", {"location": "westeurope"})

    saved = json.loads(state.read_text(encoding="utf-8"))  # saved before the answer, not at the stop
    assert made.id.lower() in saved["resources"]
    assert made.principal_id.lower() in saved["principals"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]  # no temporary file

    client.user_assigned_identities.delete("rg-runner", "id-now")

    saved = json.loads(state.read_text(encoding="utf-8"))
    assert made.id.lower() not in saved["resources"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]


def test_reads_do_not_rewrite_the_state_file(start_sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    running = start_sandbox(state_file=state)
    client = ManagedServiceIdentityClient(running.credential(), running.prod, **running.client_kwargs())
    client.user_assigned_identities.create_or_update("rg-runner", "id-once", {"location": "westeurope"})
    written = state.stat().st_mtime_ns
    os.utime(state, ns=(written - 10**9, written - 10**9))

    client.user_assigned_identities.get("rg-runner", "id-once")
    list(client.user_assigned_identities.list_by_subscription())

    assert state.stat().st_mtime_ns == written - 10**9


def test_a_refused_write_is_not_saved(start_sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    running = start_sandbox(state_file=state)
    before = state.read_bytes()
    client = ManagedServiceIdentityClient(running.credential(), running.prod, **running.client_kwargs())

    with pytest.raises(Exception, match="InvalidResourceName"):
        client.user_assigned_identities.create_or_update("rg-runner", "-bad", {"location": "westeurope"})

    assert state.read_bytes() == before


# -- the serve command --------------------------------------------------------------------------
def serve_command(*flags: str) -> list[str]:
    script = Path(sys.executable).with_name("runner-identity")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "wizard.cli"]
    return [*command, "sandbox", "serve", *flags]


def first_line(process: subprocess.Popen[str], within_s: float = 60) -> str:
    """The process's first stdout line; fails rather than hangs if it never comes."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                return process.stdout.readline()
    pytest.fail("sandbox serve printed nothing")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    for var in FOREIGN_CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    process = subprocess.Popen(
        serve_command("--port", "0", "--retry-after", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        line = first_line(process)
        yield process, json.loads(line)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def test_serve_prints_one_json_line_that_the_sdk_can_use(served, monkeypatch: pytest.MonkeyPatch) -> None:
    process, info = served

    assert set(info) == INFO_KEYS
    assert info["arm_endpoint"].startswith("https://127.0.0.1:")
    assert info["identity_endpoint"] == info["arm_endpoint"] + "/msi/token"
    assert Path(info["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert len(info["subscription_ids"]) == 2
    monkeypatch.setenv("IDENTITY_ENDPOINT", info["identity_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", info["identity_header"])
    credential = DefaultAzureCredential(connection_verify=info["ca_bundle"])
    client = SubscriptionClient(
        credential,
        base_url=info["arm_endpoint"],
        credential_scopes=[ARM_SCOPE],
        connection_verify=info["ca_bundle"],
    )

    subscriptions = [(s.subscription_id, s.tenant_id) for s in client.subscriptions.list()]

    assert subscriptions == [(sub, info["tenant_id"]) for sub in info["subscription_ids"]]

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0
    assert out == ""  # exactly one line was printed, and it was the JSON
    assert "sandbox stopped" in err
    assert "Traceback" not in err
    assert not Path(info["ca_bundle"]).exists()  # the loopback CA goes with the process


def test_serve_stops_cleanly_on_sigint_too(served) -> None:
    process, _ = served

    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0
    assert out == ""
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("flags", "phrase"),
    [
        (["--fault", "418"], "fault '418': the kind must be one of 429, 500, 503, drop, latency, lro-fail"),
        (["--fault", "429,every=0"], "every must be a non-negative number"),
        (["--fault", "latency"], "latency needs ms=N"),
        (["--caller-role", "Supreme Leader"], "Supreme Leader"),
    ],
)
def test_serve_refuses_bad_options_with_exit_2_and_a_message(flags: list[str], phrase: str, tmp_path: Path) -> None:
    done = subprocess.run(
        serve_command("--port", "0", *flags), capture_output=True, text=True, timeout=60, cwd=tmp_path
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("runner-identity sandbox: ")
    assert phrase in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_state_file_it_cannot_read(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"format": 99}')

    done = subprocess.run(
        serve_command("--port", "0", "--state", str(state)), capture_output=True, text=True, timeout=60, cwd=tmp_path
    )

    assert done.returncode == 2
    assert "sandbox state format 99" in done.stderr
    assert state.read_text() == '{"format": 99}'  # left as it was
