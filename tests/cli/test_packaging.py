"""The package as installed: its license metadata, and a `--help` that loads none of the heavy
libraries (they are imported by the command that needs them)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first to read PEP 639 licenses
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")

    installed = importlib.metadata.metadata("runner-identity")
    assert installed["License-Expression"] == "MIT"
    files = importlib.metadata.files("runner-identity") or []
    assert any(f.name == "LICENSE" for f in files)


def test_help_loads_no_heavy_library() -> None:
    probe = (
        "import sys, wizard.cli as cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('azure', 'rich', 'argcomplete', 'textual', 'aiohttp', 'platformdirs')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
