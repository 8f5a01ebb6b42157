"""What Azure holds cannot rewrite the review the admin confirms, and a role is the role the admin
meant: a GUID is a role definition id, a name shared by two roles is refused with both ids."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.azure.gateway import match_roles
from wizard.cli import main
from wizard.model import RoleDefinition
from wizard.sandbox.scenarios import build_store
from wizard.text import unsafe

STORE = build_store("demo")
SUB = next(iter(STORE.subscriptions.values()))["subscriptionId"]
RG = f"/subscriptions/{SUB}/resourceGroups"
APP = f"{RG}/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
VAULT = f"{RG}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod"
LEGACY = f"{RG}/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-legacy-runner"
ROLES = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # the built-in Reader's role definition id
HOSTILE_ROLE = "6f0c4a57-8d1e-4b8e-9f53-1c0d2e3a4b5c"
SHADOW_READER = "2b4d6f80-1a3c-4e5f-8a9b-0c1d2e3f4a5b"
NAMED_LIKE_READER = "93c1a2b4-5d6e-4f70-8192-a3b4c5d6e7f8"
NAMED_LIKE_NOTHING = "0e1f2a3b-4c5d-4e6f-9a0b-1c2d3e4f5a6b"
GHOST_GUID = "11111111-2222-4333-8444-555555555555"  # a GUID no role has as its id
ESCAPES = "\x1b[2J\x1b[1;1H= nothing to change\r\x9b32m\u202e"


def custom_role(store: Any, guid: str, name: str) -> None:
    store.put(
        {
            "id": f"{ROLES}/{guid}",
            "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": name,
                "type": "CustomRole",
                "description": "",
                "assignableScopes": [f"/subscriptions/{SUB}"],
                "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}],
                "createdOn": None,
                "updatedOn": None,
                "createdBy": None,
                "updatedBy": None,
            },
        }
    )


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A demo tenant, saved as sandbox state, where Azure's own text is hostile and role names collide."""
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "no-az"))
    monkeypatch.chdir(tmp_path)
    store = build_store("demo")
    store.get(LEGACY)["tags"] = {"owner": ESCAPES, f"k{ESCAPES}": "v"}
    runner = store.get(APP)["properties"]["template"]["containers"][0]
    runner["env"].append({"name": "AZURE_CLIENT_ID", "value": ESCAPES})
    custom_role(store, HOSTILE_ROLE, f"Runner{ESCAPES}Reader")
    custom_role(store, SHADOW_READER, "reader")  # a custom role with the built-in Reader's name
    custom_role(store, NAMED_LIKE_READER, READER)  # a custom role named like Reader's GUID
    custom_role(store, NAMED_LIKE_NOTHING, GHOST_GUID)
    path = tmp_path / "tenant.json"
    store.save(path)
    return ["--sandbox", "--sandbox-state", str(path)]


def plan_args(*roles: str, out: str = "plan.toml") -> list[str]:
    args = ["plan", "--subscription", SUB, "--resource-group", "rg-runner", "--identity", "id-legacy-runner"]
    args += ["--tag", "owner=data", "--container-app", APP, "--container", "runner", "--out", out]
    for role in roles:
        args += ["--role", role]
    return args


def assert_safe(output: str) -> None:
    for line in output.splitlines():
        assert unsafe(line) == [], f"raw control characters reach the terminal: {line!r}"


def test_azure_text_cannot_rewrite_the_review(tenant: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*plan_args(f"{HOSTILE_ROLE}@{VAULT}"), *tenant]) in (0, 1)
    err = capsys.readouterr().err
    assert_safe(err)
    assert "\\x1b[2J\\x1b[1;1H= nothing to change\\r\\x9b32m\\u202e" in err  # shown, escaped, in full
    assert "~ reuse managed identity id-legacy-runner" in err

    assert main(["apply", "plan.toml", "--dry-run", *tenant]) in (0, 1)
    out = capsys.readouterr().out
    assert_safe(out)
    assert "Runner\\x1b[2J" in out

    assert main(["verify", "plan.toml", *tenant]) == 1
    out = capsys.readouterr().out
    assert_safe(out)
    assert "PROBLEM" in out and "Runner\\x1b[2J" in out


def test_a_name_shared_by_a_builtin_and_a_custom_role_is_refused(
    tenant: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*plan_args("Reader"), *tenant]) == 1
    err = capsys.readouterr().err
    assert "Cannot apply" in err
    assert "'Reader' names 2 roles" in err
    assert f"{ROLES}/{READER}" in err and f"{ROLES}/{SHADOW_READER}" in err
    assert "built-in" in err and "custom" in err

    assert main(["apply", "plan.toml", "--yes", *tenant]) == 1  # nothing is written
    assert "names 2 roles" in capsys.readouterr().out


def test_a_guid_always_means_the_role_definition_id(tenant: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*plan_args(READER.upper()), *tenant]) == 0
    err = capsys.readouterr().err
    assert "+ assign 'Reader' at resource group rg-runner" in err
    assert f"role {READER} (built-in)" in err

    assert main([*plan_args(GHOST_GUID), *tenant]) == 1  # only a role *named* like it exists
    err = capsys.readouterr().err
    assert f"role '{GHOST_GUID}' does not exist" in err


