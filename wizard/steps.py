"""From a plan and the live state to steps: what apply will create, update or leave alone.

`read_live` reads everything a plan touches, concurrently; `build_steps` is pure, so the
wizard's review screen, `plan`, `apply --dry-run` and the tests all see the same diff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .azure.errors import GatewayError
from .azure.gateway import AmbiguousRole, Gateway, allows, match_roles
from .model import ContainerApp, Identity, Permission, ResourceGroup, RoleAssignment, RoleDefinition, ScopeResource
from .plan import Plan, RoleRequest
from .text import for_terminal

RA_WRITE = "Microsoft.Authorization/roleAssignments/write"
IDENTITY_WRITE = "Microsoft.ManagedIdentity/userAssignedIdentities/write"
APP_WRITE = "Microsoft.App/containerApps/write"
IDENTITY_ASSIGN = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
PRIVILEGED_ROLES = {
    "owner",
    "contributor",
    "user access administrator",
    "role based access control administrator",
}
CREDENTIAL_OVERRIDES = ("AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")
T = TypeVar("T")


@dataclass
class LiveState:
    """What Azure holds now, for everything the plan names."""

    group: ResourceGroup | None = None
    identity: Identity | None = None
    roles: list[RoleDefinition | None] = field(default_factory=list)  # one per plan request, None: unknown
    ambiguous_roles: dict[int, AmbiguousRole] = field(default_factory=dict)  # request index -> roles of that name
    assignments: list[RoleAssignment] = field(default_factory=list)  # of the identity's principal
    app: ContainerApp | None = None
    vaults: dict[str, ScopeResource] = field(default_factory=dict)  # lower-cased id -> vault
    permissions: dict[str, list[Permission]] = field(default_factory=dict)  # lower-cased scope -> blocks
    unreadable_scopes: dict[str, str] = field(default_factory=dict)  # scope -> why it could not be read


async def read_live(
    gateway: Gateway, plan: Plan, *, principal_hint: str | None = None, check_permissions: bool = True
) -> LiveState:
    """Read the live state in parallel: one round trip deep when the identity's principal is
    known (`principal_hint`, e.g. right after apply), else two (the identity, then its assignments).
    """
    sub = plan.subscription
    scopes: dict[str, str] = {}
    if check_permissions:
        scopes[plan.group_scope().lower()] = plan.group_scope()
        for request in plan.role_assignments:
            scope = plan.scope_of(request)
            scopes.setdefault(scope.lower(), scope)
        if plan.container_app:
            scopes.setdefault(plan.container_app.id.lower(), plan.container_app.id)

    async def identity_and_assignments() -> tuple[Identity | None, list[RoleAssignment]]:
        if principal_hint:
            identity, assignments = await asyncio.gather(
                gateway.identity(sub, plan.identity.resource_group, plan.identity.name),
                gateway.role_assignments(sub, principal_hint),
            )
            return identity, assignments if identity is not None else []
        identity = await gateway.identity(sub, plan.identity.resource_group, plan.identity.name)
        if identity is None:
            return None, []
        return identity, await gateway.role_assignments(sub, identity.principal_id)

    async def permissions(scope: str) -> tuple[str, list[Permission] | str]:
        try:
            return scope, await gateway.permissions(scope)
        except GatewayError as err:
            if err.status in (400, 404):
                return scope, err.message or err.code
            raise

    async def app() -> ContainerApp | None:
        return await gateway.container_app(plan.container_app.id) if plan.container_app else None

    async def vaults() -> list[ScopeResource]:
        wanted = {
            r.scope for r in plan.role_assignments if r.scope and "/microsoft.keyvault/vaults/" in r.scope.lower()
        }
        found = await asyncio.gather(*(gateway.scope_resource(v) for v in sorted(wanted)))
        return [v for v in found if v is not None]

    group_task = gateway.resource_group(sub, plan.identity.resource_group)
    results = await asyncio.gather(
        group_task,
        identity_and_assignments(),
        gateway.role_definitions(sub),
        app(),
        vaults(),
        *(permissions(s) for s in scopes.values()),
    )
    group, (identity, assignments), roles, found_app, found_vaults = results[:5]
    live = LiveState(group=group, identity=identity, assignments=assignments, app=found_app)
    for i, request in enumerate(plan.role_assignments):
        matches = match_roles(roles, request.role)
        live.roles.append(matches[0] if len(matches) == 1 else None)
        if len(matches) > 1:
            live.ambiguous_roles[i] = AmbiguousRole(request.role, matches)
    live.vaults = {v.id.lower(): v for v in found_vaults if v.is_vault}
    for scope, answer in results[5:]:
        if isinstance(answer, str):
            live.unreadable_scopes[scope] = answer
        else:
            live.permissions[scope.lower()] = answer
    return live


@dataclass
class Step:
    id: str  # "identity", "role:<n>", "link", "env"
    kind: str  # "identity" | "role_assignment" | "identity_link" | "env_var"
    action: str  # "create" | "update" | "unchanged"
    summary: str
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    depends_on: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return self.action != "unchanged"


@dataclass
class StepPlan:
    plan: Plan
    live: LiveState
    steps: list[Step]
    problems: list[str]  # anything that stops apply before it writes

    @property
    def writes(self) -> bool:
        return any(s.writes for s in self.steps)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def warnings(self) -> list[str]:
        return [w for s in self.steps for w in s.warnings]


def target_container(plan: Plan, app: ContainerApp) -> tuple[str | None, str | None]:
    """(container name, problem): the named container, or the app's only one."""
    names = app.container_names
    wanted = plan.container_app.container if plan.container_app else None
    if wanted:
        if wanted in names:
            return wanted, None
        return None, f"container '{wanted}' is not in {app.name} (it has: {', '.join(names) or 'none'})"
    if len(names) == 1:
        return names[0], None
    return None, f'{app.name} has {len(names)} containers ({", ".join(names)}): name one with container = "..."'


