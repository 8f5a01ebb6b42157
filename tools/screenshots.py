"""Regenerate screenshots/*.svg: every wizard screen at 120x40 against a fresh demo sandbox.

    python tools/screenshots.py [--size 120x40]

The flows are the snapshot tests' own (tests/tui/test_snapshots.py), so the pictures in the
README show exactly what the tests check.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import RunningSandbox  # noqa: E402
from tests.tui.test_snapshots import SCREENS  # noqa: E402
from wizard.sandbox.server import SandboxThread  # noqa: E402
from wizard.sandbox.state import SandboxConfig  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(name: str, size: tuple[int, int], journal_dir: Path) -> Path:
    """One screen, on a sandbox of its own (every flow starts from the same demo tenant)."""
    shot = SCREENS[name]
    thread = SandboxThread(SandboxConfig(retry_after_s=0))
    info = thread.start()
    try:
        with info.exported():  # the sandbox's sign-in, for the SDK's credential
            app = shot.app(RunningSandbox(info, thread), journal_dir)
            async with app.run_test(size=size) as pilot:
                await shot.run_before(pilot)
                await pilot.pause()
                target = OUT / f"{list(SCREENS).index(name) + 1}-{name}.svg"
                app.save_screenshot(target.name, str(OUT))
    finally:
        thread.stop()
    return target


def main() -> None:
    # The pictures are of a true-colour terminal, whatever terminal runs this.
    os.environ.update(COLORTERM="truecolor", TERM="xterm-256color")
    os.environ.pop("NO_COLOR", None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="120x40", help="terminal size, COLUMNSxROWS (default 120x40)")
    args = parser.parse_args()
    columns, rows = (int(n) for n in args.size.lower().split("x"))
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as journals:
        for name in SCREENS:
            target = asyncio.run(shoot(name, (columns, rows), Path(journals)))
            print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
