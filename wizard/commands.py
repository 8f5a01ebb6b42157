"""The headless commands: plan, apply, verify, export, rollback.

Exit codes: 0 done, 1 failed (or a verify problem), 2 invalid input, 130 interrupted. With --json,
stdout carries exactly one JSON document (the shapes are in README.md), errors included:
`{"error": {"code": ..., "message": ..., "field": ...}}`; progress and hints go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import rules
from .plan import AppTarget, IdentitySpec, Plan, RoleRequest
from .rules import RuleError
from .streams import write_data
from .text import for_terminal

if TYPE_CHECKING:
    from .progress import ApplyProgress

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
log = logging.getLogger("wizard.commands")
# Set by the SIGTERM handler (cli.py): the interruption then exits 143, as a shell reports it.
terminated = False


def interrupted_exit_code() -> int:
    """130 after Ctrl-C (SIGINT), 143 after SIGTERM: 128 + the signal's number, as shells report."""
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def confirm(question: str) -> bool:
    """Ask `question` on the terminal and read the answer from stdin; True for y/yes.

    The question goes to stderr, so `apply plan.toml > apply.log` still shows it. End of input
    (Ctrl-D) is a no. Ctrl-C raises KeyboardInterrupt at once, even while the event loop is
    running: asyncio's own handler would only cancel the task once the line was read.
    """
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        print(file=sys.stderr)  # what is said next starts a line of its own
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if not answer:  # end of input: the cursor is still on the question's line
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def _declined(args: argparse.Namespace, out: TextIO, question: str, verb: str) -> int | None:
    """Ask before a command writes, unless --yes: None to go on, else the exit code to end with
    (EXIT_INVALID when nobody can answer: no terminal on stdin, or --json; EXIT_OK when answered no)."""
    if args.yes:
        return None
    if not sys.stdin.isatty() or _json(args):  # a JSON reader cannot answer a prompt
        return fail(
            args,
            "ConfirmationRequired",
            f"refusing to {verb} without confirmation: rerun with --yes",
            field="--yes",
            exit_code=EXIT_INVALID,
            text=f"Refusing to {verb} without confirmation: rerun with --yes.",
        )
    if not confirm(question):
        print("Nothing was changed.", file=out)
        return EXIT_OK
    return None


def _progress_display(args: argparse.Namespace) -> ApplyProgress:
    """apply's and rollback's progress on stderr (a `wizard.progress.ApplyProgress`): a live line only
    on a terminal nobody else writes to (the --verbose or --debug log would tear it)."""
    from .progress import ApplyProgress

    return ApplyProgress(sys.stderr, live=sys.stderr.isatty() and not (args.verbose or args.debug))


# -- output ---------------------------------------------------------------------------------------
def _json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def emit(args: argparse.Namespace, doc: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(doc))


def fail(
    args: argparse.Namespace,
    code: str,
    message: str,
    *,
    field: str | None = None,
    exit_code: int = EXIT_FAILED,
    details: list[dict[str, str]] | None = None,
    text: str | None = None,
) -> int:
    """Say what went wrong and return `exit_code`: `{"error": ...}` on stdout under --json, else
    `text` (or `message`) on stderr."""
    if _json(args):
        error: dict[str, Any] = {"code": code, "message": message, "field": field}
        if details:
            error["details"] = details
        emit(args, {"error": error})
    else:
        if text is None:
            text = f"runner-identity: {field}: {message}" if field else f"runner-identity: {message}"
        print(text, file=sys.stderr)
    return exit_code


def internal_error(args: argparse.Namespace, exc: BaseException) -> int:
    """A bug, not the user's doing: one line, and the details in a log file."""
    from .journal import state_dir

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    path: Path | None = None
    for folder in (state_dir() / "logs", Path.cwd()):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"runner-identity-error-{stamp}.log"
            path.write_text(details, encoding="utf-8")
            break
        except OSError:
            path = None
    where = f"details in {path}" if path else "no log file could be written"
    return fail(
        args,
        "InternalError",
        f"internal error ({type(exc).__name__}); {where}. Please report it.",
        text=f"runner-identity: internal error ({type(exc).__name__}); {where}. Please report it.",
    )


