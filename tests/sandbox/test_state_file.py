"""The --state file across restarts and processes: long-running operations (and what they finish
into) survive a restart, so no app is left InProgress for good; one sandbox holds a state file at
a time; and a sandbox killed in the middle of a save leaves no temporary file and no broken state.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.appcontainers import ContainerAppsAPIClient

from tests.conftest import FOREIGN_CREDENTIAL_VARS, RunningSandbox
from tests.sandbox.test_persistence_and_cli import first_line, serve_command

APP = "/resourceGroups/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
SECRET = "sandbox-agent-token-value"


def apps(running: RunningSandbox) -> Any:
    return ContainerAppsAPIClient(running.credential(), running.prod, **running.client_kwargs()).container_apps


def env_change(running: RunningSandbox, value: str) -> dict[str, Any]:
    app = running.store.get(f"/subscriptions/{running.prod}{APP}")
    assert app is not None
    containers = copy.deepcopy(app["properties"]["template"]["containers"])
    containers[0]["env"].append({"name": "AZURE_CLIENT_ID", "value": value})
    return {
        "properties": {
            "template": {"containers": containers},
            "configuration": {"secrets": [{"name": "agent-token", "value": "rotated"}]},
        }
    }


def status_url(poller: Any) -> str:
    """The Azure-AsyncOperation URL the write answered with (the SDK's own poller keeps it)."""
    return str(poller.polling_method()._initial_response.http_response.headers["Azure-AsyncOperation"])


def poll(running: RunningSandbox, url: str) -> str:
    token = running.credential().get_token("https://management.azure.com/.default").token
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=running.info.ca_bundle, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


@pytest.mark.parametrize("outcome", ["Succeeded", "Failed"])
def test_an_operation_in_progress_survives_a_restart(start_sandbox, tmp_path: Path, outcome: str) -> None:
    state = tmp_path / "state.json"
    faults = ("lro-fail,times=1",) if outcome == "Failed" else ()
    first = start_sandbox(state_file=state, lro_polls=3, faults=faults)
    before = apps(first).get("rg-runner", "maia-runner")
    poller = apps(first).begin_update("rg-runner", "maia-runner", env_change(first, "abc"), polling=False)
    url = status_url(poller)
    first.thread.stop()  # mid-operation

    again = start_sandbox(state_file=state, lro_polls=3)
    url = url.replace(first.info.arm_endpoint, again.info.arm_endpoint)
    read_back = apps(again).get("rg-runner", "maia-runner").provisioning_state
    answers = [poll(again, url) for _ in range(4)]
    after = apps(again).get("rg-runner", "maia-runner")
    secrets = {s.name: s.value for s in apps(again).list_secrets("rg-runner", "maia-runner").value}

    assert read_back == "InProgress"
    assert answers[-1] == outcome and "InProgress" not in answers[answers.index(outcome) :]
    assert after.provisioning_state == outcome
    if outcome == "Succeeded":
        assert after.latest_revision_name != before.latest_revision_name
        assert after.latest_ready_revision_name == after.latest_revision_name
        assert secrets == {"agent-token": "rotated"}
    else:  # what the failed operation was to restore came back with it
        assert after.latest_revision_name == before.latest_revision_name
        assert "AZURE_CLIENT_ID" not in {e.name for e in after.template.containers[0].env}
        assert secrets == {"agent-token": SECRET}


def test_a_delete_in_progress_finishes_after_a_restart(start_sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = start_sandbox(state_file=state, lro_polls=3)
    apps(first).begin_delete("rg-runner", "maia-runner", polling=False)
    first.thread.stop()

    again = start_sandbox(state_file=state, lro_polls=3)
    states = [apps(again).get("rg-runner", "maia-runner").provisioning_state for _ in range(3)]

    assert states == ["Deleting"] * 3
    with pytest.raises(ResourceNotFoundError):
        apps(again).get("rg-runner", "maia-runner")  # the next read finds the delete done
    assert [a.name for a in apps(again).list_by_resource_group("rg-runner")] == ["maia-runner-staging"]


def test_an_app_saved_in_progress_without_its_operation_is_not_stuck(start_sandbox, tmp_path: Path) -> None:
    """A state file from a sandbox that kept no operations: the app must not wait forever."""
    state = tmp_path / "state.json"
    first = start_sandbox(state_file=state, lro_polls=50)
    apps(first).begin_update("rg-runner", "maia-runner", {"tags": {"a": "b"}}, polling=False)
    first.thread.stop()
    saved = json.loads(state.read_text())
    saved.pop("operations", None)
    state.write_text(json.dumps(saved))

    again = start_sandbox(state_file=state)
    app = apps(again).get("rg-runner", "maia-runner")
    updated = apps(again).begin_update("rg-runner", "maia-runner", {"tags": {"c": "d"}}).result()

    assert app.provisioning_state == "Succeeded"
    assert updated.tags == {"a": "b", "c": "d"}


# -- one writer ---------------------------------------------------------------------------------
def start_serving(state: Path, cwd: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_CREDENTIAL_VARS}
    process = subprocess.Popen(
        serve_command("--port", "0", "--retry-after", "0", "--state", str(state), *flags),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    return process, json.loads(first_line(process))


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


def test_a_second_sandbox_on_the_same_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first, _ = start_serving(state, tmp_path)
    try:
        second = subprocess.run(
            serve_command("--port", "0", "--state", str(state)),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        saved_while_refused = state.read_bytes()
    finally:
        stop(first)
    third, _ = start_serving(state, tmp_path)  # the first let go of it when it stopped
    stop(third)

    assert second.returncode == 2
    assert second.stdout == ""
    assert "in use by process" in second.stderr and str(first.pid) in second.stderr
    assert "Traceback" not in second.stderr
    assert json.loads(saved_while_refused)["format"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_two_sandboxes_never_lose_each_others_writes(tmp_path: Path) -> None:
    """The one that starts second is refused, so every write the first acknowledged is on disk."""
    state = tmp_path / "state.json"
    first, info = start_serving(state, tmp_path)
    try:
        token = requests.get(
            info["identity_endpoint"],
            params={"resource": "https://management.azure.com/", "api-version": "2019-08-01"},
            headers={"X-IDENTITY-HEADER": info["identity_header"]},
            verify=info["ca_bundle"],
            timeout=10,
        ).json()["access_token"]
        group = f"{info['arm_endpoint']}/subscriptions/{info['subscription_ids'][0]}/resourceGroups/rg-runner"
        made = requests.put(
            f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-first?api-version=2023-01-31",
            json={"location": "westeurope"},
            headers={"Authorization": f"Bearer {token}"},
            verify=info["ca_bundle"],
            timeout=10,
        )
        assert made.status_code == 201
        second = subprocess.run(
            serve_command("--port", "0", "--state", str(state)), capture_output=True, text=True, timeout=60
        )
    finally:
        stop(first)

    assert second.returncode == 2
    assert made.json()["id"].lower() in json.loads(state.read_text())["resources"]


# -- a kill in the middle of a save -------------------------------------------------------------
def files_open_in(pid: int, folder: Path) -> list[str]:
    """What the process has open in `folder` right now (an unnamed O_TMPFILE shows as '#N (deleted)')."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder) + "/") and not target.endswith(".lock"):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="watching a save needs /proc")
def test_a_kill_during_a_save_leaves_no_temporary_file_and_a_whole_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    process, info = start_serving(state, tmp_path, "--scenario", "large")  # a big file: a slow save
    token = requests.get(
        info["identity_endpoint"],
        params={"resource": "https://management.azure.com/", "api-version": "2019-08-01"},
        headers={"X-IDENTITY-HEADER": info["identity_header"]},
        verify=info["ca_bundle"],
        timeout=10,
    ).json()["access_token"]
    group = f"{info['arm_endpoint']}/subscriptions/{info['subscription_ids'][0]}/resourceGroups/rg-runner"
    stop_writing = threading.Event()

    def write_forever() -> None:
        n = 0
        while not stop_writing.is_set():
            n += 1
            try:
                requests.put(
                    f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{n}?api-version=2023-01-31",
                    json={"location": "westeurope"},
                    headers={"Authorization": f"Bearer {token}"},
                    verify=info["ca_bundle"],
                    timeout=10,
                )
            except requests.RequestException:
                return

    writer = threading.Thread(target=write_forever, daemon=True)
    writer.start()
    try:
        caught_writing = False
        for _ in range(200_000):
            if files_open_in(process.pid, tmp_path):
                process.send_signal(signal.SIGKILL)
                caught_writing = True
                break
        else:
            process.send_signal(signal.SIGKILL)
    finally:
        stop_writing.set()
        process.communicate(timeout=30)
        writer.join(timeout=30)

    assert caught_writing, "never saw the sandbox saving"
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("state.json", "state.json.lock"))
    assert leftovers == []
    assert json.loads(state.read_text())["format"] == 1  # the old state or the new one, whole
    again, _ = start_serving(state, tmp_path)  # a killed holder's lock does not keep the file
    stop(again)
