"""Run exported scripts against a running sandbox with the stand-in az (or a real az)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass
class ScriptRun:
    result: subprocess.CompletedProcess[str]
    calls: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return self.result.returncode == 0


def install_standin(bin_dir: Path) -> Path:
    """An `az` in bin_dir that runs tests/export/standin_az.py with this interpreter, and a `sleep`
    that returns at once."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    az = bin_dir / "az"
    az.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(HERE)!r})\n"
        "from standin_az import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    az.chmod(az.stat().st_mode | stat.S_IXUSR)
    # The script's waits (another update in progress, a principal not replicated yet) are `sleep N`:
    # here they pass at once, so a test of a wait takes no wall time.
    sleep = bin_dir / "sleep"
    sleep.write_text("#!/bin/sh\nexit 0\n")
    sleep.chmod(sleep.stat().st_mode | stat.S_IXUSR)
    return az


def run_script(
    script: str, running: Any, tmp_path: Path, *, env: dict[str, str] | None = None, path: str | None = None
) -> ScriptRun:
    """Run `script` with bash, the stand-in az first on PATH, against `running` (a sandbox)."""
    bin_dir = tmp_path / "bin"
    install_standin(bin_dir)
    log = tmp_path / "az-calls.jsonl"
    log.write_text("")
    file = tmp_path / "export.sh"
    file.write_text(script, encoding="utf-8")
    full_env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{path if path is not None else os.environ['PATH']}",
        "AZ_STANDIN_ARM": running.info.arm_endpoint,
        "AZ_STANDIN_CA": running.info.ca_bundle,
        "AZ_STANDIN_LOG": str(log),
        "TMPDIR": str(tmp_path),
        **(env or {}),
    }
    result = subprocess.run(
        ["bash", *(["-x"] if os.environ.get("EXPORT_TRACE") else []), str(file)],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
        timeout=300,
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return ScriptRun(result, calls)
