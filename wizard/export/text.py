"""Pieces both exports share: the plan's summary, step comments, one-line text and URL paths."""

from __future__ import annotations

from urllib.parse import quote

from ..model import RoleDefinition
from ..steps import Step, StepPlan, target_container

ACTIONS = ("create", "update", "unchanged")


def about(step_plan: StepPlan) -> list[str]:
    """The plan in a few lines, for the head of an exported file."""
    plan = step_plan.plan
    lines = [
        "runner-identity: give the Maia runner on Azure Container Apps a user-assigned managed identity.",
        "Creates (or reuses) the identity, assigns its roles, links it to the container app and sets",
        "the runner container's client ID variable to the identity's client ID.",
        "",
        f"  subscription:  {plan.subscription}",
        f"  identity:      {plan.identity_id}",
    ]
    for request in plan.role_assignments:
        lines.append(f"  role:          {request.role} at {plan.scope_of(request)}")
    if plan.container_app is not None:
        app = plan.container_app
        container = ""
        if step_plan.live.app is not None:
            container = target_container(plan, step_plan.live.app)[0] or ""
        container = container or app.container or "(its only container)"
        lines.append(f"  container app: {app.id}")
        lines.append(f"                 container {container}, variable {app.env_var}")
    counts = {a: sum(1 for s in step_plan.steps if s.action == a) for a in ACTIONS}
    lines.append(
        f"  when exported: {counts['create']} to create, {counts['update']} to change, {counts['unchanged']} unchanged"
    )
    return lines


def step_comment(step: Step, mark: str) -> list[str]:
    """A step as comment lines: what it does, its details and warnings."""
    if step.writes:
        lines = [f"{mark} --- {step.action}: {one_line(step.summary)}"]
        lines += [f"{mark}     {one_line(d)}" for d in step.details]
    else:
        lines = [f"{mark} unchanged when exported: {one_line(step.summary)}"]
    lines += [f"{mark}   ! {one_line(w)}" for w in step.warnings]
    return lines


def comment_block(lines: list[str], prefix: str) -> list[str]:
    return [(prefix + one_line(line)).rstrip() for line in lines]


def one_line(text: object) -> str:
    """Text safe inside a one-line comment: no line breaks or other control characters."""
    return "".join(" " if ord(ch) < 0x20 or ch in "\x7f\x85\u2028\u2029" else ch for ch in str(text))


def role_of(step: Step) -> RoleDefinition | None:
    role = step.data.get("role")
    return role if isinstance(role, RoleDefinition) else None


def url_path(resource_id: str) -> str:
    """A resource id as a URL path: every character but letters, digits, '-', '.', '_', '~' and '/'
    percent-encoded, so no name can read as a query, an option or a file reference."""
    return quote(resource_id, safe="/-._~")
