"""The headless commands as an admin runs them: the console script in a process of its own, the
sandbox in another with 100 ms added to every request and its default long-running operation,
timed from process start to exit, each against its floor measured in the same run.

- apply's floor: a bare `python -c pass`, the sign-in, and the round trips no tool can skip, one
  after another: the preview's reads (all at once), the identity PUT, the role PUTs (at once), the
  read of the app right before its PATCH (required: the app as it is now), the PATCH, the
  operation's status polls (the first at once, as azure-core polls, then each after its
  Retry-After) and the verify's reads (at once).
- plan, verify and apply --dry-run: process start, the sign-in and two round trips (the identity,
  then its role assignments; every other read beside them).
- the documented az CLI sequence for the same job, on the same sandbox (skipped where no az CLI is
  found: set AZ_CLI or put `az` on PATH).
- the import cost: process start to the first HTTP request, and which libraries are loaded by then
  and by exit, with an audit hook in a wrapper that runs the console script itself.

Every run passes `--audience` as a real tenant needs none: without it, a loopback endpoint's
audience is read from its /metadata/endpoints first, one more round trip before the sign-in.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bench_apply import _plan
from benchmarks.common import Figure, connection, median, served_sandbox
from wizard.sandbox.server import SandboxInfo
from wizard.sandbox.state import SandboxConfig

AUDIENCE = "https://management.core.windows.net/"  # what the sandbox's /metadata/endpoints names
DEFAULTS = SandboxConfig()  # the sandbox's default long-running operation: its polls and Retry-After

# Runs the console script as `runner-identity` would run, after an audit hook that notes the time of
# the first outgoing connection and the libraries loaded then and at exit.
HOOKED = r"""
import atexit, json, os, runpy, sys, time
started = float(os.environ["BENCH_STARTED"])
out = {}
def libraries():
    names = {m for m in sys.modules if m.startswith(("azure.", "aiohttp", "requests", "msal", "rich", "textual"))}
    tops = set()
    for name in names:
        parts = name.split(".")
        tops.add(".".join(parts[:3]) if parts[:2] == ["azure", "mgmt"] else ".".join(parts[:2]) if parts[0] == "azure" else parts[0])
    return sorted(tops), len(sys.modules)
def hook(event, args):
    if event == "socket.connect" and "first" not in out:
        out["first"] = time.time() - started
        out["first_libraries"], out["first_modules"] = libraries()
