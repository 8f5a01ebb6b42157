"""Live lists: from choosing a subscription until every later screen's list is ready, with every
request delayed. Ready means loaded into the wizard's state; the goal is two round trips.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.common import Figure, connection, median, served_sandbox
from wizard.azure.gateway import Gateway


async def _one(latency_ms: int) -> tuple[float, float]:
    from wizard.catalog import load_catalog

    with served_sandbox("--latency-ms", str(latency_ms)) as info:
        async with Gateway(connection(info)) as gw:
            await gw.signed_in()
            sub = info.subscription_ids[0]
            started = time.perf_counter()
            await gw.resource_group(sub, "rg-runner")
            rt = time.perf_counter() - started
            started = time.perf_counter()
            await load_catalog(gw, sub)
            return time.perf_counter() - started, rt


def run(runs: int = 5, latency_ms: int = 100) -> list[Figure]:
    walls, rts = [], []
    for _ in range(runs):
        wall, rt = asyncio.run(_one(latency_ms))
        walls.append(wall)
        rts.append(rt)
    wall, rt = median(walls), median(rts)
    trips = wall / rt
    return [
        Figure(
            "subscription chosen -> every list ready",
            wall,
            "s",
            runs=walls,
            note=f"{trips:.1f} round trips of {rt * 1000:.0f} ms",
        ),
        Figure("lists ready, in round trips", round(trips, 1), "round trips", "within 2", trips <= 2.2),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.shown()} {figure.note}")
