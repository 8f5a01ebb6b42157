"""Verify: read the live state back and check that the runner can really sign in as its identity."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

from .app_write import arm_time
from .azure.errors import GatewayError
from .azure.gateway import Gateway
from .model import ContainerApp, Identity, Revision, RoleAssignment, RoleDefinition, resource_group_of
from .plan import Plan
from .steps import (
    CREDENTIAL_OVERRIDES,
    PRIVILEGED_ROLES,
    access_policy_vaults,
    access_policy_warning,
    read_live,
    target_container,
)
from .text import for_terminal

# Azure RBAC can take up to 10 minutes to honour a new role assignment (Microsoft Learn, "Troubleshoot
# Azure RBAC"), longer where a token minted before it is still cached; a new revision starts at once.
RECENT_ASSIGNMENT_S = 30 * 60


@dataclass(frozen=True)
class Check:
    status: str  # "ok" | "problem" | "warning"
    name: str
    detail: str = ""


def _app_checks(
    app: ContainerApp,
    identity: Identity | None,
    container: str | None,
    env_var: str,
    revisions: list[Revision],
) -> list[Check]:
    checks: list[Check] = []
    if app.provisioning_state.lower() not in ("succeeded", "failed", ""):
        checks.append(
            Check("problem", f"{app.name} is provisioned", f"its last update is still {app.provisioning_state}")
        )
    if app.provisioning_state.lower() == "failed":
        checks.append(
            Check(
                "problem",
                f"{app.name} is provisioned",
                "its last update failed; see the portal's Activity log, then rerun apply",
            )
        )
    if identity is not None:
        linked = app.linked(identity.id)
        label = f"{identity.name} is linked to {app.name}"
        if linked is None:
            checks.append(Check("problem", label, "not in the app's user-assigned identities"))
        elif not linked.holds(identity):
            checks.append(
                Check(
                    "problem",
                    label,
                    f"the app holds an earlier {identity.name} (principal {linked.principal_id or 'unknown'}); the "
                    f"identity was deleted and re-created since, its principal is now {identity.principal_id}: "
                    "run apply to relink it",
                )
            )
        else:
            checks.append(Check("ok", label))
    if container is None:
        return checks
    env = {e.name: e for e in app.env(container)}
    var = app.env_var(container, env_var)  # the last entry of that name: the one the runtime uses
    label = f"{env_var} on {container} is the client ID"
    if identity is None:
        pass
    elif var is None:
        checks.append(Check("problem", label, f"{env_var} is not set"))
    elif var.secret_ref:
        checks.append(Check("problem", label, f"{env_var} comes from secret '{var.secret_ref}', not the client ID"))
    elif var.value == identity.client_id:
        checks.append(Check("ok", label, identity.client_id))
    elif var.value == identity.principal_id:
        checks.append(
            Check(
                "problem",
                label,
                f"{env_var} holds the principal (object) ID; it must be the client ID {identity.client_id}",
            )
        )
    else:
        checks.append(Check("problem", label, f"{env_var} is {_quoted(var.value)}, not {identity.client_id}"))
    if all(n in env for n in CREDENTIAL_OVERRIDES):
        checks.append(
            Check(
                "warning",
                f"{container} has no client secret",
                "AZURE_TENANT_ID and AZURE_CLIENT_SECRET "
                "are set: the Azure SDK's EnvironmentCredential signs in with them first",
            )
        )
    if app.revision_mode.lower() == "multiple":
        wanted = identity.client_id if identity else (var.value if var else None)
        stale = [
            r.name
            for r in revisions
            if r.active and r.name != app.latest_revision and r.env_value(container, env_var) != wanted
        ]
        if stale:
            checks.append(
                Check(
                    "warning",
                    "older active revisions use the client ID",
                    f"{', '.join(stale)} still run without {env_var}={wanted}: deactivate them",
                )
            )
    return checks


async def verify_plan(gateway: Gateway, plan: Plan, principal_hint: str | None = None) -> list[Check]:
    async def revisions() -> list[Revision]:
        # Read alongside the rest: only Multiple revision mode needs them, but asking costs no extra wait.
        if plan.container_app is None:
            return []
        try:
            return await gateway.revisions(plan.container_app.id)
        except GatewayError as err:
            if err.status == 404:  # the app itself is gone: reported below
                return []
            raise

    live, all_revisions = await asyncio.gather(
        read_live(gateway, plan, principal_hint=principal_hint, check_permissions=False), revisions()
    )
    checks: list[Check] = []
    identity = live.identity
    if identity is None:
        checks.append(
            Check("problem", f"identity {plan.identity.name} exists", f"not found in {plan.identity.resource_group}")
        )
    else:
        checks.append(Check("ok", f"identity {identity.name} exists", f"client ID {identity.client_id}"))
    roles_by_guid: dict[str, RoleDefinition] = {r.guid: r for r in await gateway.role_definitions(plan.subscription)}
    for i, (request, role) in enumerate(zip(plan.role_assignments, live.roles, strict=True)):
        scope = plan.scope_of(request)
        name = f"'{role.name if role else request.role}' at {scope}"
        if role is None:
            ambiguous = live.ambiguous_roles.get(i)
            checks.append(Check("problem", name, str(ambiguous) if ambiguous else "no such role"))
            continue
        held = identity is not None and any(
            a.scope.lower() == scope.lower() and a.role_guid == role.guid for a in live.assignments
        )
        checks.append(Check("ok", f"role {name}") if held else Check("problem", f"role {name}", "not assigned"))
        vaults = access_policy_vaults(scope, role, live)
        if vaults:
            checks.append(
                Check(
                    "warning",
                    f"'{role.name}' grants data access at {scope}",
                    access_policy_warning(scope, role, vaults),
                )
            )
    recent = recent_assignments(live.assignments, roles_by_guid)
    if recent is not None:
        checks.append(recent)
    for assignment in live.assignments:
        role = roles_by_guid.get(assignment.role_guid)
        if role is not None and role.name.lower() in PRIVILEGED_ROLES:
            checks.append(
                Check(
                    "warning",
                    "the runner holds no privileged role",
                    f"'{role.name}' at {assignment.scope}: more than a runner needs",
                )
            )
    if plan.container_app is not None:
        app = live.app
        if app is None:
            checks.append(Check("problem", "container app exists", plan.container_app.id))
        else:
            container, problem = target_container(plan, app)
            if problem:
                checks.append(Check("problem", "target container exists", problem))
            revisions = all_revisions if app.revision_mode.lower() == "multiple" else []
            checks += _app_checks(app, identity, container, plan.container_app.env_var, revisions)
    return checks


async def verify_app(gateway: Gateway, app_id: str, env_var: str, container: str | None = None) -> list[Check]:
    """Verify an app without a plan: the identity is the linked one whose client ID the variable holds."""
    app, revisions = await asyncio.gather(gateway.container_app(app_id), gateway.revisions(app_id))
    if app is None:
        return [Check("problem", "container app exists", app_id)]
    names = app.container_names
    chosen = container or (names[0] if len(names) == 1 else None)
    if chosen is None:
        chosen = next((n for n in names if any(e.name == env_var for e in app.env(n))), None)
    if chosen is None or chosen not in names:
        return [Check("problem", "target container exists", f"name one of: {', '.join(names)}")]
    found = app.env_var(chosen, env_var)  # the last entry of that name: the one the runtime uses
    value = found.value if found is not None else None
    linked = next((u for u in app.user_identities if value and u.client_id == value), None)
    identity = None
    if linked is not None:
        parts = linked.id.split("/")
        identity = await gateway.identity(app.subscription, resource_group_of(linked.id), parts[-1])
    checks = []
    if identity is None:
        by_principal = next((u for u in app.user_identities if value and u.principal_id == value), None)
        detail = (
            f"{env_var} holds the principal ID of {by_principal.id.rsplit('/', 1)[-1]}; use its client ID {by_principal.client_id}"
            if by_principal
            else f"{env_var}={_quoted(value)} matches no user-assigned identity linked to {app.name}"
        )
        checks.append(Check("problem", f"{env_var} names a linked identity", detail))
        return checks + _app_checks(app, None, chosen, env_var, revisions)
    if identity.client_id.lower() != (value or "").lower():
        checks.append(
            Check(
                "problem",
                f"{env_var} names a linked identity",
                f"{env_var} holds the client ID of an earlier {identity.name}: the identity was deleted and re-created "
                f"since, its client ID is now {identity.client_id}. Run apply with a plan to relink it",
            )
        )
    else:
        checks.append(Check("ok", f"{env_var} names a linked identity", identity.name))
    assignments = await gateway.role_assignments(app.subscription, identity.principal_id)
    roles = {r.guid: r for r in await gateway.role_definitions(app.subscription)}
    recent = recent_assignments(assignments, roles)
    if recent is not None:
        checks.append(recent)
    if not assignments:
        checks.append(
            Check("warning", f"{identity.name} holds roles", "it has no role assignments in this subscription")
        )
    for a in assignments:
        role = roles.get(a.role_guid)
        checks.append(Check("ok", f"role '{role.name if role else a.role_guid}' at {a.scope}"))
        if role is not None and role.name.lower() in PRIVILEGED_ROLES:
            checks.append(Check("warning", "the runner holds no privileged role", f"'{role.name}' at {a.scope}"))
    return checks + _app_checks(app, identity, chosen, env_var, revisions)


def _quoted(value: str | None) -> str:
    return "unset" if value is None else repr(value)


def recent_assignments(assignments: list[RoleAssignment], roles: dict[str, RoleDefinition]) -> Check | None:
    """A warning naming the role assignments made in the last RECENT_ASSIGNMENT_S seconds, with their
    times: they may not be in effect yet, while the revision that uses them runs already."""
    now = datetime.now(timezone.utc)
    made = []
    for a in assignments:
        when = arm_time(a.created_on or "")
        if when is None or (now - when).total_seconds() > RECENT_ASSIGNMENT_S:
            continue
        role = roles.get(a.role_guid)
        minutes = max(0, int((now - when).total_seconds() // 60))
        made.append(
            f"'{role.name if role else a.role_guid}' at {a.scope.rstrip('/').rsplit('/', 1)[-1]} "
            f"at {when:%H:%M:%S} UTC ({minutes} min ago)"
        )
    if not made:
        return None
    return Check(
        "warning",
        "new role assignments are in effect",
        f"assigned {'; '.join(made)}. Azure can take up to 10 minutes to honour a new role assignment (longer if the "
        "runner holds a token from before it), and the new revision runs already: until then the runner may be "
        "refused (403). Run verify again later, or restart the revision if it keeps failing",
    )


def render_checks(checks: list[Check]) -> str:
    marks = {"ok": "ok     ", "problem": "PROBLEM", "warning": "warning"}
    # Names and details hold text from Azure (role names, variable values): escaped for the terminal.
    lines = [
        f"{marks[c.status]}  {for_terminal(c.name)}" + (f": {for_terminal(c.detail)}" if c.detail else "")
        for c in checks
    ]
    problems = sum(1 for c in checks if c.status == "problem")
    warnings = sum(1 for c in checks if c.status == "warning")
    lines.append(f"\n{len(checks) - problems - warnings} ok, {problems} problems, {warnings} warnings.")
    return "\n".join(lines)
