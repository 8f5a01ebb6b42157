"""Scale: the `large` tenant (300 subscriptions; one at ARM's limit of 980 resource groups with 1,000 of
the 2,000 container apps). Lists are loaded and shown in the wizard's own list widget, then filtered
keystroke by keystroke; the work runs in a child process so its peak memory is the wizard's alone (the
sandbox runs in another).
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import Figure, median, served_sandbox

CHILD = r"""
import asyncio, json, os, resource, sys, time
from benchmarks.common import connection
from wizard.azure.gateway import Gateway
from wizard.sandbox.server import SandboxInfo

info = SandboxInfo(**json.loads(sys.argv[1]))

async def lists():
    async with Gateway(connection(info)) as gw:
        await gw.signed_in()
        started = time.perf_counter()
        subscriptions = await gw.subscriptions()
        t_subs = time.perf_counter() - started
        sub = next(s.id for s in subscriptions if s.name == "Contoso Enterprise (large)")
        started = time.perf_counter()
        groups = await gw.resource_groups(sub)
        t_groups = time.perf_counter() - started
        started = time.perf_counter()
        apps = await gw.container_apps(sub)
        t_apps = time.perf_counter() - started
        return subscriptions, groups, apps, t_subs, t_groups, t_apps

subscriptions, groups, apps, t_subs, t_groups, t_apps = asyncio.run(lists())
out = {"subscriptions": len(subscriptions), "groups": len(groups), "apps": len(apps), "t_subs": t_subs,
       "t_groups": t_groups, "t_apps": t_apps}
try:
    from benchmarks.tui_scale import render_and_filter
    out.update(render_and_filter(groups, apps))
except ImportError as exc:
    out["tui"] = f"not measured: {exc}"
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _once(info_json: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, info_json], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"the scale benchmark's child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(runs: int = 3) -> list[Figure]:
    with served_sandbox("--scenario", "large") as info:
        info_json = json.dumps(vars(info))
        results = [_once(info_json) for _ in range(runs)]
    figures = [
        Figure(
            f"list {results[0]['subscriptions']:,} subscriptions",
            median([r["t_subs"] for r in results]),
            "s",
            runs=[r["t_subs"] for r in results],
            note="3 pages of 100",
        ),
        Figure(
            f"list {results[0]['groups']:,} resource groups",
            median([r["t_groups"] for r in results]),
            "s",
            runs=[r["t_groups"] for r in results],
            note="ARM's limit in one subscription, in one page ($top=1000)",
        ),
        Figure(
            f"list {results[0]['apps']:,} container apps",
            median([r["t_apps"] for r in results]),
            "s",
            runs=[r["t_apps"] for r in results],
        ),
    ]
    if "render_groups" in results[0]:
        for key, label in (
            ("render_groups", f"show {results[0]['groups']:,} resource groups in the list"),
            ("render_apps", f"show {results[0]['apps']:,} container apps in the list"),
        ):
            values = [r[key] for r in results]
            figures.append(Figure(label, median(values), "s", runs=values))
        keys = [r["keystroke_p50"] for r in results]
        worst = [r["keystroke_max"] for r in results]
        figures.append(
            Figure(
                "type-to-filter, per keystroke (median)", median(keys), "s", "under 30 ms", median(keys) < 0.030, keys
            )
        )
        figures.append(
            Figure(
                "type-to-filter, slowest keystroke",
                median(worst),
                "s",
                runs=worst,
                note="the first: it builds the matches",
            )
        )
    else:
        figures.append(Figure("list rendering", float("nan"), "s", note=str(results[0].get("tui"))))
    peaks = [r["peak_mb"] for r in results]
    figures.append(Figure("peak memory", median(peaks), "MB", "under 200 MB", median(peaks) < 200, peaks))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.shown()} {figure.note}")
