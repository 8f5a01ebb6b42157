"""The `runner-identity` command. Heavy modules (azure.*, aiohttp, textual) are imported only
by the subcommand that needs them, so `--help` and the first screen stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _add_sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default="demo",
        choices=("demo", "empty", "large"),
        help="the tenant to start with (default: demo)",
    )
    parser.add_argument(
        "--state", type=Path, metavar="FILE", help="save every write to FILE and reload it at the next start"
    )
    parser.add_argument("--latency-ms", type=int, default=0, metavar="N", help="add N ms to every request")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. '429,route=roleAssignments,every=2' (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and random faults (default 0)")
    parser.add_argument(
        "--caller-role",
        metavar="ROLE",
        help="the signed-in user's role on every subscription (Owner, Contributor, Reader, ...)",
    )
    parser.add_argument(
        "--replication-delay",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds a new identity stays unknown to role assignments without principalType",
    )
    parser.add_argument(
        "--lro-polls",
        type=int,
        default=2,
        metavar="N",
        help="status polls a long-running operation stays InProgress (default 2)",
    )
    parser.add_argument(
        "--retry-after",
        type=int,
        default=1,
        metavar="S",
        help="Retry-After seconds of long-running operations (default 1)",
    )


def sandbox_config(args: argparse.Namespace):  # -> SandboxConfig, imported lazily
    from .sandbox.state import SandboxConfig

    return SandboxConfig(
        scenario=args.scenario,
        state_file=args.state,
        latency_ms=args.latency_ms,
        faults=tuple(args.fault),
        seed=args.seed,
        caller_role=args.caller_role,
        replication_delay_s=args.replication_delay,
        lro_polls=args.lro_polls,
        retry_after_s=args.retry_after,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner-identity",
        description="Give the Maia Hybrid runner on Azure Container Apps a user-assigned managed identity.",
    )
    parser.add_argument("--sandbox", action="store_true", help="run against an in-process sandbox tenant")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox = sub.add_parser("sandbox", help="the local ARM-compatible sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    serve = sandbox_sub.add_parser(
        "serve", help="serve a sandbox on 127.0.0.1; prints one JSON line with its endpoints, then runs until stopped"
    )
    serve.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    _add_sandbox_options(serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox" and args.sandbox_command == "serve":
        return _serve(args)
    if args.sandbox:
        return _serve_default()
    parser.print_help()
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from .sandbox.faults import FaultSpecError
    from .sandbox.server import serve_forever

    try:
        config = sandbox_config(args)
        asyncio.run(serve_forever(config, args.port))
    except (FaultSpecError, ValueError) as exc:
        print(f"runner-identity sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _serve_default() -> int:
    # Until the wizard lands, `--sandbox` serves the demo sandbox so it can be explored.
    return _serve(build_parser().parse_args(["sandbox", "serve"]))


if __name__ == "__main__":
    sys.exit(main())
