"""The benchmark command runs end to end on its smallest setting and writes its table.

Speed itself is measured by `python -m benchmarks.run`, never asserted in tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_command_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    sections = (
        "## Start",
        "## Live lists",
        "## Apply",
        "## Commands",
        "## Large tenant",
        "## Scale",
        "## Wizard screens",
    )
    for section in sections:
        assert section in text
    for figure in (
        "first screen painted",
        "apply / critical path",
        "type-to-filter",
        "peak memory",
        "requests the az CLI sequence makes",
        "identity screen opens, 50 tags",
        "apply, process start to exit",
        "apply / its floor",
        "apply / the az CLI sequence",  # the az CLI itself is left out of the quick run: "not measured"
        "plan, process start to exit",
        "verify, process start to exit",
        "apply --dry-run, process start to exit",
        "process start to the first HTTP request",
        "libraries `apply` loads",
        "lists ready, in round trips",
        "keystroke to paint, 300 subscriptions",
        "keystroke to paint, 980 resource groups",
        "keystroke to paint, all lists: p95",
    ):
        assert figure in text
    assert "| nan" not in text
    # every figure was measured, but for the az CLI sequence (minutes of az start-ups)
    assert text.count("not measured") == 1, text
