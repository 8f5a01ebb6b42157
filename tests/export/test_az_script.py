"""The az script as text and its bash helpers, without a sandbox: syntax, clouds, names, where data goes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.export.fixtures import SECRET_VALUE, SUB, all_done, fresh, new_plan, step_plan
from tests.export.harness import run_script
from wizard.arm_guid import arm_guid
from wizard.azure.connection import Connection
from wizard.export import render_az
from wizard.export.az import HEREDOC_END, jp_literal

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


def bash_syntax_ok(script: str) -> None:
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def functions(script: str) -> str:
    """The script's helper functions (everything before the first az call)."""
    return script[script.index("WORK=$(mktemp") : script.index("# --- where:")]


def run_functions(script: str, body: str, tmp_path: Path, path: str | None = None) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    if path is not None:
        env["PATH"] = path
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(
        [bash, "-c", "set -euo pipefail\n" + functions(script) + body],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def outside_heredocs_and_comments(script: str) -> list[str]:
    lines, inside = [], False
    for line in script.splitlines():
        if inside:
            inside = line != HEREDOC_END
            continue
        if line.endswith(f"<<'{HEREDOC_END}'"):
            inside = True
            continue
        if not line.lstrip().startswith("#"):
            lines.append(line)
    return lines


def test_the_script_is_bash_and_says_what_it_needs() -> None:
    for sp in (fresh(), all_done()):
        script = render_az(sp)
        bash_syntax_ok(script)
        assert script.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script
        head = script.split("set -euo pipefail")[0]
        assert "desired state, not a diff" in head and "sha1sum, shasum or openssl" in head
        assert "no jq or python" in head
        assert SECRET_VALUE not in script and "agent-token" not in script


def test_before_and_after_apply_the_commands_are_the_same() -> None:
    def code(script: str) -> list[str]:
        return [line for line in script.splitlines() if not line.lstrip().startswith("#")]

    assert code(render_az(fresh())) == code(render_az(all_done()))


@pytest.mark.parametrize(
    ("connection", "endpoint", "hint"),
    [
        (Connection(), "https://management.azure.com", "az cloud set --name AzureCloud"),
        (Connection(cloud="AzureUSGovernment"), "https://management.usgovcloudapi.net", "--name AzureUSGovernment"),
        (Connection(cloud="AzureChinaCloud"), "https://management.chinacloudapi.cn", "--name AzureChinaCloud"),
        (
            Connection(arm_endpoint="https://ARM.Example:8443/", arm_audience="https://arm.example"),
            "https://arm.example:8443",
            "az cloud register",
        ),
    ],
)
def test_the_script_refuses_an_az_set_to_another_cloud(connection: Connection, endpoint: str, hint: str) -> None:
    script = render_az(fresh(), connection)
    assert f"ARM_ENDPOINT={endpoint}\n" in script
    check = script[script.index("# --- where:") :]
    assert check.index("az cloud show") < check.index("az rest")  # checked before any request
    assert hint in script


def test_a_plan_with_problems_stops_before_any_az_call(demo, tmp_path: Path) -> None:
    sp = step_plan(new_plan(), group=None)
    assert sp.problems
    run = run_script(render_az(sp), demo, tmp_path)
    assert run.result.returncode == 1 and "this plan has problems" in run.result.stderr
    assert run.calls == []


@settings(max_examples=25, deadline=None)
@given(
    tags=st.dictionaries(TEXT.filter(str.strip), TEXT, min_size=1, max_size=3),
    env_var=st.from_regex(r"[-._a-zA-Z][-._a-zA-Z0-9]{0,20}", fullmatch=True),
)
def test_plan_text_is_only_in_heredocs_and_comments(tags: dict[str, str], env_var: str) -> None:
    """Whatever the tags and the variable's name, the code outside heredocs and comments is the same."""
    plan = new_plan(tags=tags)
    assert plan.container_app is not None
    plan.container_app.env_var = env_var
    script = render_az(step_plan(plan))
    bash_syntax_ok(script)
    reference = new_plan(tags={"owner": "data team"})
    assert outside_heredocs_and_comments(script) == outside_heredocs_and_comments(render_az(step_plan(reference)))


@settings(max_examples=50, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | TEXT, lambda c: st.lists(c) | st.dictionaries(TEXT, c)
    )
)
def test_a_jmespath_literal_holds_any_value_and_no_placeholder_mark(value: object) -> None:
    literal = jp_literal(value)
    assert jmespath.search(literal, None) == value
    assert "@" not in literal and literal.count("`") == 2 and "\n" not in literal


def test_the_scripts_arm_guid_is_pythons(tmp_path: Path) -> None:
    script = render_az(fresh())
    cases = [
        ["asdf"],
        ["foo", "bar", "baz"],
        [f"/subscriptions/{SUB}/resourcegroups/rg-é(1)", "p", "r"],
        ["-", "@x", "$(y)"],
    ]
    body = "".join(f"arm_guid {' '.join(shlex.quote(a) for a in c)}\n" for c in cases)
    assert run_functions(script, body, tmp_path).split() == [arm_guid(*c) for c in cases]


@settings(max_examples=10, deadline=None)
@given(
    parts=st.lists(
        st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=20), min_size=1, max_size=3
    )
)
def test_the_scripts_arm_guid_matches_for_any_text(parts: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    script = render_az(fresh())
    quoted = " ".join(shlex.quote(p) for p in parts)
    assert run_functions(script, f"arm_guid {quoted}\n", tmp_path_factory.mktemp("g")).strip() == arm_guid(*parts)


@pytest.mark.parametrize("tool", ["sha1sum", "shasum", "openssl"])
def test_each_sha1_tool_gives_the_same_name(tool: str, tmp_path: Path) -> None:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for needed in (tool, "cut", "perl", "mktemp", "rm"):  # shasum is a perl script
        if shutil.which(needed):
            (bin_dir / needed).symlink_to(shutil.which(needed))  # type: ignore[arg-type]
    out = run_functions(render_az(fresh()), "arm_guid a b\n", tmp_path, path=str(bin_dir))
    assert out.strip() == arm_guid("a", "b")


def test_role_assignment_commands_carry_apply_names_inputs() -> None:
    script = render_az(fresh())
    vault = f"/subscriptions/{SUB}/resourceGroups/rg-runner/providers/Microsoft.KeyVault/vaults/kv-maia-prod"
    line = next(line for line in script.splitlines() if line.startswith("assign_role ") and "vaults" in line)
    assert f" {vault.lower()} 4633458b-17de-408a-b874-0445c86b69e6 " in line
    assert '"principalType":"ServicePrincipal"' in script
