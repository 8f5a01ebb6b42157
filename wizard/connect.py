"""Turn command-line options into a Connection, starting an in-process sandbox for --sandbox."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .azure.connection import CLOUDS, Connection


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--sandbox", action="store_true", help="use an in-process sandbox with the demo tenant")
    group.add_argument("--sandbox-scenario", default="demo", choices=("demo", "empty", "large"), help=argparse.SUPPRESS)
    group.add_argument(
        "--sandbox-state",
        type=Path,
        metavar="FILE",
        help="with --sandbox: keep the sandbox's tenant in FILE between runs",
    )
    group.add_argument("--tenant", metavar="ID", help="sign in to this tenant")
    group.add_argument("--device-code", action="store_true", help="sign in with a device code (SSH sessions)")
    group.add_argument("--cloud", default="AzureCloud", choices=sorted(CLOUDS), help="the Azure cloud")
    group.add_argument(
        "--arm-endpoint", metavar="URL", help="another Resource Manager endpoint (a sandbox, Azure Stack)"
    )
    group.add_argument("--ca-bundle", metavar="PATH", help="CA certificates to trust for --arm-endpoint")


@dataclass
class Session:
    connection: Connection
    sandbox_banner: str | None = None
    # The subscription to offer first when the usual default (AZURE_SUBSCRIPTION_ID, the az CLI's)
    # means nothing here: in a sandbox, its first subscription.
    default_subscription: str | None = None


@contextlib.contextmanager
def open_session(args: argparse.Namespace) -> Iterator[Session]:
    if getattr(args, "sandbox", False):
        from .sandbox.server import SandboxThread
        from .sandbox.state import SandboxConfig

        thread = SandboxThread(
            SandboxConfig(
                scenario=getattr(args, "sandbox_scenario", "demo"),
                state_file=getattr(args, "sandbox_state", None),
                retry_after_s=0,
                lro_polls=2,
            )
        )
        info = thread.start()
        try:
            with info.exported():
                yield Session(
                    Connection(
                        arm_endpoint=info.arm_endpoint,
                        ca_bundle=info.ca_bundle,
                        managed_identity_only=True,
                        poll_interval=0.2,
                    ),
                    sandbox_banner=f"SANDBOX: a local demo tenant at {info.arm_endpoint}; nothing here touches Azure.",
                    default_subscription=info.subscription_ids[0] if info.subscription_ids else None,
                )
        finally:
            thread.stop()
        return
    if args.ca_bundle and not args.arm_endpoint:
        raise SystemExit("runner-identity: --ca-bundle only applies with --arm-endpoint")
    yield Session(
        Connection(
            cloud=args.cloud,
            arm_endpoint=args.arm_endpoint,
            ca_bundle=str(Path(args.ca_bundle).resolve()) if args.ca_bundle else None,
            tenant=args.tenant,
            device_code=args.device_code,
        )
    )