sys.addaudithook(hook)
def report():
    out["exit_libraries"], out["exit_modules"] = libraries()
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump(out, f)
atexit.register(report)
sys.argv = [sys.argv[1], *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def console_script() -> Path:
    """The installed `runner-identity` beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "runner-identity"
    found = beside if beside.exists() else Path(shutil.which("runner-identity") or "")
    if not found.name:
        raise RuntimeError("runner-identity is not installed: pip install -e .")
    return found


def az_cli() -> str | None:
    """The az CLI to compare with: $AZ_CLI, else `az` on PATH; None when there is none."""
    chosen = os.environ.get("AZ_CLI") or shutil.which("az")
    return chosen if chosen and Path(chosen).exists() else None


@dataclass
class Run:
    """One run's measurements, in seconds."""

    bare: float
    round_trip: float
    apply: float
    reads: dict[str, float]
    first_request: float
    first_libraries: list[str]
    exit_libraries: dict[str, list[str]]
    az_steps: list[tuple[str, float]] = field(default_factory=list)
    az_shows: int = 0


def _bare_start(times: int = 5) -> float:
    runs = []
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        runs.append(time.perf_counter() - started)
    return median(runs)


async def _round_trip(info: SandboxInfo, times: int = 5) -> float:
    """A read's round trip as a client sees it (TLS connection kept, token fetched before)."""
    from wizard.azure.gateway import Gateway

    async with Gateway(connection(info)) as gw:
        await gw.signed_in()
        await gw.resource_group(info.subscription_ids[0], "rg-runner")  # the connection is open after it
        runs = []
        for _ in range(times):
            started = time.perf_counter()
            await gw.resource_group(info.subscription_ids[0], "rg-runner")
            runs.append(time.perf_counter() - started)
    return median(runs)


def _flags(info: SandboxInfo) -> list[str]:
    return ["--arm-endpoint", info.arm_endpoint, "--ca-bundle", info.ca_bundle, "--audience", AUDIENCE]


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {done.returncode}: {done.stderr[-2000:]}")
    return took


def _hooked(argv: list[str], env: dict[str, str], work: Path) -> dict[str, Any]:
    out = work / "hook.json"
    env = {**env, "BENCH_OUT": str(out), "BENCH_STARTED": repr(time.time())}
    done = subprocess.run([sys.executable, "-c", HOOKED, *argv], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {done.returncode}: {done.stderr[-2000:]}")
    return dict(json.loads(out.read_text()))


def _az_sequence(az: str, info: SandboxInfo, work: Path, name: str) -> tuple[list[tuple[str, float]], int]:
    """The documented az CLI sequence for the same job, each command timed. Signing az in to the
    sandbox (cloud register, login with its managed identity) is done first and not counted: an
    admin has signed in before."""
    sub = info.subscription_ids[0]
    plan = _plan(sub)
    assert plan.container_app is not None
    env = {
        **os.environ,
        **info.environment(),
        "AZURE_CONFIG_DIR": str(work / "az"),
        "REQUESTS_CA_BUNDLE": info.ca_bundle,
        "AZURE_CORE_COLLECT_TELEMETRY": "no",
        "AZURE_CORE_ONLY_SHOW_ERRORS": "yes",
        "AZURE_CORE_NO_COLOR": "yes",
    }
    cloud = {
        "endpoints": {
            "resourceManager": info.arm_endpoint,
            "activeDirectory": "https://login.microsoftonline.com",
            "activeDirectoryResourceId": AUDIENCE,
        }
    }

    def az_run(*args: str) -> str:
        done = subprocess.run([az, *args], env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"az {' '.join(args[:3])} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    az_run("cloud", "register", "--name", "RunnerIdentitySandbox", "--cloud-config", json.dumps(cloud), "-o", "none")
    az_run("cloud", "set", "--name", "RunnerIdentitySandbox", "-o", "none")
    az_run("login", "--identity", "-o", "none")
    az_run("account", "set", "--subscription", sub)
    rg = plan.identity.resource_group
    app_rg, app = plan.container_app.id.split("/")[4], plan.container_app.id.rsplit("/", 1)[-1]
    identity_id = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
    steps: list[tuple[str, float]] = []

    def step(label: str, *args: str) -> str:
        started = time.perf_counter()
        out = az_run(*args)
        steps.append((label, time.perf_counter() - started))
        return out

    client_id, principal_id = step(
        "az identity create",
        "identity",
        "create",
        "-g",
        rg,
        "-n",
        name,
        "--query",
        "[clientId,principalId]",
        "-o",
        "tsv",
    ).split()
    for request in plan.role_assignments:
        step(
            "az role assignment create",
            "role", "assignment", "create", "--assignee-object-id", principal_id,
            "--assignee-principal-type", "ServicePrincipal", "--role", request.role,
            "--scope", plan.scope_of(request), "-o", "none",
        )  # fmt: skip
    step("az containerapp identity assign", "containerapp", "identity", "assign", "-g", app_rg, "-n", app,
         "--user-assigned", identity_id, "-o", "none")  # fmt: skip
    # az sends the identity change as a PUT and does not wait for the operation it starts; the update
    # that follows is refused (409 ContainerAppOperationInProgress) until it ends, so the admin waits.
    shows = 0
    started = time.perf_counter()
    while True:
        shows += 1
        state = az_run("containerapp", "show", "-g", app_rg, "-n", app, "--query", "properties.provisioningState",
                       "-o", "tsv").strip()  # fmt: skip
        if state.lower() not in ("inprogress", "updating", "provisioning") or shows > 30:
            break
    steps.append(("az containerapp show, until the operation ends", time.perf_counter() - started))
    step("az containerapp update --set-env-vars", "containerapp", "update", "-g", app_rg, "-n", app,
         "--container-name", plan.container_app.container or "", "--set-env-vars",
         f"{plan.container_app.env_var}={client_id}", "-o", "none")  # fmt: skip
    return steps, shows


def _one(latency_ms: int, az: str | None) -> Run:
    with (
        served_sandbox("--latency-ms", str(latency_ms), retry_after=None) as info,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Path(tmp)
        env = {**os.environ, **info.environment()}
        plan = _plan(info.subscription_ids[0])
        plan_file = work / "plan.toml"
        plan.save(plan_file)
        script = str(console_script())
        flags = [*_flags(info), "--journal-dir", str(work / "journals")]
        bare = _bare_start()
        round_trip = asyncio.run(_round_trip(info))
        applied = _timed([script, "apply", str(plan_file), "--yes", *flags], env)
        # The identity now exists: each command reads it, then its role assignments.
        app = plan.container_app
        assert app is not None
        roles = [f"--role={r.role}@{plan.scope_of(r)}" for r in plan.role_assignments]
        plan_flags = ["--subscription", plan.subscription, "--resource-group", plan.identity.resource_group]
        plan_flags += ["--identity", plan.identity.name, *roles, "--container-app", app.id]
        plan_flags += ["--container", app.container or "", "--out", str(work / "again.toml")]
        reads = {
            "plan": _timed([script, "plan", *plan_flags, *_flags(info)], env),
            "verify": _timed([script, "verify", str(plan_file), *_flags(info)], env),
            "apply --dry-run": _timed([script, "apply", str(plan_file), "--dry-run", *flags], env),
        }
        dry = _hooked([script, "apply", str(plan_file), "--dry-run", *flags], env, work)
        other = plan_file.with_name("other.toml")
        plan_other = _plan(info.subscription_ids[0])
        plan_other.identity.name = "id-bench-hooked"
        plan_other.save(other)
        full = _hooked([script, "apply", str(other), "--yes", *flags], env, work)
        run = Run(
            bare=bare,
            round_trip=round_trip,
            apply=applied,
            reads=reads,
            first_request=float(dry["first"]),
            first_libraries=list(dry["first_libraries"]),
            exit_libraries={"apply --dry-run": list(dry["exit_libraries"]), "apply": list(full["exit_libraries"])},
        )
        if az is not None:
            run.az_steps, run.az_shows = _az_sequence(az, info, work, "id-bench-az")
        return run


def apply_floor(run: Run) -> float:
    polls = DEFAULTS.lro_polls
    trips = 1 + 1 + 1 + 1 + 1 + 1 + (polls + 1) + 1  # sign-in, preview, identity, roles, app read, PATCH, polls, verify
    return run.bare + trips * run.round_trip + polls * DEFAULTS.retry_after_s


def read_floor(run: Run) -> float:
    return run.bare + 3 * run.round_trip  # sign-in, the identity, its role assignments


def run(runs: int = 5, latency_ms: int = 100, with_az: bool = True) -> list[Figure]:
    az = az_cli() if with_az else None
    results = [_one(latency_ms, az) for _ in range(runs)]
    last = results[-1]
    applies = [r.apply for r in results]
    floors = [apply_floor(r) for r in results]
    ratios = [r.apply / apply_floor(r) for r in results]
    ratio = median(ratios)
    rt = median([r.round_trip for r in results])
    figures = [
        Figure("apply, process start to exit", median(applies), "s", runs=applies),
        Figure(
            "apply's floor",
            median(floors),
            "s",
            runs=floors,
            note=f"`python -c pass` {median([r.bare for r in results]) * 1000:.0f} ms + "
            f"{1 + 1 + 1 + 1 + 1 + 1 + DEFAULTS.lro_polls + 1 + 1} round trips of {rt * 1000:.0f} ms + "
            f"{DEFAULTS.lro_polls} x Retry-After {DEFAULTS.retry_after_s} s",
        ),
        Figure("apply / its floor", ratio, "x", "within 1.25x", ratio <= 1.25, ratios),
    ]
    if az is not None:
        totals = [sum(t for _, t in r.az_steps) for r in results]
        az_ratios = [r.apply / sum(t for _, t in r.az_steps) for r in results]
        steps = "; ".join(
            f"{label} {median([r.az_steps[i][1] for r in results]) * 1000:.0f} ms"
            for i, (label, _) in enumerate(last.az_steps)
        )
        figures.append(Figure("the az CLI sequence, same job", median(totals), "s", runs=totals, note=steps))
        without_wait = [
            r.apply / sum(t for label, t in r.az_steps if not label.startswith("az containerapp show")) for r in results
        ]
        figures.append(
            Figure(
                "apply / the az CLI sequence",
                median(az_ratios),
                "x",
                "0.40 or less",
                median(az_ratios) <= 0.40,
                az_ratios,
                note=f"{median(without_wait):.2f}x against the az commands alone, without the wait for the "
                f"operation ({last.az_shows} `az containerapp show`)",
            )
        )
    else:
        skipped = "left out: no az CLI found (set AZ_CLI or put az on PATH)" if with_az else "left out of --quick"
        figures.append(Figure("apply / the az CLI sequence", float("nan"), "x", "0.40 or less", None, note=skipped))
    for command in ("plan", "verify", "apply --dry-run"):
        times = [r.reads[command] for r in results]
        rates = [r.reads[command] / read_floor(r) for r in results]
        figures.append(
            Figure(
                f"{command}, process start to exit",
                median(times),
                "s",
                "within 1.25x of its floor",
                median(rates) <= 1.25,
                times,
                note=f"{median(rates):.2f}x its floor of {median([read_floor(r) for r in results]) * 1000:.0f} ms "
                "(`python -c pass` + 3 round trips)",
            )
        )
    firsts = [r.first_request for r in results]
    figures.append(
        Figure(
            "process start to the first HTTP request",
            median(firsts),
            "s",
            "under 0.4 s",
            median(firsts) < 0.4,
            firsts,
            note="libraries loaded by then: " + ", ".join(last.first_libraries),
        )
    )
    for command, libraries in last.exit_libraries.items():
        figures.append(Figure(f"libraries `{command}` loads", len(libraries), "", note=", ".join(libraries)))
    return figures


if __name__ == "__main__":
    for figure in run(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        print(f"{figure.name}: {figure.shown()} {figure.note} {figure.runs}")