def privileged(role: RoleDefinition) -> bool:
    return role.name.lower() in PRIVILEGED_ROLES


def build_steps(plan: Plan, live: LiveState) -> StepPlan:
    problems: list[str] = []
    steps: list[Step] = []
    identity = live.identity
    spec = plan.identity

    # 1. the identity
    if live.group is None:
        problems.append(f"resource group '{spec.resource_group}' was not found in subscription {plan.subscription}")
    location = spec.location or (live.group.location if live.group else "")
    if identity is None:
        details = [f"location: {location}"] + [f"tag {k} = {v}" for k, v in spec.tags.items()]
        steps.append(
            Step(
                "identity",
                "identity",
                "create",
                f"create managed identity {spec.name} in {spec.resource_group}",
                details,
                data={"location": location, "tags": dict(spec.tags)},
            )
        )
        _need(live, plan.group_scope(), IDENTITY_WRITE, "create the identity", problems)
    else:
        missing = {k: v for k, v in spec.tags.items() if identity.tags.get(k) != v}
        warnings = []
        if spec.location and spec.location != identity.location:
            warnings.append(
                f"identity {identity.name} exists in {identity.location}, not {spec.location}: reused as is"
            )
        if missing:
            steps.append(
                Step(
                    "identity",
                    "identity",
                    "update",
                    f"reuse managed identity {identity.name}, adding tags",
                    [f"tag {k}: {identity.tags.get(k, '(none)')} -> {v}" for k, v in missing.items()],
                    warnings,
                    data={"tags": {**identity.tags, **missing}, "old_tags": dict(identity.tags)},
                )
            )
            _need(live, plan.group_scope(), IDENTITY_WRITE, "tag the identity", problems)
        else:
            steps.append(
                Step(
                    "identity",
                    "identity",
                    "unchanged",
                    f"reuse managed identity {identity.name}",
                    [f"client ID {identity.client_id}", f"principal ID {identity.principal_id}"],
                    warnings,
                )
            )

    # 2. role assignments
    for i, request in enumerate(plan.role_assignments):
        steps.append(_role_step(plan, live, i, request, problems))

    # 3 and 4. the link and the variable, one PATCH
    if plan.container_app is not None:
        steps += _app_steps(plan, live, problems)
    return StepPlan(plan, live, steps, problems)


def _need(live: LiveState, scope: str, action: str, purpose: str, problems: list[str]) -> None:
    blocks = live.permissions.get(scope.lower())
    if blocks is None:
        why = live.unreadable_scopes.get(scope)
        if why:
            problems.append(f"scope {scope} cannot be read: {why}")
        return
    if not allows(blocks, action):
        problems.append(f"you cannot {purpose}: {action} is not granted to you at {scope}")


