"""The headless commands as an admin or a CI pipeline runs them: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.plan import Plan
from wizard.sandbox.scenarios import build_store

DEMO = build_store("demo")
SUB = next(iter(DEMO.subscriptions.values()))["subscriptionId"]
RG = f"/subscriptions/{SUB}/resourceGroups"
APP = f"{RG}/rg-runner/providers/Microsoft.App/containerApps/maia-runner"
VAULT = f"{RG}/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-maia-prod"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNNER_IDENTITY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "no-az"))
    monkeypatch.chdir(tmp_path)


def plan_args(*extra: str) -> list[str]:
    return [
        "plan",
        "--subscription",
        SUB,
        "--resource-group",
        "rg-runner",
        "--identity",
        "id-maia-runner",
        "--role",
        f"Key Vault Secrets User@{VAULT}",
        "--role",
        "Storage Blob Data Reader",
        "--container-app",
        APP,
        "--container",
        "runner",
        "--tag",
        "owner=data",
        *extra,
    ]


@pytest.mark.parametrize(
    ("flags", "field", "phrase"),
    [
        (["--identity", "a"], "identity.name", "3 to 128"),
        (["--identity", "-bad"], "identity.name", "starting with a letter or digit"),
        (["--resource-group", "rg."], "identity.resource_group", "period"),
        (["--subscription", "not-a-guid"], "subscription", "GUID"),
        (["--tag", "bad<name=x"], "tag", "none of < > % &"),
        (["--tag", "novalue"], "tag", "="),
        (["--role", "Reader@/subscriptions/nope"], "scope", "subscription"),
        (["--role", "@" + VAULT], "role", "has no role"),
        (["--container-app", "/subscriptions/x/apps/y"], "container_app.id", "subscription GUID"),
        (["--env-var", "1BAD"], "container_app.env_var", "start"),
        (["--location", "west_europe"], "identity.location", "letters and digits"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_rule_before_any_network_call(
    capsys: pytest.CaptureFixture[str], flags: list[str], field: str, phrase: str
) -> None:
    args = plan_args("--offline")
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in args and flag not in ("--tag", "--role"):
            at = args.index(flag)
            del args[at : at + 2]
        args.append(f"{flag}={value}")  # the = form lets a value start with '-'

    assert main(args) == 2
    err = capsys.readouterr().err
    assert "nothing was sent to Azure" in err
    assert field in err
    assert phrase.lower() in err.lower()


def test_plan_writes_the_file_and_shows_the_diff(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([*plan_args("--out", "plan.toml"), "--sandbox"]) == 0
    plan = Plan.load(tmp_path / "plan.toml")
    assert plan.identity.tags == {"owner": "data"}
    assert [r.role for r in plan.role_assignments] == ["Key Vault Secrets User", "Storage Blob Data Reader"]
    err = capsys.readouterr().err
    assert "+ create managed identity id-maia-runner in rg-runner" in err
    assert "5 to create, 0 to change, 0 unchanged." in err


def test_apply_then_rerun_then_verify_then_rollback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]
    assert main([*plan_args("--out", "plan.toml", "--offline")]) == 0
    assert main(["apply", "plan.toml", "--yes", "--json", *state]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "applied"
    assert {s["result"] for s in doc["steps"]} == {"done"}
    assert all(c["status"] != "problem" for c in doc["checks"])
    journal = doc["journal"]
    assert Path(journal).exists()

    assert main(["apply", "plan.toml", "--yes", *state]) == 0
    out = capsys.readouterr().out
    assert "Nothing to do" in out and "Journal:" not in out

    assert main(["verify", "plan.toml", *state]) == 0
    assert "0 problems" in capsys.readouterr().out
    assert main(["verify", "--container-app", APP, "--container", "runner", *state]) == 0

    assert main(["rollback", journal, "--yes", *state]) == 0
    assert main(["verify", "plan.toml", *state]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_apply_refuses_to_write_unattended_without_yes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*plan_args("--out", "plan.toml", "--offline")]) == 0
    assert main(["apply", "plan.toml", "--sandbox"]) == 2
    assert "--yes" in capsys.readouterr().err


def test_dry_run_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]
    assert main([*plan_args("--out", "plan.toml", "--offline")]) == 0
    assert main(["apply", "plan.toml", "--dry-run", *state]) == 0
    assert main(["verify", "plan.toml", *state]) == 1  # nothing was created


def test_a_plan_file_with_errors_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('subscription = "x"\n[identity]\nresource_group = "rg"\nname = "ab"\n')
    assert main(["apply", "bad.toml", "--yes", "--sandbox"]) == 2
    err = capsys.readouterr().err
    assert "subscription" in err and "identity.name" in err
    (tmp_path / "broken.toml").write_text("subscription = \n")
    assert main(["apply", "broken.toml", "--yes"]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_export_az_and_bicep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([*plan_args("--out", "plan.toml", "--offline")]) == 0
    assert main(["export", "plan.toml", "--format", "az", "--out", "setup.sh", "--sandbox"]) == 0
    script = (tmp_path / "setup.sh").read_text()
    assert "\"principalType\":\"ServicePrincipal\"" in script
    assert main(["export", "plan.toml", "--format", "bicep", "--out", "setup.bicep", "--sandbox"]) == 0
    bicep = (tmp_path / "setup.bicep").read_text()
    assert "Microsoft.ManagedIdentity/userAssignedIdentities" in bicep
    for text in (script, bicep, capsys.readouterr().out):
        assert "sandbox-agent-token-value" not in text
        assert "eyJ" not in text


def test_no_token_or_secret_in_any_output_or_log(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level("DEBUG")
    state = ["--sandbox", "--sandbox-state", str(tmp_path / "tenant.json")]
    assert main([*plan_args("--out", "plan.toml", "--offline")]) == 0
    assert main(["apply", "plan.toml", "--yes", "--json", *state]) == 0
    assert main(["verify", "--container-app", APP, "--container", "runner", *state]) == 0
    captured = capsys.readouterr()
    journals = "".join(p.read_text() for p in (tmp_path / "state").rglob("*.jsonl"))
    for text in (captured.out, captured.err, caplog.text, journals):
        assert "sandbox-agent-token-value" not in text
        assert "eyJ" not in text