# -- the matching rule itself, over any roles ------------------------------------------------------
_guids = st.uuids().map(str)
_roles = st.lists(
    st.builds(
        lambda guid, name, builtin: RoleDefinition(f"{ROLES}/{guid}", guid, name, "", builtin),
        _guids | st.sampled_from([READER]),
        st.text(min_size=1, max_size=12) | _guids | st.sampled_from([READER, READER.upper(), "Reader", "READER"]),
        st.booleans(),
    ),
    max_size=8,
)


@given(_roles, st.sampled_from([READER, READER.upper(), "Reader", "reader"]) | _guids | st.text(max_size=12))
def test_a_guid_matches_ids_only_and_a_name_matches_every_role_of_that_name(
    roles: list[RoleDefinition], wanted: str
) -> None:
    matches = match_roles(roles, wanted)
    if re.fullmatch(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", wanted.strip()):
        assert matches == [r for r in roles if r.guid == wanted.strip().lower()]
    else:
        assert matches == [r for r in roles if r.name.lower() == wanted.strip().lower()]


def test_apply_and_rollback_show_azure_text_escaped_too(tenant: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every output path, not only the review: apply's progress and outcome, the rollback list and
    what rollback then did (a reused identity's tags and the variable go back to Azure's own text)."""
    assert main([*plan_args(f"{HOSTILE_ROLE}@{VAULT}"), *tenant]) == 0
    capsys.readouterr()
    assert main(["apply", "plan.toml", "--yes", *tenant]) == 0
    out = capsys.readouterr()
    assert_safe(out.out)
    assert_safe(out.err)
    assert "Runner\\x1b[2J" in out.err  # the step's progress line names the role, escaped
    journal = next((Path("state") / "journals").glob("*.jsonl"))

    assert main(["rollback", str(journal), "--dry-run", *tenant]) == 0
    out = capsys.readouterr().out
    assert_safe(out)
    assert "restore AZURE_CLIENT_ID on container runner of maia-runner to \\x1b[2J" in out
    assert "tag owner: data -> \\x1b[2J" in out
    assert "'Runner\\x1b[2J" in out

    assert main(["rollback", str(journal), "--yes", *tenant]) == 0
    out = capsys.readouterr().out
    assert_safe(out)
    assert "done" in out


async def test_what_apply_reports_and_its_errors_are_escaped(start_sandbox: Any, tmp_path: Path) -> None:
    """A failing write names the role Azure calls it by: the progress reports, the step's message and the
    error carry it escaped (the CLI, the wizard and --json all print them)."""
    from tests.engine.helpers import applier, gateway, ids
    from wizard.apply import Progress
    from wizard.plan import AppTarget, IdentitySpec, Plan, RoleRequest

    running = start_sandbox(faults=("500,route=roleAssignments,method=PUT,times=1000",))
    running.thread.call(lambda: custom_role(running.store, HOSTILE_ROLE, f"Runner{ESCAPES}Reader"))
    i = ids(running)
    plan = Plan(
        i["sub"],
        IdentitySpec("rg-runner", "id-hostile"),
        [RoleRequest(HOSTILE_ROLE, i["vault"])],
        AppTarget(i["app"], "runner"),
    )
    heard: list[Progress] = []
    async with gateway(running) as gw:
        outcome = await applier(gw, tmp_path, report=heard.append).apply(plan)
    assert outcome.status == "failed" and outcome.error is not None
    assert "Runner\\x1b[2J" in outcome.error.plain()
    assert_safe(outcome.error.plain())
    assert any("Runner\\x1b[2J" in p.label for p in heard)
    for progress in heard:
        assert_safe(progress.message)
        assert_safe(progress.label)
    for result in outcome.results.values():
        assert_safe(result.message)


def test_a_sign_in_failure_shows_what_the_credential_said_escaped() -> None:
    """The Azure CLI's own error text goes into the sign-in paragraph: it may carry its colours."""
    from wizard.azure.errors import GatewayError, sign_in_paragraph

    said = f"AzureCliCredential: \x1b[31mERROR: AADSTS70043{ESCAPES}\x1b[0m"
    err = GatewayError("sign in", "SignInFailed", said, None, detail=said)
    text = sign_in_paragraph(err, "AzureCloud (tenant common)")
    assert_safe(text)
    assert "\\x1b[31mERROR: AADSTS70043" in text


def test_a_failed_device_code_sign_in_does_not_suggest_the_device_code() -> None:
    """--device-code is the way out for a machine without a browser: when it is what failed, the
    paragraph says what else to do, not to use it."""
    from wizard.azure.errors import GatewayError, sign_in_paragraph

    err = GatewayError("sign in", "SignInFailed", "DeviceCodeCredential: timed out", None)
    text = sign_in_paragraph(err, "AzureCloud (tenant common)", device_code=True)
    assert "tried a device-code sign-in" in text
    assert "--device-code on" not in text and "without --device-code" in text and "`az login`" in text
    plain = sign_in_paragraph(err, "AzureCloud (tenant common)")
    assert "--device-code on a machine without a browser" in plain
