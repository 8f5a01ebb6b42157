"""Apply against its critical path, with every request delayed and a 5-poll long-running operation.

The critical path is the least any tool can do for this job: create the identity, then all role
assignments at once, then one PATCH and its polls and final read, then the reads that verify,
at once. apply also reads the app right before its PATCH; it overlaps that read with the role
assignments so it costs no wait of its own.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import Figure, connection, median, sandbox, served_sandbox
from wizard.apply import Applier
from wizard.azure.gateway import Gateway
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.sandbox.server import SandboxInfo, SandboxThread

# What the documented az CLI sequence sends for the same job (2 roles; an operation that answers
# InProgress 5 times takes 6 status polls, the last one saying Succeeded),
# counted from what each command does; token requests are left out on both sides.
AZ_SEQUENCE = [
    ("az identity create", "GET resource group (for its location), PUT identity", 2),
    ("az role assignment create x2", "per role: GET role definition by name, PUT assignment", 4),
    ("az containerapp identity assign", "GET app, PATCH app, 6 status polls, final GET", 9),
    ("az containerapp update --set-env-vars", "GET app, POST listSecrets, PATCH app, 6 polls, final GET", 10),
]


def _plan(sub: str) -> Plan:
    rg = f"/subscriptions/{sub}/resourceGroups"
    return Plan(
        sub,
        IdentitySpec("rg-runner", "id-bench-runner"),
        [
            RoleRequest(
                "Key Vault Secrets User", f"{rg}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod"
            ),
            RoleRequest("Storage Blob Data Reader"),
        ],
        AppTarget(f"{rg}/rg-runner/providers/Microsoft.App/containerApps/maia-runner", "runner"),
    )


async def _timed_apply(info: SandboxInfo, poll_interval: float) -> tuple[float, float]:
    plan = _plan(info.subscription_ids[0])
    async with Gateway(connection(info, poll_interval)) as gw:
        await gw.signed_in()  # the token is fetched once per session, before any of this
        rt_samples = []
        for _ in range(3):
            started = time.perf_counter()
            await gw.resource_group(plan.subscription, "rg-runner")
            rt_samples.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as journals:
            applier = Applier(gw, journal_dir=Path(journals))
            step_plan = await applier.preview(plan)  # what the admin reviews before confirming
            started = time.perf_counter()
            outcome = await applier.apply(plan, step_plan)
            wall = time.perf_counter() - started
        assert outcome.ok, outcome.error or outcome.checks
        return wall, median(rt_samples)


async def _counted_apply(info: SandboxInfo, thread: SandboxThread, poll_interval: float) -> list[str]:
    plan = _plan(info.subscription_ids[0])
    async with Gateway(connection(info, poll_interval)) as gw:
        with tempfile.TemporaryDirectory() as journals:
            applier = Applier(gw, journal_dir=Path(journals))
            step_plan = await applier.preview(plan)
            first = len(thread.sandbox.request_log)
            outcome = await applier.apply(plan, step_plan)
            assert outcome.ok, outcome.error or outcome.checks
    return [f"{method} {_kind(path)}" for method, path, _ in thread.sandbox.request_log[first:]]


def _kind(path: str) -> str:
    for marker, label in (
        ("OperationStatuses", "operation status"),
        ("OperationResults", "operation result"),
        ("/revisions", "revisions"),
        ("/permissions", "permissions"),
        ("/roleAssignments", "role assignments"),
        ("/userAssignedIdentities", "identity"),
        ("/containerApps", "container app"),
        ("/vaults", "vault"),
    ):
        if marker.lower() in path.lower():
            return label
    return "resource group"


def run(runs: int = 5, latency_ms: int = 100, polls: int = 5, poll_interval: float = 0.1) -> list[Figure]:
    walls, rts = [], []
    for _ in range(runs):
        # a fresh tenant per run, so every run creates the identity and changes the app
        with served_sandbox("--latency-ms", str(latency_ms), "--lro-polls", str(polls)) as info:
            wall, rt = asyncio.run(_timed_apply(info, poll_interval))
        walls.append(wall)
        rts.append(rt)
    with sandbox(lro_polls=polls) as (info, thread):
        sent = asyncio.run(_counted_apply(info, thread, poll_interval))
    rt = median(rts)
    # identity PUT, role PUTs (parallel), PATCH, status polls (each after a wait: `polls` InProgress
    # answers and the Succeeded one), the final GET, verify's reads (parallel)
    critical = rt * (1 + 1 + 1 + (polls + 1) + 1 + 1) + (polls + 1) * poll_interval
    wall = median(walls)
    az_requests = sum(n for _, _, n in AZ_SEQUENCE)
    breakdown = ", ".join(f"{k} x{v}" for k, v in sorted(Counter(sent).items()))
    return [
        Figure("apply wall time, confirm to verified", wall, "s", runs=walls),
        Figure("critical path", critical, "s", note=f"round trip measured at {rt * 1000:.0f} ms"),
        Figure("apply / critical path", wall / critical, "x", "within 1.2x", wall / critical <= 1.2),
        Figure("requests apply makes", len(sent), "", note=breakdown),
        Figure(
            "requests the az CLI sequence makes",
            az_requests,
            "",
            note="; ".join(f"{cmd}: {what} = {n}" for cmd, what, n in AZ_SEQUENCE),
        ),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.shown()} {figure.note}")
