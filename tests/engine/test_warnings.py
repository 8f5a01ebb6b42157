"""Warnings a careful admin expects, and messages in plain words: never `None`, an internal step id or
an SDK class name. Journals are the user's own (0600 in a 0700 directory)."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.engine.helpers import applier, gateway, ids
from wizard.apply import Progress
from wizard.model import ContainerApp, Identity, LinkedIdentity, ResourceGroup, RoleDefinition
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.steps import LiveState, build_steps, render_text
from wizard.verify import render_checks, verify_app, verify_plan

# -- Key Vault data roles where vaults use access policies --------------------------------------------------


def _kv_plan(running: Any, scope: str | None, role: str = "Key Vault Secrets User") -> Plan:
    i = ids(running)
    return Plan(i["sub"], IdentitySpec("rg-runner", "id-kv"), [RoleRequest(role, scope)])


async def test_a_key_vault_data_role_over_a_group_or_subscription_with_policy_vaults_warns(
    demo: Any, tmp_path: Path
) -> None:
    i = ids(demo)
    group = f"/subscriptions/{i['sub']}/resourceGroups/rg-shared-secrets"
    async with gateway(demo) as gw:
        for scope in (group, f"/subscriptions/{i['sub']}"):
            preview = await applier(gw, tmp_path).preview(_kv_plan(demo, scope))
            [warning] = preview.step("role:0").warnings  # type: ignore[union-attr]
            assert "kv-legacy-policies" in warning and "access policies" in warning
            assert "kv-maia-prod" not in warning  # that one uses Azure RBAC
        outcome = await applier(gw, tmp_path).apply(_kv_plan(demo, group))
        checks = await verify_plan(gw, _kv_plan(demo, group))
    for found in (outcome.checks, checks):
        assert any(c.status == "warning" and "kv-legacy-policies" in c.detail for c in found), found


async def test_no_warning_where_no_vault_uses_access_policies_or_the_role_is_not_a_data_role(
    demo: Any, tmp_path: Path
) -> None:
    i = ids(demo)
    async with gateway(demo) as gw:
        rbac_vault = await applier(gw, tmp_path).preview(_kv_plan(demo, i["vault"]))
        other_group = await applier(gw, tmp_path).preview(_kv_plan(demo, i["group"]))
        management = await applier(gw, tmp_path).preview(
            _kv_plan(demo, f"/subscriptions/{i['sub']}", "Key Vault Contributor")
        )
    for preview in (rbac_vault, other_group, management):
        assert preview.step("role:0").warnings == []  # type: ignore[union-attr]


# -- role assignments take minutes to take effect ----------------------------------------------------------
async def test_after_apply_and_in_verify_new_assignments_are_said_to_take_minutes(demo: Any, tmp_path: Path) -> None:
    i = ids(demo)
    plan = Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-fresh-roles"),
        [RoleRequest("Key Vault Secrets User", i["vault"])],
        AppTarget(i["app"], "runner"),
    )
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(plan)
        later = await verify_plan(gw, plan)
        without_plan = await verify_app(gw, i["app"], "AZURE_CLIENT_ID", "runner")
    pattern = re.compile(r"'Key Vault Secrets User' at kv-maia-prod at \d\d:\d\d:\d\d UTC \(\d+ min ago\)")
    for checks in (outcome.checks, later, without_plan):
        [said] = [c for c in checks if c.name == "new role assignments are in effect"]
        assert said.status == "warning" and pattern.search(said.detail) and "10 minutes" in said.detail


# -- a role name that several roles share ------------------------------------------------------------------
async def test_verify_says_what_the_plan_problem_says_for_an_ambiguous_role(demo: Any) -> None:
    i = ids(demo)
    guid = "11111111-2222-4333-8444-555555555555"
    demo.thread.call(
        lambda: demo.store.put(
            {
                "id": f"/subscriptions/{i['sub']}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                "name": guid,
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    "roleName": "Reader",
                    "type": "CustomRole",
                    "description": "a custom role that reuses a built-in role's name",
                    "assignableScopes": [f"/subscriptions/{i['sub']}"],
                    "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}],
                },
            }
        )
    )
    plan = Plan(i["sub"], IdentitySpec("rg-runner", "id-legacy-runner"), [RoleRequest("Reader")])
    async with gateway(demo) as gw:
        checks = await verify_plan(gw, plan)
        preview = await applier(gw, Path()).preview(plan)
    [problem] = [c for c in checks if c.status == "problem"]
    assert "no such role" not in problem.detail
    assert problem.detail == preview.problems[0]
    assert guid in problem.detail


# -- plain messages ----------------------------------------------------------------------------------------
SUB = "00000000-0000-4000-8000-000000000001"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
UNPLAIN = re.compile(
    r"\bNone\b|\brole:\d|\bprovider:|\b[A-Z][A-Za-z]+(?:Error|Exception|Policy|Response|Credential)\b|azure\.core|<[a-z]"
)
maybe = st.one_of(st.none(), st.sampled_from(["", "x", "info"]))


@st.composite
def live_states(draw: Any) -> tuple[Plan, LiveState]:
    identity_id = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
    identity = draw(
        st.one_of(
            st.none(),
            st.builds(lambda tags: Identity(identity_id, "id-x", "rg", "westeurope", "cid", "pid", "t", tags),
                      st.dictionaries(st.sampled_from(["owner", "Owner", "env"]), st.sampled_from(["a", "b"]))),
        )
    )  # fmt: skip
    env = [
        {"name": n, "value": draw(maybe)} if draw(st.booleans()) else {"name": n, "secretRef": "s"}
        for n in draw(st.lists(st.sampled_from(["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "A"])))
    ]
    users = tuple(
        LinkedIdentity(u, draw(st.one_of(st.none(), st.just("pid"), st.just("old"))), draw(st.one_of(st.none(), st.just("cid"))))
        for u in draw(st.lists(st.sampled_from([identity_id, f"{identity_id}-2"]), unique=True))
    )  # fmt: skip
    app = ContainerApp(
        id=f"{RG}/providers/Microsoft.App/containerApps/app",
        name="app",
        resource_group="rg",
        subscription=SUB,
        location="westeurope",
        environment_id="",
        revision_mode=draw(st.sampled_from(["", "Single", "Multiple"])),
        latest_revision=None,
        provisioning_state=draw(st.sampled_from(["", "Succeeded", "InProgress", "Failed"])),
        identity_type=draw(st.sampled_from(["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"])),
        system_principal_id=draw(st.one_of(st.none(), st.just("spid"))),
        user_identities=users,
        containers=[{"name": "runner", "env": draw(st.sampled_from([env, None]))}],
    )
    role = RoleDefinition(f"/subscriptions/{SUB}/providers/x/{SUB}", SUB, "Key Vault Secrets User", "", True,
                          data_actions=("Microsoft.KeyVault/vaults/secrets/getSecret/action",))  # fmt: skip
    live = LiveState(
        group=draw(st.one_of(st.none(), st.just(ResourceGroup(RG, "rg", "westeurope")))),
        identity=identity,
        roles=[draw(st.one_of(st.none(), st.just(role)))],
        app=draw(st.one_of(st.none(), st.just(app))),
        gone_identities=draw(st.sets(st.just(f"{identity_id}-2".lower()))),
        providers=draw(st.dictionaries(st.sampled_from(["Microsoft.App", "Microsoft.ManagedIdentity"]),
                                       st.sampled_from(["Registered", "NotRegistered", "Registering"]))),
    )  # fmt: skip
    plan = Plan(
        SUB,
        IdentitySpec("rg", "id-x", tags=draw(st.dictionaries(st.sampled_from(["Owner", "team"]), st.just("a")))),
        [RoleRequest(draw(st.sampled_from(["Key Vault Secrets User", "Nope"])), None)],
        AppTarget(app.id, draw(st.sampled_from(["runner", None, "gone"]))),
    )
    return plan, live


@given(case=live_states())
def test_the_diff_never_shows_none_step_ids_or_class_names(case: tuple[Plan, LiveState]) -> None:
    plan, live = case
    text = render_text(build_steps(plan, live))
    assert not UNPLAIN.search(text), text


async def test_what_apply_reports_is_plain_words(start_sandbox: Any, tmp_path: Path) -> None:
    running = start_sandbox(unregistered=("Microsoft.ManagedIdentity",), faults=("lro-fail,times=1",))
    heard: list[Progress] = []
    i = ids(running)
    plan = Plan(
        i["sub"], IdentitySpec("rg-runner", "id-plain"), [RoleRequest("Reader", None)], AppTarget(i["app"], "runner")
    )
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path, report=heard.append).apply(plan)
        checks = await verify_plan(gw, plan)
    assert outcome.status == "failed"
    said = [p.message for p in heard] + [p.label for p in heard] + [r.message for r in outcome.results.values()]
    said += [outcome.error.plain(), render_checks(checks), *outcome.labels("done", "failed", "not run")]  # type: ignore[union-attr]
    for text in said:
        assert not UNPLAIN.search(text), text
    assert all(p.label for p in heard)


async def test_journals_are_the_users_own(demo: Any, tmp_path: Path) -> None:
    async with gateway(demo) as gw:
        outcome = await applier(gw, tmp_path).apply(Plan(ids(demo)["sub"], IdentitySpec("rg-runner", "id-mode"), []))
    assert outcome.journal is not None
    assert stat.S_IMODE(outcome.journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(outcome.journal.parent.stat().st_mode) == 0o700
