"""Start: `runner-identity --help`, and process start to the wizard's first screen painted
(headless), with a check that nothing from azure.* or the sandbox was imported before it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from benchmarks.common import Figure, median

FIRST_SCREEN = r"""
import sys, time, json
started = float(sys.argv[1])
from wizard.tui.app import RunnerIdentityApp
app = RunnerIdentityApp()

def painted():
    heavy = sorted(m for m in sys.modules if m.startswith(("azure", "wizard.sandbox", "aiohttp")))
    print(json.dumps({"seconds": time.time() - started, "heavy": heavy}), flush=True)
    app.exit()

app.first_paint_hook = painted
app.run(headless=True, size=(80, 24))
"""


def _help_once() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wizard.cli", "--help"], check=True, capture_output=True)
    return time.perf_counter() - started


def _first_screen_once() -> tuple[float, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_SCREEN, repr(time.time())],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    doc = json.loads(line)
    return float(doc["seconds"]), list(doc["heavy"])


def run(runs: int = 5) -> list[Figure]:
    helps = [_help_once() for _ in range(runs)]
    figures = [Figure("runner-identity --help", median(helps), "s", "", None, helps)]
    try:
        firsts = []
        heavy: list[str] = []
        for _ in range(runs):
            seconds, heavy = _first_screen_once()
            firsts.append(seconds)
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        figures.append(
            Figure(
                "first screen painted (headless)",
                float("nan"),
                "s",
                "under 0.5 s",
                False,
                note=f"could not measure: {exc}",
            )
        )
        return figures
    first = median(firsts)
    figures.append(Figure("first screen painted (headless)", first, "s", "under 0.5 s", first < 0.5, firsts))
    figures.append(
        Figure(
            "azure/sandbox modules imported before it",
            len(heavy),
            "",
            "none",
            not heavy,
            note=", ".join(heavy[:5]) + (" ..." if len(heavy) > 5 else ""),
        )
    )
    return figures


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.shown()} {figure.note}")
