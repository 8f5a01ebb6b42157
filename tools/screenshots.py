"""Regenerate screenshots/*.svg: every wizard screen at 120x40 against a fresh demo sandbox.

    python tools/screenshots.py

The flows are the snapshot tests' own (tests/tui/test_snapshots.py), so the pictures in the
README show exactly what the tests check.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tui.test_snapshots import SCREENS  # noqa: E402
from wizard.azure.connection import Connection  # noqa: E402
from wizard.sandbox.server import SandboxThread  # noqa: E402
from wizard.sandbox.state import SandboxConfig  # noqa: E402
from wizard.tui.app import RunnerIdentityApp  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(name: str, journal_dir: Path) -> None:
    thread = SandboxThread(SandboxConfig(retry_after_s=0))
    info = thread.start()
    try:
        with info.exported():
            connection = Connection(
                arm_endpoint=info.arm_endpoint, ca_bundle=info.ca_bundle, managed_identity_only=True, poll_interval=0.01
            )
            app = RunnerIdentityApp(connection, sandbox=False, journal_dir=journal_dir)
            app.sandbox_banner = "SANDBOX: a local demo tenant; nothing here touches Azure."
            async with app.run_test(size=(120, 40)) as pilot:
                await SCREENS[name](pilot)
                app.save_screenshot(f"{name}.svg", str(OUT))
    finally:
        thread.stop()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as journals:
        for number, name in enumerate(SCREENS, start=1):
            asyncio.run(shoot(name, Path(journals)))
            target = OUT / f"{number}-{name}.svg"
            (OUT / f"{name}.svg").replace(target)
            print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