def setup_logging(args: argparse.Namespace) -> None:
    """--verbose: our steps and timings (and which credential signed in); --debug: also every HTTP
    request and response status through azure-core's HttpLoggingPolicy, which logs Authorization
    and every header or query parameter not on its allow-list as REDACTED. Bodies are never logged."""
    # Without a handler, Python's last-resort handler would print the SDK's warnings (a whole
    # credential chain's failure) on stderr, ahead of our own one-paragraph message.
    logging.getLogger("azure").addHandler(logging.NullHandler())
    debug, verbose = bool(getattr(args, "debug", False)), bool(getattr(args, "verbose", False))
    if not (debug or verbose):
        return
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if getattr(args, "command", None) is None:
        # The wizard owns the terminal: its log goes to a file, named before the screen opens.
        from .journal import state_dir

        path = state_dir() / "logs" / f"wizard-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        print(f"runner-identity: logging to {path}", file=sys.stderr)
    handler.setFormatter(logging.Formatter("%(relativeCreated)7.0f ms  %(name)s  %(message)s"))
    levels = {"wizard": logging.DEBUG if debug else logging.INFO, "azure.identity": logging.INFO}
    if debug:
        levels["azure.core.pipeline.policies.http_logging_policy"] = logging.INFO
    for name, level in levels.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
    # MSAL's own debug log is never switched on: it is not ours to vouch for.
    logging.getLogger("msal").setLevel(logging.WARNING)


def _problems(args: argparse.Namespace, problems: list[RuleError]) -> int:
    text = "The plan is not valid; nothing was sent to Azure:\n" + "\n".join(f"  x {p}" for p in problems)
    return fail(
        args,
        "InvalidPlan",
        str(problems[0]),
        field=problems[0].field,
        exit_code=EXIT_INVALID,
        details=[{"field": p.field, "message": p.message} for p in problems],
        text=text,
    )


def _write_out(args: argparse.Namespace, out: Path | None, text: str) -> int | None:
    """Write `text` to --out (None or '-': stdout). Returns an exit code on failure."""
    if out is None or str(out) == "-":
        write_data(text)
        return None
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        return fail(args, "CannotWrite", f"cannot write {out}: {err.strerror}", field="--out", exit_code=EXIT_INVALID)
    print(f"Wrote {out}", file=sys.stderr)
    return None


# -- plans ----------------------------------------------------------------------------------------
def plan_from_flags(args: argparse.Namespace) -> Plan:
    from .azure.connection import default_subscription

    subscription = args.subscription or default_subscription()
    if not subscription:
        raise RuleError("subscription", "give --subscription (or set AZURE_SUBSCRIPTION_ID / `az account set`)")
    requests = []
    for spec in args.role or []:
        role, scope = rules.parse_role_spec(spec)
        requests.append(RoleRequest(role, scope))
    tags = dict(rules.parse_tag(t) for t in args.tag or [])
    app = None
    if args.container_app:
        app = AppTarget(args.container_app, args.container, args.env_var)
    return Plan(
        subscription=subscription,
        identity=IdentitySpec(
            resource_group=args.resource_group or "",
            name=args.identity or "",
            location=rules.normalize_location(args.location) if args.location else None,
            tags=tags,
        ),
        role_assignments=requests,
        container_app=app,
    )


def load_plan(path: Path) -> Plan:
    return Plan.load(path)


def _valid_plan(args: argparse.Namespace, make: Callable[[], Plan]) -> Plan | int:
    """The plan, or EXIT_INVALID after saying every rule it breaks (before anything is sent)."""
    try:
        plan = make()
    except RuleError as err:
        return _problems(args, [err])
    problems = plan.problems()
    if problems:
        return _problems(args, problems)
    return plan


def _read_plan(args: argparse.Namespace, path: Path) -> Plan | int:
    return _valid_plan(args, lambda: load_plan(path))


def _plan_doc(plan: Plan) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    return tomllib.loads(plan.to_toml())