def _role_step(plan: Plan, live: LiveState, i: int, request: RoleRequest, problems: list[str]) -> Step:
    scope = plan.scope_of(request)
    role = live.roles[i] if i < len(live.roles) else None
    step_id = f"role:{i}"
    if role is None:
        ambiguous = live.ambiguous_roles.get(i)
        problems.append(
            str(ambiguous) if ambiguous else f"role '{request.role}' does not exist in subscription {plan.subscription}"
        )
        return Step(step_id, "role_assignment", "create", f"assign '{request.role}' at {scope}", data={"scope": scope})
    warnings = []
    if privileged(role):
        warnings.append(
            f"'{role.name}' is a privileged role: the runner needs data access only; prefer a narrower role"
        )
    vault = live.vaults.get(scope.lower())
    if vault is not None and vault.rbac_enabled is False and role.name.lower().startswith("key vault"):
        warnings.append(
            f"vault {vault.name} uses access policies, not Azure RBAC: '{role.name}' grants no data access there "
            "until the vault's permission model is switched to Azure role-based access control"
        )
    if scope in live.unreadable_scopes:
        problems.append(f"scope {scope} cannot be read: {live.unreadable_scopes[scope]}")
    else:
        blocks = live.permissions.get(scope.lower())
        if blocks is not None and not allows(blocks, RA_WRITE):
            problems.append(
                f"you cannot assign roles at {scope}: {RA_WRITE} is not granted to you there "
                "(it takes Owner, User Access Administrator or Role Based Access Control Administrator)"
            )
    held = live.identity is not None and any(
        a.scope.lower() == scope.lower() and a.role_guid == role.guid for a in live.assignments
    )
    data = {"scope": scope, "role": role}
    if held:
        return Step(
            step_id,
            "role_assignment",
            "unchanged",
            f"'{role.name}' at {_short(scope)} is assigned",
            [scope],
            warnings,
            ("identity",),
            data,
        )
    return Step(
        step_id,
        "role_assignment",
        "create",
        f"assign '{role.name}' at {_short(scope)}",
        [scope, f"role {role.guid} ({role.kind})"],
        warnings,
        ("identity",),
        data,
    )


def _app_steps(plan: Plan, live: LiveState, problems: list[str]) -> list[Step]:
    target = plan.container_app
    assert target is not None
    app = live.app
    if app is None:
        problems.append(f"container app {target.id} was not found")
        return []
    _need(live, app.id, APP_WRITE, f"update {app.name}", problems)
    identity = live.identity
    identity_id = plan.identity_id
    steps: list[Step] = []

    linked = app.linked(identity_id) is not None
    new_type = union_type(app.identity_type)
    if linked:
        steps.append(
            Step(
                "link",
                "identity_link",
                "unchanged",
                f"{plan.identity.name} is linked to {app.name}",
                depends_on=("identity",),
            )
        )
    else:
        _need(live, plan.group_scope(), IDENTITY_ASSIGN, f"link {plan.identity.name} to an app", problems)
        had = app.identity_type if app.identity_type.strip().lower() not in ("", "none") else "no identity"
        details = [f"identity type: {had} -> {new_type}"]
        if app.system_principal_id:
            details.append("the system-assigned identity is kept")
        details += [f"keeps user-assigned {u.id.rsplit('/', 1)[-1]}" for u in app.user_identities]
        steps.append(
            Step(
                "link",
                "identity_link",
                "create",
                f"link {plan.identity.name} to {app.name}",
                details,
                depends_on=("identity",),
                data={"type": new_type},
            )
        )

    container, problem = target_container(plan, app)
    if problem:
        problems.append(problem)
        return steps
    assert container is not None
    env = {e.name: e for e in app.env(container)}
    current = env.get(target.env_var)
    client_id = identity.client_id if identity else None
    shown = client_id or f"(client ID of {plan.identity.name}, known once it is created)"
    warnings = []
    others = [n for n in CREDENTIAL_OVERRIDES if n in env]
    if len(others) == len(CREDENTIAL_OVERRIDES):
        warnings.append(
            f"container {container} also sets AZURE_TENANT_ID and AZURE_CLIENT_SECRET: the Azure SDK will sign in "
            "with that secret instead of the managed identity"
        )
    if app.revision_mode.lower() == "multiple":
        warnings.append(
            f"{app.name} runs in Multiple revision mode: older active revisions keep running without "
            f"{target.env_var} until you deactivate them"
        )
    where = f"{target.env_var} on container {container} of {app.name}"
    if current is None:
        steps.append(
            Step(
                "env",
                "env_var",
                "create",
                f"add {where}",
                [f"+ {target.env_var}={shown}"],
                warnings,
                ("identity",),
                {"container": container, "previous": None},
            )
        )
    elif client_id is not None and current.secret_ref is None and current.value == client_id:
        steps.append(
            Step(
                "env",
                "env_var",
                "unchanged",
                f"{where} holds the client ID",
                [],
                warnings,
                data={"container": container},
            )
        )
    else:
        old = current.shown()
        if identity is not None and current.value == identity.principal_id:
            warnings.append(f"{target.env_var} holds the identity's principal ID; it must be the client ID")
        warnings.append(f"{target.env_var} currently holds {old or '(empty)'}: it will be replaced")
        steps.append(
            Step(
                "env",
                "env_var",
                "update",
                f"replace {where}",
                [f"- {target.env_var}={old}", f"+ {target.env_var}={shown}"],
                warnings,
                ("identity",),
                {
                    "container": container,
                    "previous": {"name": current.name, "value": current.value, "secretRef": current.secret_ref},
                },
            )
        )
    return steps


