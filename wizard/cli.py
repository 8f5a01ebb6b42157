"""The `runner-identity` command. Heavy modules (azure.*, aiohttp, textual, rich, argcomplete)
are imported only by the subcommand that needs them, so `--help` and the first screen stay fast.

Exit codes: 0 done, 1 failed (or a verify problem), 2 invalid input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

SHELLS = ("bash", "zsh", "fish")
JSON_COMMANDS = ("plan", "apply", "verify", "rollback")


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as `{"error": ...}` on stdout when --json was asked for.

    Options are only ever their whole name (`allow_abbrev=False`): `--js` is not `--json`, so a
    pipeline never depends on a prefix that another option may share one day.
    """

    json_errors = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if Parser.json_errors:
            print(json.dumps({"error": {"code": "InvalidArguments", "message": message, "field": None}}))
            sys.exit(2)
        super().error(message)


def _at_least(low: float, kind: type = int, high: float | None = None) -> Any:
    """An argparse `type`: a number of `kind` in [low, high]; argparse names the option on error."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {span}")
        return value

    return parse


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
    parser.add_argument("--latency-ms", type=_at_least(0), default=0, metavar="N", help="add N ms to every request")
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
        type=_at_least(0, float),
        default=30.0,
        metavar="S",
        help="seconds a new identity stays unknown to role assignments without principalType",
    )
    parser.add_argument(
        "--lro-polls",
        type=_at_least(0),
        default=2,
        metavar="N",
        help="status polls a long-running operation stays InProgress (default 2)",
    )
    parser.add_argument(
        "--retry-after",
        type=_at_least(0),
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

    parser = Parser(
        prog="runner-identity",
        description="Give the Maia Hybrid runner on Azure Container Apps a user-assigned managed identity. "
        "Without a command: the wizard (against your tenant, or --sandbox).",
        epilog="Exit codes: 0 done, 1 failed (or a verify problem), 2 invalid input, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(  # its own dest: each command's PLAN argument is `plan`
        "--plan", dest="wizard_plan", type=Path, metavar="FILE", help="open the wizard prefilled from a plan file"
    )
    add_connection_options(parser, top_level=True)  # the wizard's, and every command's defaults
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")

    plan = command("plan", "write a plan file from flags and show what it would change")
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
    plan.add_argument("--out", type=Path, metavar="FILE", help="write the plan here ('-' or none: stdout)")
    plan.add_argument("--offline", action="store_true", help="only validate and write; do not read Azure")
    add_connection_options(plan, top_level=False)

    apply = command("apply", "apply a plan file, then verify")
    apply.add_argument("plan", type=Path, metavar="PLAN")
    apply.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--dry-run", action="store_true", help="show the changes and stop")
    apply.add_argument("--journal-dir", type=Path, metavar="DIR", help="where to write the journal")
    add_connection_options(apply, top_level=False)

    verify = command("verify", "check the live state against a plan, or an app on its own")
    verify.add_argument("plan", type=Path, nargs="?", metavar="PLAN")
    verify.add_argument("--container-app", metavar="ID", help="verify this app without a plan")
    verify.add_argument("--container", metavar="NAME")
    verify.add_argument("--env-var", default="AZURE_CLIENT_ID", metavar="NAME")
    add_connection_options(verify, top_level=False)

    export = command("export", "write the plan as an az CLI script or a Bicep file")
    export.add_argument("plan", type=Path, metavar="PLAN")
    export.add_argument("--format", choices=("az", "bicep"), default="az")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here ('-' or none: stdout)")
    add_connection_options(export, top_level=False)

    rollback = command("rollback", "undo what one apply run (all its attempts) wrote, except what something else now uses")
    rollback.add_argument("journal", type=Path, metavar="JOURNAL")
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--dry-run", action="store_true", help="show the steps and stop")
    add_connection_options(rollback, top_level=False)

    completion = command("completion", "print a shell completion script for every command and option")
    completion.add_argument("shell", choices=SHELLS, help="e.g. `eval \"$(runner-identity completion bash)\"`")

    sandbox = sub.add_parser("sandbox", help="the local ARM-compatible sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    serve = sandbox_sub.add_parser(
        "serve", help="serve a sandbox on 127.0.0.1; prints one JSON line with its endpoints, then runs until stopped"
    )
    serve.add_argument("--port", type=_at_least(0, high=65535), default=0, help="port to bind (default: any free port)")
    _add_sandbox_options(serve)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runner-identity")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: parse, check the options, run the command or the wizard.

    Nothing a user can cause ends in a traceback: usage errors exit 2, Ctrl-C exits 130, and an
    internal error prints one line with the path of a log file holding the details.
    """
    from .streams import run_with_standard_streams

    code = run_with_standard_streams(lambda: _main(list(sys.argv[1:] if argv is None else argv)))
    if argv is None:
        # The console script ends here: leave the libraries' objects to the operating system rather
        # than have the collector walk them all at interpreter exit (about 0.1 s for a command).
        gc.freeze()
    return code


def _main(args_list: list[str]) -> int:
    Parser.json_errors = "--json" in args_list
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions; argcomplete answers and exits
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(args_list)
    from . import commands

    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return commands.fail(args, "Interrupted", "interrupted", exit_code=commands.interrupted_exit_code())
    except Exception as exc:
        return commands.internal_error(args, exc)
    finally:
        Parser.json_errors = False


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (a closed SSH session, `kill`, a CI job's timeout) stops a command as Ctrl-C does:
    at the point it has reached, journal written, with how to go on; the exit code is 143."""
    from . import commands

    commands.terminated = True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):  # asyncio's while the event loop runs (it cancels the task), else Python's
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt


def _dispatch(args: argparse.Namespace) -> int:
    from . import commands
    from .connect import UsageError, check_options

    if args.command == "sandbox" and args.sandbox_command == "serve":
        return _serve(args)
    if args.command == "completion" and not args.json:  # with --json: refused below, as export is
        import argcomplete

        sys.stdout.write(argcomplete.shellcode(["runner-identity"], shell=args.shell))
        return commands.EXIT_OK
    commands.setup_logging(args)
    try:
        check_options(args)
        if args.json and args.command not in JSON_COMMANDS:
            raise UsageError("--json", f"applies to {', '.join(JSON_COMMANDS)}")
        if args.wizard_plan is not None and args.command is not None:
            raise UsageError(
                "--plan", f"opens the wizard prefilled; `{args.command}` takes the plan file as its own argument"
            )
    except UsageError as err:
        return commands.fail(
            args,
            "InvalidArguments",
            err.message,
            field=err.field,
            exit_code=commands.EXIT_INVALID,
            text=f"runner-identity: {err}",
        )
    if args.command is not None:
        handler = {
            "plan": commands.cmd_plan,
            "apply": commands.cmd_apply,
            "verify": commands.cmd_verify,
            "export": commands.cmd_export,
            "rollback": commands.cmd_rollback,
        }[args.command]
        signal.signal(signal.SIGTERM, _on_sigterm)  # the wizard and the sandbox keep their own
        return handler(args)
    from .tui.app import run_wizard

    return run_wizard(sandbox=args.sandbox, plan_path=args.wizard_plan, options=args)


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
    except OSError as exc:  # the port: taken, or not ours to bind
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        print(f"runner-identity sandbox: cannot listen on 127.0.0.1:{args.port}: {os.strerror(exc.errno)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
