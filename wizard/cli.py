"""The `runner-identity` command. Heavy modules (azure.*, aiohttp, textual) are imported only
by the subcommand that needs them, so `--help` and the first screen stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _add_sandbox_options(parser: argparse.ArgumentParser) -> None:
    from .sandbox.clouds import CLOUDS  # plain data, no heavy imports

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
    parser.add_argument(
        "--cloud",
        default="AzureCloud",
        choices=tuple(CLOUDS),
        help="the Azure cloud to present: its metadata and its tokens' audience (default AzureCloud)",
    )
    parser.add_argument(
        "--unregistered",
        action="append",
        default=[],
        metavar="NS[@SUB]",
        help="a resource provider NotRegistered at start, in every subscription or the one named by id or "
        "display name, e.g. Microsoft.App (repeatable)",
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
        cloud=args.cloud,
        unregistered=tuple(args.unregistered),
    )


def build_parser() -> argparse.ArgumentParser:
    from .connect import add_connection_options

    parser = argparse.ArgumentParser(
        prog="runner-identity",
        description="Give the Maia Hybrid runner on Azure Container Apps a user-assigned managed identity. "
        "Without a command: the wizard (against your tenant, or --sandbox).",
    )
    parser.add_argument("--plan", type=Path, metavar="FILE", help="open the wizard prefilled from a plan file")
    add_connection_options(parser)  # the wizard's: --sandbox, --tenant, --device-code, ...
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plan = sub.add_parser("plan", help="write a plan file from flags and show what it would change")
    plan.add_argument("--subscription", metavar="ID", help="default: AZURE_SUBSCRIPTION_ID or the az CLI default")
    plan.add_argument("--resource-group", metavar="NAME", help="the identity's resource group")
    plan.add_argument("--identity", metavar="NAME", help="the identity's name (reused if it exists)")
    plan.add_argument("--location", metavar="REGION", help="default: the resource group's location")
    plan.add_argument("--tag", action="append", metavar="K=V", help="a tag on the identity (repeatable)")
    plan.add_argument(
        "--role",
        action="append",
        metavar="NAME[@SCOPE]",
        help="a role to assign, at SCOPE or the identity's resource group (repeatable)",
    )
    plan.add_argument("--container-app", metavar="ID", help="the container app's resource id")
    plan.add_argument("--container", metavar="NAME", help="the runner's container (when the app has several)")
    plan.add_argument("--env-var", default="AZURE_CLIENT_ID", metavar="NAME", help="default: AZURE_CLIENT_ID")
    plan.add_argument("--out", type=Path, metavar="FILE", help="write the plan here (default: stdout)")
    plan.add_argument("--offline", action="store_true", help="only validate and write; do not read Azure")
    add_connection_options(plan)

    apply = sub.add_parser("apply", help="apply a plan file, then verify")
    apply.add_argument("plan", type=Path, metavar="PLAN")
    apply.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--dry-run", action="store_true", help="show the changes and stop")
    apply.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    apply.add_argument("--journal-dir", type=Path, metavar="DIR", help="where to write the journal")
    add_connection_options(apply)

    verify = sub.add_parser("verify", help="check the live state against a plan, or an app on its own")
    verify.add_argument("plan", type=Path, nargs="?", metavar="PLAN")
    verify.add_argument("--container-app", metavar="ID", help="verify this app without a plan")
    verify.add_argument("--container", metavar="NAME")
    verify.add_argument("--env-var", default="AZURE_CLIENT_ID", metavar="NAME")
    verify.add_argument("--json", action="store_true")
    add_connection_options(verify)

    export = sub.add_parser("export", help="write the plan as an az CLI script or a Bicep file")
    export.add_argument("plan", type=Path, metavar="PLAN")
    export.add_argument("--format", choices=("az", "bicep"), default="az")
    export.add_argument("--out", type=Path, metavar="FILE")
    add_connection_options(export)

    rollback = sub.add_parser(
        "rollback", help="undo what one apply run (all its attempts) wrote, except what something else now uses"
    )
    rollback.add_argument("journal", type=Path, metavar="JOURNAL")
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--dry-run", action="store_true", help="show the steps and stop")
    rollback.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    add_connection_options(rollback)

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
    if args.command is not None:
        from . import commands

        handler = {
            "plan": commands.cmd_plan,
            "apply": commands.cmd_apply,
            "verify": commands.cmd_verify,
            "export": commands.cmd_export,
            "rollback": commands.cmd_rollback,
        }[args.command]
        return handler(args)
    from .tui.app import run_wizard

    return run_wizard(sandbox=args.sandbox, plan_path=args.plan, options=args)


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


if __name__ == "__main__":
    sys.exit(main())
