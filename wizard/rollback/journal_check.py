"""Whether rollback can trust a run's journal: its records as runner-identity writes them
(wizard/journal.py), its plan valid, and every write's target one that plan names; role assignment
names as apply makes them (`gateway.assignment_name`), providers as ARM ids them."""

from __future__ import annotations

import re
from typing import Any

from ..azure import ids
from ..azure.gateway import assignment_name
from ..journal import Run
from ..plan import Plan
from ..rules import RuleError
from .arm import GUID

_PROVIDER = re.compile(r"^/subscriptions/[0-9a-f-]{36}/providers/([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+)$", re.I)


def journal_problems(run: Run) -> list[str]:
    """Why rollback cannot trust this journal, if it cannot: records not as runner-identity writes them
    (`Run.problems`), a plan it cannot read, or a write whose target is not what that plan writes (an
    identity, app, role assignment or provider the plan never named). A journal edited by hand,
    damaged or from another version so never makes rollback write anywhere the run did not."""
    if run.problems:
        return list(run.problems)
    start = run.line(run.start)
    try:
        plan = Plan.from_toml(run.plan_text, source="plan")
    except RuleError as err:
        return [f"line {start}: the plan it holds cannot be read ({err.message.splitlines()[0]})"]
    if plan.problems():
        return [f"line {start}: the plan it holds is not valid ({plan.problems()[0]})"]
    app_id = plan.container_app.id if plan.container_app else None
    scopes = {plan.scope_of(r).lower() for r in plan.role_assignments}
    problems: list[str] = []
    for event in run.apply_events():
        if event.get("event") not in ("begin", "done"):
            continue
        step, target = str(event["step"]), str(event["target"])
        wrong = ""
        if step == "identity":
            if not _same_id(target, plan.identity_id):
                wrong = f"'target' is not the plan's identity {plan.identity_id}"
        elif step.startswith("role:"):
            if event["event"] == "begin":
                wrong = _role_problem(event, scopes)
        elif step in ("app", "unlink"):
            if app_id is None or not _same_id(target, app_id):
                wrong = f"'target' is not the plan's container app {app_id or '(none)'}"
            elif "identity" in event and not _same_id(str(event["identity"]), plan.identity_id):
                wrong = f"'identity' is not the plan's identity {plan.identity_id}"
            elif step == "app" and "pre_image" in event:
                pre, container = event["pre_image"], plan.container_app.container  # type: ignore[union-attr]
                if pre["env_var"] != plan.container_app.env_var or (container and pre["container"] != container):  # type: ignore[union-attr]
                    wrong = "'pre_image' names another container or variable than the plan's"
        elif step.startswith("provider:"):
            found = _PROVIDER.match(target)
            if found is None or found.group(1).lower() != step.removeprefix("provider:").lower():
                wrong = f"'target' is not the resource provider {step.removeprefix('provider:')}"
        else:
            wrong = f"step {step!r} is not one runner-identity writes"
        if wrong:
            problems.append(f"line {run.line(event)}: {wrong} (was the journal edited?)")
    return problems


def _same_id(value: str, wanted: str) -> bool:
    """Whether `value` is a well-formed id naming `wanted` (ARM ids are case-insensitive)."""
    try:
        return ids.parse(value).id.lower() == ids.parse(wanted).id.lower()
    except ids.InvalidId:
        return False


def _role_problem(event: dict[str, Any], scopes: set[str]) -> str:
    """What is wrong with a role assignment's `begin` record: its scope must be one the plan names,
    and its target the assignment apply names from that scope, the principal and the role."""
    if event["action"] != "create":
        return f"'action' {event['action']!r} is not one runner-identity writes for a role assignment"
    scope, role, principal = event.get("scope"), event.get("role"), event.get("principal_id")
    if not isinstance(scope, str) or scope.lower() not in scopes:
        return "'scope' is not one of the plan's role assignment scopes"
    if not (isinstance(role, str) and GUID.match(role) and isinstance(principal, str) and GUID.match(principal)):
        return "'role' and 'principal_id' must be GUIDs"
    name = assignment_name(scope, principal, role)
    if str(event["target"]).lower() != f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}".lower():
        return "'target' is not the role assignment apply makes for this scope, principal and role"
    return ""