def union_type(current: str) -> str:
    """The identity type that adds UserAssigned and keeps a system-assigned identity if there is one."""
    system = "systemassigned" in current.replace(" ", "").lower().split(",")
    return "SystemAssigned,UserAssigned" if system else "UserAssigned"


def _short(scope: str) -> str:
    parts = scope.strip("/").split("/")
    if len(parts) <= 2:
        return f"subscription {parts[-1]}"
    if len(parts) <= 4:
        return f"resource group {parts[3]}"
    return f"{parts[-2]} {parts[-1]}"


# -- the diff as lines: one generator for the CLI's plain text and the wizard's marked-up review ----
MARKS = {"create": "+", "update": "~", "unchanged": "="}
def shown(text: str) -> str:
    """`text`, which may carry values read from Azure, made safe to print (`text.for_terminal`:
    control and formatting characters become visible escapes). Every line of the diff passes here once."""
    return for_terminal(text)


def diff_entries(step_plan: StepPlan) -> list[tuple[str, str]]:
    """The diff as (kind, text) pairs, text already through `shown`. Kinds: a step's action
    ("create", "update", "unchanged") for its summary, then "detail" and "warning" lines under
    it; "blank"; "problems" (the heading) and "problem"; "counts" last."""
    entries: list[tuple[str, str]] = []
    for step in step_plan.steps:
        entries.append((step.action, shown(step.summary)))
        entries += [("detail", shown(d)) for d in step.details]
        entries += [("warning", shown(w)) for w in step.warnings]
    if step_plan.problems:
        entries += [("blank", ""), ("problems", "Cannot apply:")]
        entries += [("problem", shown(p)) for p in step_plan.problems]
    counts = {a: sum(1 for s in step_plan.steps if s.action == a) for a in MARKS}
    entries += [
        ("blank", ""),
        ("counts", f"{counts['create']} to create, {counts['update']} to change, {counts['unchanged']} unchanged."),
    ]
    return entries


def plain_line(kind: str, text: str) -> str:
    """The CLI's style: a mark before each step, details indented, warnings with !, problems with x."""
    if kind in MARKS:
        return f"{MARKS[kind]} {text}"
    return {"detail": "    ", "warning": "    ! ", "problem": "  x "}.get(kind, "") + text


def diff_lines(step_plan: StepPlan, style: Callable[[str, str], T]) -> list[T]:
    """The diff, one `style(kind, text)` per line (see `diff_entries` for the kinds)."""
    return [style(kind, text) for kind, text in diff_entries(step_plan)]


def render_text(step_plan: StepPlan) -> str:
    """The plan as a diff an admin reads before anything is written."""
    return "\n".join(diff_lines(step_plan, plain_line))
