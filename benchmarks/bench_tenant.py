"""The wizard on a tenant shaped like real large ones: the sandbox's `large` scenario (300
subscriptions; the enterprise one at ARM's limit of 980 resource groups, with 1,000 container apps),
100 ms added to every request.

- subscription chosen -> every later screen's list ready: `open_catalog`, the wizard's own loader,
  until every list has its first page (what the screens show at once), in round trips; and until
  the long lists are whole (read behind the screens while the admin works).
- keystroke to paint on the subscription picker (300), the identity screen's resource groups (980)
  and the roles screen's roles (about 930): see tui_keys.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.common import Figure, connection, median, percentile, served_sandbox
from benchmarks.tui_keys import keystrokes
from wizard.azure.gateway import Gateway
from wizard.sandbox.server import SandboxInfo

BIG = "Contoso Enterprise (large)"
GROUP = "rg-team-0004"


async def _lists(info: SandboxInfo) -> tuple[str, dict[str, float]]:
    from wizard.catalog import open_catalog

    async with Gateway(connection(info)) as gw:
        await gw.signed_in()
        started = time.perf_counter()
        subscriptions = await gw.subscriptions()
        t_subs = time.perf_counter() - started
        sub = next(s.id for s in subscriptions if s.name == BIG)
        trips = []
        for _ in range(3):
            started = time.perf_counter()
            await gw.resource_group(sub, GROUP)
            trips.append(time.perf_counter() - started)
        started = time.perf_counter()
        catalog, rest = await open_catalog(gw, sub)
        shown = time.perf_counter() - started
        async for _ in rest:
            pass
        whole = time.perf_counter() - started
        counts = {"groups": len(catalog.groups), "apps": len(catalog.apps), "roles": len(catalog.roles)}
    return sub, {"round_trip": median(trips), "subscriptions": t_subs, "shown": shown, "whole": whole,
                 "count_subscriptions": len(subscriptions), **{f"count_{k}": v for k, v in counts.items()}}  # fmt: skip


def run(runs: int = 3, latency_ms: int = 100) -> list[Figure]:
    lists, keys = [], []
    with served_sandbox("--scenario", "large", "--latency-ms", str(latency_ms)) as info:
        for _ in range(runs):
            sub, measured = asyncio.run(_lists(info))
            lists.append(measured)
        for _ in range(runs):
            keys.append(keystrokes(info, sub, GROUP))
    rt = median([m["round_trip"] for m in lists])
    first = lists[0]
    shown = [m["shown"] / m["round_trip"] for m in lists]
    whole = [m["whole"] for m in lists]
    figures = [
        Figure(
            "subscription chosen -> every list ready",
            median([m["shown"] for m in lists]),
            "s",
            runs=[m["shown"] for m in lists],
            note=f"{first['count_groups']:,} groups, {first['count_roles']:,} roles, the first "
            f"page of {first['count_apps']:,} container apps; round trip {rt * 1000:.0f} ms",
        ),
        Figure(
            "lists ready, in round trips",
            round(median(shown), 1),
            "round trips",
            "within 3",
            median(shown) <= 3,
            [round(s, 1) for s in shown],
        ),
        Figure(
            "every list whole (read behind the screens)",
            median(whole),
            "s",
            runs=whole,
            note="the 1,000 container apps in ARM's pages of 100, one after another",
        ),
        Figure(
            f"list {first['count_subscriptions']} subscriptions (the picker)",
            median([m["subscriptions"] for m in lists]),
            "s",
            runs=[m["subscriptions"] for m in lists],
        ),
    ]
    every = {name: sorted(t for k in keys for t in k["keys"][name]) for name in keys[0]["keys"]}
    labels = {
        "subscriptions": f"{first['count_subscriptions']} subscriptions",
        "groups": f"{first['count_groups']:,} resource groups",
        "roles": f"{first['count_roles']:,} roles",
    }
    for name, times in every.items():
        figures.append(
            Figure(
                f"keystroke to paint, {labels[name]}: p50 / p95",
                percentile(times, 0.5),
                "s",
                "p95 under 50 ms",
                percentile(times, 0.95) < 0.050,
                note=f"p95 {percentile(times, 0.95) * 1000:.0f} ms over {len(times)} keystrokes",
            )
        )
    p50s, p95s = [k["key_p50"] for k in keys], [k["key_p95"] for k in keys]
    figures.append(
        Figure(
            "keystroke to paint, all lists: p50",
            median(p50s),
            "s",
            runs=p50s,
        )
    )
    figures.append(Figure("keystroke to paint, all lists: p95", median(p95s), "s", "under 50 ms",
                          median(p95s) < 0.050, p95s))  # fmt: skip
    return figures


if __name__ == "__main__":
    import sys

    for figure in run(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        print(f"{figure.name}: {figure.shown()} {figure.note} {figure.runs}")
