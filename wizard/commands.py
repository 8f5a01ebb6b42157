"""The headless commands: plan, apply, verify, export, rollback. Exit codes: 0 done, 1 failed
(or a verify problem), 2 invalid input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from . import rules
from .plan import AppTarget, IdentitySpec, Plan, RoleRequest
from .rules import RuleError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _print_problems(problems: list[RuleError], out: TextIO) -> None:
    print("The plan is not valid; nothing was sent to Azure:", file=out)
    for problem in problems:
        print(f"  x {problem}", file=out)


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


def _run(args: argparse.Namespace, body: Callable[[Any, Any], Awaitable[int]]) -> int:
    """Open the connection (or sandbox), make a gateway, run `body(gateway, session)`."""
    from .azure.errors import GatewayError
    from .azure.gateway import Gateway
    from .connect import open_session

    with open_session(args) as session:
        if session.sandbox_banner:
            print(session.sandbox_banner, file=sys.stderr)

        async def main() -> int:
            async with Gateway(session.connection) as gateway:
                return await body(gateway, session)

        try:
            return asyncio.run(main())
        except GatewayError as err:
            print(err.plain(), file=sys.stderr)
            return EXIT_FAILED


# -- plan -----------------------------------------------------------------------------------------
def cmd_plan(args: argparse.Namespace) -> int:
    plan = _valid_plan(lambda: plan_from_flags(args))
    if isinstance(plan, int):
        return plan
    if args.out:
        plan.save(args.out)
        print(f"Wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(plan.to_toml())
    if args.offline:
        return EXIT_OK

    async def preview(gateway: Any, _session: Any) -> int:
        from .steps import build_steps, read_live, render_text

        step_plan = build_steps(plan, await read_live(gateway, plan))
        print(render_text(step_plan), file=sys.stderr)
        return EXIT_FAILED if step_plan.problems else EXIT_OK

    return _run(args, preview)


# -- apply ----------------------------------------------------------------------------------------
def _valid_plan(make: Callable[[], Plan]) -> Plan | int:
    """The plan, or EXIT_INVALID after saying every rule it breaks (before anything is sent)."""
    try:
        plan = make()
    except RuleError as err:
        _print_problems([err], sys.stderr)
        return EXIT_INVALID
    problems = plan.problems()
    if problems:
        _print_problems(problems, sys.stderr)
        return EXIT_INVALID
    return plan


def _read_plan(path: Path) -> Plan | int:
    return _valid_plan(lambda: load_plan(path))


def cmd_apply(args: argparse.Namespace) -> int:
    plan = _read_plan(args.plan)
    if isinstance(plan, int):
        return plan
    out = sys.stderr if args.json else sys.stdout

    async def run(gateway: Any, _session: Any) -> int:
        from .apply import Applier, Progress
        from .steps import render_text
        from .verify import render_checks

        def report(p: Progress) -> None:
            if not args.json and p.status in ("done", "failed"):
                print(
                    f"  {p.status:<6} {p.step_id:<8} {p.seconds:6.2f}s  {p.message.splitlines()[0] if p.message else ''}",
                    file=out,
                )

        applier = Applier(gateway, journal_dir=args.journal_dir, report=report)
        step_plan = await applier.preview(plan)
        print(render_text(step_plan), file=out)
        if step_plan.problems:
            if args.json:
                print(json.dumps(_json_outcome("blocked", step_plan)))
            return EXIT_FAILED
        if args.dry_run:
            if args.json:
                print(json.dumps(_json_outcome("dry run", step_plan)))
            return EXIT_OK
        if step_plan.writes and not args.yes:
            if not sys.stdin.isatty():
                print("Refusing to write without confirmation: rerun with --yes.", file=sys.stderr)
                return EXIT_INVALID
            answer = input("Apply these changes? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("Nothing was changed.", file=out)
                return EXIT_OK
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
                f"Run `runner-identity apply {args.plan}` again to resume, or "
                f"`runner-identity rollback {outcome.journal}` to undo this run.",
                file=out,
            )
        if outcome.checks:
            print("\nVerify:\n" + render_checks(outcome.checks), file=out)
        if args.json:
            print(json.dumps(_json_outcome(outcome.status, step_plan, outcome)))
        return EXIT_OK if outcome.ok else EXIT_FAILED

    return _run(args, run)


def _json_outcome(status: str, step_plan: Any, outcome: Any = None) -> dict[str, Any]:
    results = outcome.results if outcome else {}
    doc: dict[str, Any] = {
        "status": status,
        "problems": step_plan.problems,
        "steps": [
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
        ],
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
            doc["error"] = {"code": outcome.error.code, "message": outcome.error.message}
        doc["checks"] = [{"status": c.status, "name": c.name, "detail": c.detail} for c in outcome.checks]
    return doc


# -- verify ---------------------------------------------------------------------------------------
def cmd_verify(args: argparse.Namespace) -> int:
    plan = None
    if args.plan:
        read = _read_plan(args.plan)
        if isinstance(read, int):
            return read
        plan = read
    elif not args.container_app:
        print("Give a plan file or --container-app ID.", file=sys.stderr)
        return EXIT_INVALID
    else:
        try:
            rules.resource_id(args.container_app, "--container-app", expected_type="Microsoft.App/containerApps")
            rules.env_var_name(args.env_var, "--env-var")
        except RuleError as err:
            _print_problems([err], sys.stderr)
            return EXIT_INVALID

    async def run(gateway: Any, _session: Any) -> int:
        from .verify import render_checks, verify_app, verify_plan

        if plan is not None:
            checks = await verify_plan(gateway, plan)
        else:
            checks = await verify_app(gateway, args.container_app, args.env_var, args.container)
        if args.json:
            print(json.dumps([{"status": c.status, "name": c.name, "detail": c.detail} for c in checks]))
        else:
            print(render_checks(checks))
        return EXIT_FAILED if any(c.status == "problem" for c in checks) else EXIT_OK

    return _run(args, run)


# -- export ---------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    plan = _read_plan(args.plan)
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
        if args.out:
            for path in write_export(step_plan, args.format, args.out, gateway.connection):
                print(f"Wrote {path}", file=sys.stderr)
        else:
            sys.stdout.write(export_text(step_plan, args.format, gateway.connection))
        return EXIT_OK

    return _run(args, run)


# -- rollback -------------------------------------------------------------------------------------
def cmd_rollback(args: argparse.Namespace) -> int:
    """Show the rollback plan of a journaled run, confirm, do exactly it. Exit 0 done or nothing to
    undo, 1 a step failed or was skipped, 2 a bad journal or a refused order."""
    from .journal import JournalError
    from .rollback import read_run

    try:
        run = read_run(args.journal)
    except OSError as err:
        print(f"journal: {args.journal} cannot be read: {err.strerror}", file=sys.stderr)
        return EXIT_INVALID
    except JournalError:
        print(f"journal: {args.journal} is not a runner-identity journal", file=sys.stderr)
        return EXIT_INVALID
    out = sys.stderr if args.json else sys.stdout

    async def body(gateway: Any, _session: Any) -> int:
        from .rollback import execute, outcome_lines, plan_rollback, render_text, to_json

        plan = await plan_rollback(gateway, run)
        print(f"Rollback of {args.journal}:", file=out)
        print(render_text(plan), file=out)
        if plan.problems or args.dry_run:
            if args.json:
                print(json.dumps(to_json(plan, "refused" if plan.problems else "dry run")))
            return EXIT_INVALID if plan.problems else EXIT_OK
        if plan.writes and not args.yes:
            if not sys.stdin.isatty():
                print("Refusing to roll back without confirmation: rerun with --yes.", file=sys.stderr)
                return EXIT_INVALID
            if input("Roll back? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing was changed.", file=out)
                return EXIT_OK
        outcome = await execute(gateway, plan)
        if plan.writes:
            print("\n".join(text for _, text in outcome_lines(outcome)), file=out)
        if args.json:
            print(json.dumps(to_json(plan, outcome.status, outcome)))
        return EXIT_OK if outcome.ok else EXIT_FAILED

    return _run(args, body)
