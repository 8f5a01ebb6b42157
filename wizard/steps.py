"""From a plan and the live state to steps: what apply will create, update or leave alone.

`read_live` reads everything a plan touches, concurrently; `build_steps` is pure, so the
wizard's review screen, `plan`, `apply --dry-run` and the tests all see the same diff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .azure import ids
from .azure.errors import GatewayError
from .azure.gateway import IN_PROGRESS, AmbiguousRole, Gateway, allows, match_roles
from .model import (
    ContainerApp,
    Identity,
    Permission,
    ResourceGroup,
    RoleAssignment,
    RoleDefinition,
    ScopeResource,
    subscription_of,
)
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
IDENTITY_PROVIDER = "Microsoft.ManagedIdentity"
APP_PROVIDER = "Microsoft.App"
# How long apply waits for someone else's update of the app (or a provider's registration) to end, in
# seconds, before it stops: Container Apps refuse a write while an operation runs (409
# ContainerAppOperationInProgress), and a revision usually provisions within minutes.
SETTLE_TIMEOUT_S = 900.0


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
    # Key Vaults inside the group or subscription scopes the plan assigns roles at.
    scope_vaults: list[ScopeResource] = field(default_factory=list)
    # Lower-cased ids of user-assigned identities the app holds that no longer exist.
    gone_identities: set[str] = field(default_factory=set)
    # namespace -> registrationState, for the providers the plan writes to (unread ones are absent)
    providers: dict[str, str] = field(default_factory=dict)


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

    async def app() -> tuple[ContainerApp | None, set[str]]:
        if plan.container_app is None:
            return None, set()
        found = await gateway.container_app(plan.container_app.id)
        if found is None:
            return None, set()
        # The other user-assigned identities it holds: Azure refuses an identity change that keeps one
        # that no longer exists, so those are found now and dropped from the union.
        others = [u.id for u in found.user_identities if u.id.lower() != plan.identity_id.lower()]
        exists = await asyncio.gather(*(identity_exists(gateway, u) for u in others))
        return found, {u.lower() for u, there in zip(others, exists, strict=True) if not there}

    async def vaults() -> tuple[list[ScopeResource], list[ScopeResource]]:
        wanted = {
            r.scope for r in plan.role_assignments if r.scope and "/microsoft.keyvault/vaults/" in r.scope.lower()
        }
        wide = any(ids.parse(plan.scope_of(r)).kind != "resource" for r in plan.role_assignments)
        found, within = await asyncio.gather(
            asyncio.gather(*(gateway.scope_resource(v) for v in sorted(wanted))),
            _readable(gateway.vaults(sub), []) if wide else _nothing(),
        )
        return [v for v in found if v is not None], within

    async def providers() -> dict[str, str]:
        namespaces = [(sub, IDENTITY_PROVIDER)]
        if plan.container_app is not None:
            namespaces.append((subscription_of(plan.container_app.id) or sub, APP_PROVIDER))
        states = await asyncio.gather(*(_readable(gateway.provider_state(s, ns), "") for s, ns in namespaces))
        return {ns: state for (_, ns), state in zip(namespaces, states, strict=True) if state}

    group_task = gateway.resource_group(sub, plan.identity.resource_group)
    results = await asyncio.gather(
        group_task,
        identity_and_assignments(),
        gateway.role_definitions(sub),
        app(),
        vaults(),
        providers() if check_permissions else _nothing({}),
        *(permissions(s) for s in scopes.values()),
    )
    group, (identity, assignments), roles, (found_app, gone), (found_vaults, within), states = results[:6]
    live = LiveState(group=group, identity=identity, assignments=assignments, app=found_app)
    live.gone_identities = gone
    live.scope_vaults = within
    live.providers = states
    for i, request in enumerate(plan.role_assignments):
        matches = match_roles(roles, request.role)
        live.roles.append(matches[0] if len(matches) == 1 else None)
        if len(matches) > 1:
            live.ambiguous_roles[i] = AmbiguousRole(request.role, matches)
    live.vaults = {v.id.lower(): v for v in found_vaults if v.is_vault}
    for scope, answer in results[6:]:
        if isinstance(answer, str):
            live.unreadable_scopes[scope] = answer
        else:
            live.permissions[scope.lower()] = answer
    if check_permissions and any(state.lower() != "registered" for state in live.providers.values()):
        # Registering a provider is a subscription-wide write: whether the caller may is read only when needed.
        subscription_scope = f"/subscriptions/{sub}"
        scope, answer = await permissions(subscription_scope)
        if isinstance(answer, str):
            live.unreadable_scopes[scope] = answer
        else:
            live.permissions[scope.lower()] = answer
    return live


async def identity_exists(gateway: Gateway, identity_id: str) -> bool:
    """Whether a user-assigned identity exists; one the caller may not read counts as existing."""
    try:
        return await gateway.identity_by_id(identity_id) is not None
    except GatewayError as err:
        if err.status in (401, 403):
            return True
        raise


async def _readable(read: Any, otherwise: Any) -> Any:
    """What `read` returns, or `otherwise` when Azure refuses the read (the caller may not read it)."""
    try:
        return await read
    except GatewayError as err:
        if err.status in (400, 401, 403, 404):
            return otherwise
        raise


async def _nothing(value: Any = None) -> Any:
    return [] if value is None else value


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


def key_vault_data_role(role: RoleDefinition) -> bool:
    """Whether a role grants Key Vault data access (secrets, keys, certificates): its dataActions name
    Microsoft.KeyVault. Such a role grants nothing in a vault that uses access policies."""
    return any(a.lower().startswith("microsoft.keyvault/") for a in role.data_actions)


def merged_tags(current: dict[str, str], planned: dict[str, str]) -> dict[str, str]:
    """The identity's tags once the plan's are set: ARM keys tag names without regard to case, so a
    planned `Owner` replaces a live `owner` (one tag, named as the plan names it); every other tag stays."""
    wanted = {name.lower(): name for name in planned}
    merged: dict[str, str] = {}
    for name, value in current.items():  # in the identity's order, a planned tag in its live one's place
        ours = wanted.pop(name.lower(), None)
        merged[ours or name] = planned[ours] if ours else value
    return {**merged, **{name: planned[name] for name in wanted.values()}}


def tag_changes(current: dict[str, str], planned: dict[str, str]) -> list[str]:
    """One line per planned tag that differs from the live one (matched without regard to case)."""
    by_name = {name.lower(): name for name in current}
    lines = []
    for name, value in planned.items():
        old = by_name.get(name.lower())
        if old is None:
            lines.append(f"tag {name} = {value} (new)")
        elif old != name and current[old] == value:
            lines.append(f"tag {old} -> {name} = {value} (renamed: Azure keys tag names without regard to case)")
        elif old != name:
            lines.append(f"tag {old} -> {name}: {current[old]} -> {value}")
        elif current[old] != value:
            lines.append(f"tag {name}: {current[old]} -> {value}")
    return lines


def build_steps(plan: Plan, live: LiveState) -> StepPlan:
    """The steps that take Azure from `live` to `plan`, and the problems that stop apply before it
    writes. Pure: reads nothing, so every caller sees the same diff."""
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
        changes = tag_changes(identity.tags, spec.tags)
        warnings = []
        if spec.location and spec.location != identity.location:
            warnings.append(
                f"identity {identity.name} exists in {identity.location}, not {spec.location}: reused as is"
            )
        if changes:
            steps.append(
                Step(
                    "identity",
                    "identity",
                    "update",
                    f"reuse managed identity {identity.name}, setting tags",
                    [*changes, "its other tags stay as they are"],
                    warnings,
                    data={"tags": merged_tags(identity.tags, spec.tags), "old_tags": dict(identity.tags)},
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
    return StepPlan(plan, live, _provider_steps(plan, live, steps, problems) + steps, problems)


def _provider_steps(plan: Plan, live: LiveState, steps: list[Step], problems: list[str]) -> list[Step]:
    """A registration step for each resource provider a write needs that the subscription has not
    registered: ARM refuses those writes (409 MissingSubscriptionRegistration), and registering is a
    subscription-wide change the admin confirms like any other (the SDK's silent registration is off)."""
    writers = {IDENTITY_PROVIDER: ("identity",), APP_PROVIDER: ("identity_link", "env_var")}
    found: list[Step] = []
    for namespace, kinds in writers.items():
        state = live.providers.get(namespace, "Registered")
        if state.lower() == "registered" or not any(s.writes and s.kind in kinds for s in steps):
            continue
        subscription = plan.subscription
        if namespace == APP_PROVIDER and plan.container_app is not None:
            subscription = subscription_of(plan.container_app.id) or subscription
        command = f"az provider register --namespace {namespace} --subscription {subscription}"
        step_id = f"provider:{namespace}"
        found.append(
            Step(
                step_id,
                "provider_registration",
                "create",
                f"register the resource provider {namespace} in subscription {subscription}",
                [
                    f"it is {state} there, and Azure refuses its writes until it is registered",
                    f"the same as: {command}",
                    "a one-time change for the whole subscription; rollback leaves it registered",
                ],
                data={"namespace": namespace, "subscription": subscription},
            )
        )
        for step in steps:
            if step.kind in kinds:
                step.depends_on = (*step.depends_on, step_id)
        scope = f"/subscriptions/{subscription}"
        blocks = live.permissions.get(scope.lower())
        if blocks is not None and not allows(blocks, f"{namespace}/register/action"):
            problems.append(
                f"the resource provider {namespace} is not registered in subscription {subscription}, and you cannot "
                f"register it ({namespace}/register/action is not granted to you there): ask an Owner or "
                f"Contributor of the subscription to run `{command}`, then apply again"
            )
    return found


def _need(live: LiveState, scope: str, action: str, purpose: str, problems: list[str]) -> None:
    blocks = live.permissions.get(scope.lower())
    if blocks is None:
        why = live.unreadable_scopes.get(scope)
        if why:
            problems.append(f"scope {scope} cannot be read: {why}")
        return
    if not allows(blocks, action):
        problems.append(f"you cannot {purpose}: {action} is not granted to you at {scope}")


def access_policy_vaults(scope: str, role: RoleDefinition, live: LiveState) -> list[ScopeResource]:
    """The vaults at or under `scope` in access-policy mode, where Key Vault data role `role` grants nothing."""
    if not key_vault_data_role(role):
        return []
    vault = live.vaults.get(scope.lower())
    if vault is not None:
        return [vault] if vault.rbac_enabled is False else []
    prefix = scope.rstrip("/").lower() + "/"
    return sorted(
        (v for v in live.scope_vaults if v.rbac_enabled is False and v.id.lower().startswith(prefix)),
        key=lambda v: v.name.lower(),
    )


def access_policy_warning(scope: str, role: RoleDefinition, vaults: list[ScopeResource]) -> str:
    """What to tell the admin about a Key Vault data role where vaults use access policies."""
    switch = "until the vault's permission model is switched to Azure role-based access control"
    if len(vaults) == 1 and vaults[0].id.lower() == scope.lower():
        return f"vault {vaults[0].name} uses access policies, not Azure RBAC: '{role.name}' grants no data access there {switch}"
    names = ", ".join(v.name for v in vaults[:5]) + (f" and {len(vaults) - 5} more" if len(vaults) > 5 else "")
    return (
        f"{_short(scope)} holds {len(vaults)} vault(s) that use access policies, not Azure RBAC ({names}): "
        f"'{role.name}' grants no data access in them {switch}"
    )


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
    vaults = access_policy_vaults(scope, role, live)
    if vaults:
        warnings.append(access_policy_warning(scope, role, vaults))
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


def type_label(identity_type: str) -> str:
    """An app's identity type as the diff shows it ("None" is Azure's word for no managed identity)."""
    return "no managed identity" if identity_type.replace(" ", "").lower() in ("", "none") else identity_type


def _short_id(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


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
    name = plan.identity.name
    steps: list[Step] = []
    busy = []
    if app.provisioning_state.lower() in IN_PROGRESS:
        busy.append(
            f"{app.name} is {app.provisioning_state} now (another update is running): apply waits for it to end, "
            f"up to {SETTLE_TIMEOUT_S / 60:.0f} minutes, before it writes"
        )

    entry = app.linked(identity_id)
    named = app.named_identities()
    gone = [u.id for u in app.user_identities if u.id.lower() in live.gone_identities]
    gone_lines = [f"drops user-assigned {_short_id(u)}: that identity no longer exists" for u in gone]
    gone_warnings = [
        f"user-assigned identity {u} is linked to {app.name} but no longer exists: Azure refuses an identity "
        "change that keeps it, so the link drops it"
        for u in gone
    ]
    for u in gone:
        if u.lower() in named:
            problems.append(
                f"user-assigned identity {u} no longer exists, but {named[u.lower()]} of {app.name} still names it: "
                "Azure refuses to unlink it while it is named and to keep it once it is gone. Change that "
                f"{named[u.lower()].split(' ')[0]} to another identity, then apply again"
            )
    new_type = union_type(app.identity_type)
    kept = [
        f"keeps user-assigned {_short_id(u.id)}"
        for u in app.user_identities
        if u.id.lower() != identity_id.lower() and u.id.lower() not in live.gone_identities
    ]
    if entry is not None and (identity is None or entry.holds(identity)):
        warnings = [f"user-assigned identity {u} is linked to {app.name} but no longer exists" for u in gone]
        steps.append(
            Step(
                "link",
                "identity_link",
                "unchanged",
                f"{name} is linked to {app.name}",
                [],
                warnings,
                depends_on=("identity",),
            )
        )
    elif entry is not None and identity is not None:
        held = entry.principal_id or entry.client_id or "an unknown principal"
        if identity_id.lower() in named:
            problems.append(
                f"{name} was deleted and re-created since it was linked to {app.name}, and {named[identity_id.lower()]} "
                f"names it: Azure refuses to unlink an identity still named there, which a relink needs. Point that "
                f"{named[identity_id.lower()].split(' ')[0]} at another identity, then apply again"
            )
        _need(live, plan.group_scope(), IDENTITY_ASSIGN, f"link {name} to an app", problems)
        steps.append(
            Step(
                "link",
                "identity_link",
                "update",
                f"relink {name} to {app.name}: it was deleted and re-created since it was linked",
                [
                    f"the app holds the old identity's principal {held}; {name}'s principal is now {identity.principal_id}",
                    "removes the old entry, then links the identity again: two updates of the app, each journaled",
                    *kept,
                    *gone_lines,
                ],
                [*gone_warnings, *busy],
                depends_on=("identity",),
                data={"type": new_type, "relink": True, "drop": gone},
            )
        )
    else:
        _need(live, plan.group_scope(), IDENTITY_ASSIGN, f"link {name} to an app", problems)
        details = [f"identity type: {type_label(app.identity_type)} -> {new_type}"]
        if app.system_principal_id:
            details.append("the system-assigned identity is kept")
        steps.append(
            Step(
                "link",
                "identity_link",
                "create",
                f"link {name} to {app.name}",
                [*details, *kept, *gone_lines],
                [*gone_warnings, *busy],
                depends_on=("identity",),
                data={"type": new_type, "relink": False, "drop": gone},
            )
        )

    container, problem = target_container(plan, app)
    if problem:
        problems.append(problem)
        return steps
    assert container is not None
    env = app.env(container)
    entries = [i for i, e in enumerate(env) if e.name == target.env_var]
    current = env[entries[-1]] if entries else None
    client_id = identity.client_id if identity else None
    shown = client_id or f"(client ID of {name}, known once it is created)"
    warnings = []
    names = {e.name for e in env}
    if all(n in names for n in CREDENTIAL_OVERRIDES):
        warnings.append(
            f"container {container} also sets AZURE_TENANT_ID and AZURE_CLIENT_SECRET: the Azure SDK will sign in "
            "with that secret instead of the managed identity"
        )
    if app.revision_mode.lower() == "multiple":
        warnings.append(
            f"{app.name} runs in Multiple revision mode: older active revisions keep running without "
            f"{target.env_var} until you deactivate them"
        )
    if len(entries) > 1:
        warnings.append(
            f"{target.env_var} is set {len(entries)} times on container {container}: the runtime uses the last "
            f"entry, so apply reads and changes only that one (entry {entries[-1] + 1} of {len(env)}) and leaves "
            "the others as they are"
        )
    where = f"{target.env_var} on container {container} of {app.name}"
    if app.container(container) is not None and app.container(container).get("env") is None:  # type: ignore[union-attr]
        warnings.append(f"container {container} has no variables yet (its env is empty): apply adds the first")
    data: dict[str, Any] = {"container": container, "previous": None}
    if current is None:
        steps.append(
            Step(
                "env",
                "env_var",
                "create",
                f"add {where}",
                [f"+ {target.env_var}={shown}"],
                [*warnings, *busy],
                ("identity",),
                data,
            )
        )
    elif client_id is not None and current.secret_ref is None and current.value == client_id:
        steps.append(Step("env", "env_var", "unchanged", f"{where} holds the client ID", [], warnings, data=data))
    else:
        old = current.shown()
        if identity is not None and current.value == identity.principal_id:
            warnings.append(f"{target.env_var} holds the identity's principal ID; it must be the client ID")
        warnings.append(f"{target.env_var} currently holds {old or '(empty)'}: it will be replaced")
        data["previous"] = {"name": current.name, "value": current.value, "secretRef": current.secret_ref}
        steps.append(
            Step(
                "env",
                "env_var",
                "update",
                f"replace {where}",
                [f"- {target.env_var}={old}", f"+ {target.env_var}={shown}"],
                [*warnings, *busy],
                ("identity",),
                data,
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
