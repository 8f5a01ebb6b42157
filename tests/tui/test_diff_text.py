"""The diff's words, for any plan against any live state: the CLI's plain text and the review
screen's markup come from one generator, and neither shows Python's None, an internal step id,
a doubled verb, or a control character or markup that came from Azure."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text

from wizard.model import ContainerApp, Identity, LinkedIdentity, ResourceGroup, RoleAssignment, RoleDefinition
from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest
from wizard.steps import LiveState, build_steps, diff_entries, diff_lines, plain_line, render_text
from wizard.tui.screens.review import review_line

SUB = "0b1f6472-1de4-4d3a-9e3b-000000000001"
GROUP = f"/subscriptions/{SUB}/resourceGroups"
VAULT = f"{GROUP}/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-one"
ROLES = {
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
}

names = st.from_regex(r"[a-z][a-z0-9-]{2,12}", fullmatch=True)
# What Azure may hand back in a tag or a variable: anything, markup and escape sequences included.
azure_text = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=4)
    | st.sampled_from(["[bold]", "[/]", "[red]x", "\x1b[31m", "\r", "\x1b]0;title\x07"]),
    max_size=4,
).map("".join).filter(lambda t: "None" not in t)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Plan, LiveState]:
    rg, name = draw(names), draw(names)
    requests = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(ROLES)), st.sampled_from([None, VAULT])),
            max_size=3,
            unique=True,
        )
    )
    containers = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    wanted = draw(st.sampled_from([None, containers[0], "missing"]))
    plan = Plan(
        SUB,
        IdentitySpec(rg, name, draw(st.none() | st.just("uksouth")), draw(st.dictionaries(names, azure_text, max_size=3))),
        [RoleRequest(role, scope) for role, scope in requests],
        AppTarget(f"{GROUP}/{rg}/providers/Microsoft.App/containerApps/app", wanted) if draw(st.booleans()) else None,
    )
    identity = None
    if draw(st.booleans()):
        identity = Identity(
            plan.identity_id, name, rg, draw(st.sampled_from(["westeurope", ""])), "client-1", "principal-1", "t",
            draw(st.dictionaries(names, azure_text, max_size=2)),
        )
    kind = draw(st.sampled_from(["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned", ""]))
    env_value = st.fixed_dictionaries(
        {"name": st.sampled_from(["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "OTHER"])},
        optional={"value": st.none() | azure_text | st.just("client-1"), "secretRef": st.none() | names},
    )
    app = ContainerApp(
        id=plan.container_app.id if plan.container_app else "",
        name="app",
        resource_group=rg,
        subscription=SUB,
        location="westeurope",
        environment_id="",
        revision_mode=draw(st.sampled_from(["Single", "Multiple"])),
        latest_revision=None,
        provisioning_state="Succeeded",
        identity_type=kind,
        system_principal_id="sys-1" if "System" in kind else None,
        user_identities=(LinkedIdentity(plan.identity_id, None, None),) if draw(st.booleans()) else (),
        containers=[{"name": c, "env": draw(st.lists(env_value, max_size=3))} for c in containers],
    )
    live = LiveState(
        group=ResourceGroup(f"{GROUP}/{rg}", rg, draw(st.sampled_from(["westeurope", ""]))) if draw(st.booleans()) else None,
        identity=identity,
        roles=[
            RoleDefinition(f"/x/{ROLES[r.role]}", ROLES[r.role], r.role, "", True) if draw(st.booleans()) else None
            for r in plan.role_assignments
        ],
        assignments=[
            RoleAssignment("a", "a", plan.scope_of(r), ROLES[r.role], "principal-1")
            for r in plan.role_assignments
            if draw(st.booleans())
        ],
        app=app if plan.container_app and draw(st.booleans()) else None,
    )
    return plan, live


def no_leaks(text: str) -> None:
    assert not re.search(r"\bNone\b", text), text
    assert not re.search(r"\brole:\d", text), text
    assert not re.search(r"\b(create|add|assign|link|replace|reuse) \1\b", text), text
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), repr(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_cli_diff_says_nothing_internal_and_passes_no_control_character(case: tuple[Plan, LiveState]) -> None:
    step_plan = build_steps(*case)
    text = render_text(step_plan)
    for line in text.splitlines():
        no_leaks(line)
    assert text == "\n".join(diff_lines(step_plan, plain_line))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_review_shows_the_same_lines_and_azure_text_cannot_restyle_it(case: tuple[Plan, LiveState]) -> None:
    step_plan = build_steps(*case)
    entries = diff_entries(step_plan)
    marked = diff_lines(step_plan, review_line)
    assert len(marked) == len(entries)
    for (kind, text), (mark, body) in zip(entries, marked, strict=True):
        # The words are the CLI's, as Azure holds them, whatever markup they carry: only the marks differ.
        plain = Text.from_markup(body).plain
        assert plain.endswith(text) and plain[: len(plain) - len(text)] in ("", "  ", "  ! "), (kind, text, body)
        no_leaks(f"{Text.from_markup(mark).plain} {plain}")