def _steps_doc(step_plan: Any, results: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    results = results or {}
    return [
        {
            "id": s.id,
            "kind": s.kind,
            "action": s.action,
            "summary": s.summary,
            "details": s.details,
            "warnings": s.warnings,
            "result": results[s.id].status if s.id in results else None,
            "seconds": round(results[s.id].seconds, 3) if s.id in results else None,
        }
        for s in step_plan.steps
    ]


# -- the connection -------------------------------------------------------------------------------
def _run(args: argparse.Namespace, body: Callable[[Any, Any], Awaitable[int]]) -> int:
    """Open the connection (or sandbox), make a gateway, run `body(gateway, session)`.

    Unusable options exit 2; anything Azure says no to (a failed sign-in included) exits 1 with
    its message.
    """
    from .azure.errors import GatewayError, sign_in_paragraph
    from .azure.gateway import Gateway
    from .connect import UsageError, open_session

    started = time.perf_counter()
    try:
        with open_session(args) as session:
            if session.sandbox_banner:
                print(session.sandbox_banner, file=sys.stderr)
            connection = session.connection

            async def main() -> int:
                async with Gateway(connection) as gateway:
                    code = await body(gateway, session)
                log.info("%s finished in %.2f s (exit %d)", args.command, time.perf_counter() - started, code)
                return code

            try:
                return asyncio.run(main())
            except GatewayError as err:
                if err.code == "SignInFailed":
                    paragraph = sign_in_paragraph(err, connection.describe(), connection.device_code)
                    return fail(args, err.code, paragraph, text=paragraph)
                return fail(args, err.code, err.plain(), text=err.plain())
            except OSError as err:  # a journal directory or output file the user named
                where = f" {err.filename}" if err.filename else ""
                return fail(args, "CannotWrite", f"cannot write{where}: {err.strerror or err}")
    except UsageError as err:
        return fail(
            args, "InvalidArguments", err.message, field=err.field, exit_code=EXIT_INVALID, text=f"runner-identity: {err}"
        )


# -- plan -----------------------------------------------------------------------------------------
def cmd_plan(args: argparse.Namespace) -> int:
    from .connect import command_hint

    plan = _valid_plan(args, lambda: plan_from_flags(args))
    if isinstance(plan, int):
        return plan
    to_file = args.out is not None and str(args.out) != "-"
    if to_file or not _json(args):
        failed = _write_out(args, args.out, plan.to_toml())
        if failed is not None:
            return failed
    doc: dict[str, Any] = {
        "status": "written",
        "plan": _plan_doc(plan),
        "out": str(args.out) if to_file else None,
        "problems": [],
        "steps": None,
    }
    hint = f"Apply it: {command_hint(args, 'apply', args.out)}" if to_file else None
    if args.offline:
        if _json(args):
            emit(args, doc)
        elif hint:
            print(hint, file=sys.stderr)
        return EXIT_OK

    async def preview(gateway: Any, _session: Any) -> int:
        from .steps import build_steps, read_live, render_text

        step_plan = build_steps(plan, await read_live(gateway, plan))
        if _json(args):
            doc.update(
                status="blocked" if step_plan.problems else "planned",
                problems=step_plan.problems,
                steps=_steps_doc(step_plan),
            )
            emit(args, doc)
        else:
            print(render_text(step_plan), file=sys.stderr)
            if hint and not step_plan.problems:
                print(hint, file=sys.stderr)
        return EXIT_FAILED if step_plan.problems else EXIT_OK

    return _run(args, preview)


# -- apply ----------------------------------------------------------------------------------------
def cmd_apply(args: argparse.Namespace) -> int:
    from .connect import command_hint

    plan = _read_plan(args, args.plan)
    if isinstance(plan, int):
        return plan
    if args.journal_dir is not None:
        try:
            args.journal_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            return fail(
                args,
                "CannotWrite",
                f"cannot create {args.journal_dir}: {err.strerror}",
                field="--journal-dir",
                exit_code=EXIT_INVALID,
            )
    out = sys.stderr if _json(args) else sys.stdout
    running: dict[str, Any] = {}

    async def run(gateway: Any, _session: Any) -> int:
        from .apply import Applier
        from .steps import render_text
        from .verify import render_checks

        display = _progress_display(args)
        gateway.connection.on_retry = display.retry
        applier = Applier(gateway, journal_dir=args.journal_dir, report=display.report)
        read_started = time.perf_counter()
        running["applier"] = applier
        step_plan = await applier.preview(plan)
        log.info("read the live state in %.2f s", time.perf_counter() - read_started)
        print(render_text(step_plan), file=out)
        if step_plan.problems:
            if _json(args):
                emit(args, _json_outcome("blocked", step_plan))
            return EXIT_FAILED
        if args.dry_run:
            if _json(args):
                emit(args, _json_outcome("dry run", step_plan))
            return EXIT_OK
        if step_plan.writes:
            declined = _declined(args, out, "Apply these changes?", "write")
            if declined is not None:
                return declined
        with display:
            outcome = await applier.apply(plan, step_plan)
        if outcome.journal:
            print(f"Journal: {outcome.journal}", file=out)
        if outcome.status == "nothing to do":
            print("Nothing to do: Azure already matches the plan. Nothing was written.", file=out)
        if outcome.error is not None:
            print(f"\nFailed: {outcome.error.plain()}", file=out)
            done = [s for s, r in outcome.results.items() if r.status == "done"]
            pending = [s for s, r in outcome.results.items() if r.status in ("failed", "not run")]
            print(f"Done: {', '.join(done) or 'nothing'}. Not done: {', '.join(pending)}.", file=out)
            print(
                f"Run `{command_hint(args, 'apply', args.plan)}` again to resume, or "
                f"`{command_hint(args, 'rollback', outcome.journal)}` to undo this run.",
                file=out,
            )
        if outcome.checks:
            print("\nVerify:\n" + render_checks(outcome.checks), file=out)
        if _json(args):
            emit(args, _json_outcome(outcome.status, step_plan, outcome))
        return EXIT_OK if outcome.ok else EXIT_FAILED

    try:
        return _run(args, run)
    except KeyboardInterrupt:
        applier = running.get("applier")
        journal = getattr(applier, "journal_path", None)
        if journal is None:
            message = "interrupted before anything was written"
        else:
            message = (
                f"interrupted: journal at {journal}, run `{command_hint(args, 'apply', args.plan)}` again to "
                f"resume or `{command_hint(args, 'rollback', journal)}` to undo"
            )
        return fail(args, "Interrupted", message, exit_code=interrupted_exit_code(), text=message)


def _json_outcome(status: str, step_plan: Any, outcome: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "status": status,
        "problems": step_plan.problems,
        "steps": _steps_doc(step_plan, outcome.results if outcome else None),
    }
    if outcome is not None:
        doc["journal"] = str(outcome.journal) if outcome.journal else None
        if outcome.identity is not None:
            doc["identity"] = {
                "id": outcome.identity.id,
                "client_id": outcome.identity.client_id,
                "principal_id": outcome.identity.principal_id,
            }
        if outcome.app is not None:
            doc["revision"] = outcome.app.latest_revision
        if outcome.error is not None:
            doc["error"] = {"code": outcome.error.code, "message": outcome.error.plain(), "field": None}
        doc["checks"] = [{"status": c.status, "name": c.name, "detail": c.detail} for c in outcome.checks]
    return doc


# -- verify ---------------------------------------------------------------------------------------
def cmd_verify(args: argparse.Namespace) -> int:
    plan = None
    if args.plan:
        read = _read_plan(args, args.plan)
        if isinstance(read, int):
            return read
        plan = read
    elif not args.container_app:
        return fail(
            args, "InvalidArguments", "give a plan file or --container-app ID", field="PLAN", exit_code=EXIT_INVALID
        )
    else:
        try:
            rules.resource_id(args.container_app, "--container-app", expected_type="Microsoft.App/containerApps")
            rules.env_var_name(args.env_var, "--env-var")
        except RuleError as err:
            return _problems(args, [err])

    async def run(gateway: Any, _session: Any) -> int:
        from .verify import render_checks, verify_app, verify_plan

        if plan is not None:
            checks = await verify_plan(gateway, plan)
        else:
            checks = await verify_app(gateway, args.container_app, args.env_var, args.container)
        problems = sum(1 for c in checks if c.status == "problem")
        if _json(args):
            emit(
                args,
                {
                    "status": "problem" if problems else "ok",
                    "problems": problems,
                    "warnings": sum(1 for c in checks if c.status == "warning"),
                    "checks": [{"status": c.status, "name": c.name, "detail": c.detail} for c in checks],
                },
            )
        else:
            print(render_checks(checks))
        return EXIT_FAILED if problems else EXIT_OK

    return _run(args, run)


# -- export ---------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    plan = _read_plan(args, args.plan)
    if isinstance(plan, int):
        return plan

    async def run(gateway: Any, _session: Any) -> int:
        from .export import export_text, write_export
        from .steps import build_steps, read_live

        step_plan = build_steps(plan, await read_live(gateway, plan))
        if step_plan.problems:
            for problem in step_plan.problems:
                print(f"  x {problem}", file=sys.stderr)
            return EXIT_FAILED
        if args.out is None or str(args.out) == "-":
            write_data(export_text(step_plan, args.format, gateway.connection))
            return EXIT_OK
        try:
            written = write_export(step_plan, args.format, args.out, gateway.connection)
        except OSError as err:
            return fail(
                args, "CannotWrite", f"cannot write {args.out}: {err.strerror}", field="--out", exit_code=EXIT_INVALID
            )
        for path in written:
            print(f"Wrote {path}", file=sys.stderr)
        return EXIT_OK

    return _run(args, run)


# -- rollback -------------------------------------------------------------------------------------
def cmd_rollback(args: argparse.Namespace) -> int:
    """Show the rollback plan of a journaled run, confirm, do exactly it. Exit 0 done or nothing to
    undo, 1 a step failed or was skipped, 2 a bad journal or a refused order."""
    from .connect import command_hint
    from .journal import JournalError
    from .rollback import read_run

    try:
        run = read_run(args.journal)
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        return fail(
            args, "InvalidJournal", f"{args.journal} cannot be read: {reason}", field="JOURNAL", exit_code=EXIT_INVALID
        )
    except JournalError:
        return fail(
            args,
            "InvalidJournal",
            f"{args.journal} is not a runner-identity journal",
            field="JOURNAL",
            exit_code=EXIT_INVALID,
        )
    out = sys.stderr if _json(args) else sys.stdout
    started = False  # whether execute() began: before it, an interruption wrote nothing

    async def body(gateway: Any, _session: Any) -> int:
        nonlocal started
        from .rollback import execute, outcome_lines, plan_rollback, render_text, to_json

        plan = await plan_rollback(gateway, run)
        print(f"Rollback of {for_terminal(str(args.journal))}:", file=out)
        print(render_text(plan), file=out)
        if plan.problems:
            for later in plan.first:
                print(f"Roll back the later run first: {for_terminal(command_hint(args, 'rollback', later))}", file=out)
            if _json(args):
                emit(args, to_json(plan, "refused"))
            return EXIT_INVALID
        if args.dry_run:
            if _json(args):
                emit(args, to_json(plan, "dry run"))
            return EXIT_OK
        if plan.writes:
            declined = _declined(args, out, "Roll back?", "roll back")
            if declined is not None:
                return declined
        started = True
        from .apply import Progress

        # What it waits for (someone else's update of the app) goes to stderr, as apply's waits do.
        with _progress_display(args) as shown:
            outcome = await execute(gateway, plan, report=lambda what: shown.report(Progress("app", "waiting", what)))
        if plan.writes:
            print("\n".join(text for _, text in outcome_lines(outcome)), file=out)
        if _json(args):
            emit(args, to_json(plan, outcome.status, outcome))
        return EXIT_OK if outcome.ok else EXIT_FAILED

    try:
        return _run(args, body)
    except KeyboardInterrupt:
        if started:
            journal = args.journal.resolve()
            message = (
                f"interrupted: journal at {journal}, run `{command_hint(args, 'rollback', journal)}` again to continue"
            )
        else:
            message = "interrupted before anything was written"
        return fail(args, "Interrupted", message, exit_code=interrupted_exit_code(), text=message)
