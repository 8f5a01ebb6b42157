"""plan.toml is a contract: every key known, every type exact, no control characters, every valid
plan written and read back unchanged, and any unreadable file one message and exit 2."""

from __future__ import annotations

import os
import string
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import text
from wizard.cli import main
from wizard.plan import AppTarget, IdentitySpec, Plan, PlanFileError, RoleRequest
from wizard.rules import RuleError

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-runner"
APP = f"{RG}/providers/Microsoft.App/containerApps/maia-runner"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-shared/providers/Microsoft.KeyVault/vaults/kv"

GOOD = f"""\
subscription = "{SUB}"

[identity]
resource_group = "rg-runner"
name = "id-maia-runner"
location = "westeurope"
tags = {{ owner = "data" }}

[[role_assignments]]
role = "Key Vault Secrets User"
scope = "{VAULT}"

[[role_assignments]]
role = "Storage Blob Data Reader"

[container_app]
id = "{APP}"
container = "runner"
env_var = "AZURE_CLIENT_ID"
"""


def problems_of(source: str) -> list[RuleError]:
    """Every problem of a plan file's text: the file's own, else the plan's rules."""
    try:
        plan = Plan.from_toml(source, "plan.toml")
    except PlanFileError as err:
        return err.problems
    return plan.problems()


def replace_line(key: str, line: str, source: str = GOOD) -> str:
    lines = source.splitlines()
    at = next(i for i, old in enumerate(lines) if old.startswith(f"{key} ="))
    lines[at] = line
    return "\n".join(lines) + "\n"


def test_the_documented_plan_is_valid() -> None:
    plan = Plan.from_toml(GOOD)
    assert plan.problems() == []
    assert plan.identity.location == "westeurope"
    assert plan.role_assignments[1] == RoleRequest("Storage Blob Data Reader", None)


# -- unknown keys ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "field", "suggestion"),
    [
        (GOOD.replace('scope = "', 'scopes = "'), "role_assignments[0].scopes", "scope"),
        (GOOD.replace("role = ", "rol = ", 1), "role_assignments[0].rol", "role"),
        (GOOD.replace("[identity]", "[identities]"), "identities", "identity"),
        (GOOD.replace("subscription =", "subscription_id ="), "subscription_id", "subscription"),
        (GOOD.replace("tags =", "tag ="), "identity.tag", "tags"),
        (GOOD.replace("env_var =", "envvar ="), "container_app.envvar", "env_var"),
        (GOOD.replace("[container_app]", "[container-app]"), "container-app", "container_app"),
        (GOOD.replace("[[role_assignments]]", "[[role_assignment]]", 1), "role_assignment", "role_assignments"),
        (GOOD + 'location = "westeurope"\n', "container_app.location", None),
    ],
)
def test_unknown_keys_are_errors_with_the_nearest_valid_key(source: str, field: str, suggestion: str | None) -> None:
    found = problems_of(source)
    unknown = [p for p in found if p.field == field]
    assert unknown, found
    assert "is not a plan field" in unknown[0].message
    if suggestion:
        assert f"did you mean '{suggestion}'?" in unknown[0].message


_keys = st.text(string.ascii_letters + "_-", min_size=1, max_size=12)


@given(st.sampled_from(["", "identity", "role_assignments[0]", "container_app", "identity.tags.x"]), _keys)
def test_any_unknown_key_in_any_table_is_an_error(table: str, key: str) -> None:
    known = {
        "": {"subscription", "identity", "role_assignments", "container_app"},
        "identity": {"resource_group", "name", "location", "tags"},
        "role_assignments[0]": {"role", "scope"},
        "container_app": {"id", "container", "env_var"},
        "identity.tags.x": set(),
    }[table]
    if key in known:
        return
    if table == "identity.tags.x":  # a tag value that is a table
        source = replace_line("tags", f'tags = {{ x = {{ "{key}" = "v" }} }}')
        assert any(p.field == "identity.tags" and "must be text" in p.message for p in problems_of(source))
        return
    header = {"": None, "identity": "[identity]", "role_assignments[0]": "[[role_assignments]]"}.get(table, table)
    if header is None:
        source = f'"{key}" = "x"\n' + GOOD
    else:
        marker = header if header.startswith("[") else f"[{header}]"
        source = GOOD.replace(marker, f'{marker}\n"{key}" = "x"', 1)
    field = f"{table}.{key}" if table else key
    assert any(p.field == field and "is not a plan field" in p.message for p in problems_of(source)), (
        field,
        problems_of(source),
    )


# -- types, empty strings and false are errors, not defaults --------------------------------------
WRONG_VALUES = ["false", "true", "3", "1.5", "[]", '["x"]', "{}", "2024-01-01", '""', '"   "']
STRING_FIELDS = [
    ("subscription", "subscription"),
    ("resource_group", "identity.resource_group"),
    ("name", "identity.name"),
    ("location", "identity.location"),
    ("role", "role_assignments[0].role"),
    ("scope", "role_assignments[0].scope"),
    ("id", "container_app.id"),
    ("container", "container_app.container"),
    ("env_var", "container_app.env_var"),
]


@pytest.mark.parametrize(("key", "field"), STRING_FIELDS)
@pytest.mark.parametrize("wrong", WRONG_VALUES)
def test_a_string_field_of_the_wrong_type_or_empty_is_an_error(key: str, field: str, wrong: str) -> None:
    found = problems_of(replace_line(key, f"{key} = {wrong}"))
    named = [p for p in found if p.field == field]
    assert named, found
    assert any(w in named[0].message for w in ("must be text", "is empty", "is blank")), named[0]


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("tags = { a = 1 }", "tag 'a' must be text, not integer"),
        ("tags = { a = false }", "not boolean"),
        ('tags = ["a"]', "must be a table"),
        ('tags = "owner=data"', "must be a table"),
    ],
)
def test_tags_must_be_a_table_of_text(line: str, phrase: str) -> None:
    found = problems_of(replace_line("tags", line))
    assert [p.field for p in found] == ["identity.tags"]
    assert phrase in found[0].message


@pytest.mark.parametrize(
    ("source", "field", "phrase"),
    [
        (GOOD.replace("[identity]", "identity = 3\n[other]", 1), "identity", "must be a table"),
        (f'subscription = "{SUB}"\n', "identity", "is missing"),
        (
            GOOD.replace("[container_app]", "[container_app]\ncontainer_app = 1").replace(f'id = "{APP}"\n', ""),
            "container_app.id",
            "is missing",
        ),
        (
            f'subscription = "{SUB}"\nrole_assignments = "Reader"\n[identity]\nname = "abc"\nresource_group = "r"\n',
            "role_assignments",
            "array of tables",
        ),
        (
            f'subscription = "{SUB}"\nrole_assignments = ["Reader"]\n[identity]\nname = "abc"\nresource_group = "r"\n',
            "role_assignments[0]",
            "must be a table",
        ),
        (
            f'subscription = "{SUB}"\ncontainer_app = "{APP}"\n[identity]\nname = "abc"\nresource_group = "r"\n',
            "container_app",
            "must be a table",
        ),
    ],
)
def test_tables_of_the_wrong_shape(source: str, field: str, phrase: str) -> None:
    found = problems_of(source)
    named = [p for p in found if p.field == field]
    assert named and phrase in named[0].message, found


def test_location_empty_is_an_error_not_the_group_default() -> None:
    found = problems_of(replace_line("location", 'location = ""'))
    assert [p.field for p in found] == ["identity.location"]
    assert "leave location out" in found[0].message


def test_every_problem_is_reported_at_once() -> None:
    source = GOOD.replace('scope = "', 'scopes = "').replace('name = "id-maia-runner"', "name = false")
    source = source.replace('container = "runner"', "container = 3")
    source = replace_line("resource_group", 'resource_group = "rg."', source)
    fields = {p.field for p in problems_of(source)}
    assert {
        "role_assignments[0].scopes",
        "identity.name",
        "container_app.container",
        "identity.resource_group",
    } <= fields


def test_values_are_not_trimmed_silently() -> None:
    found = problems_of(replace_line("role", 'role = " Key Vault Secrets User"'))
    assert [p.field for p in found] == ["role_assignments[0].role"]
    assert "whitespace" in found[0].message


# -- control characters, in every string the plan holds -----------------------------------------
CONTROLS = [
    "\x00",
    "\x07",
    "\t",
    "\n",
    "\r",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\u200b",
    "\u202e",
    "\u2066",
    "\u2028",
    "\u2029",
    "\ufeff",
]


def _valid_plan() -> Plan:
    return Plan(
        SUB,
        IdentitySpec("rg-runner", "id-maia-runner", "westeurope", {"owner": "data"}),
        [RoleRequest("Key Vault Secrets User", VAULT)],
        AppTarget(APP, "runner"),
    )


def _spoil(plan: Plan, field: str, char: str, at: int) -> None:
    def put(value: str) -> str:
        i = at % (len(value) + 1)
        return value[:i] + char + value[i:]

    if field == "subscription":
        plan.subscription = put(plan.subscription)
    elif field == "identity.tags:name":
        plan.identity.tags = {put("owner"): "data"}
    elif field == "identity.tags:value":
        plan.identity.tags = {"owner": put("data")}
    elif field.startswith("identity."):
        attr = field.split(".")[1]
        setattr(plan.identity, attr, put(getattr(plan.identity, attr)))
    elif field.startswith("role_assignments[0]."):
        attr = field.split(".")[1]
        setattr(plan.role_assignments[0], attr, put(getattr(plan.role_assignments[0], attr)))
    else:
        assert plan.container_app is not None
        attr = field.split(".")[1]
        setattr(plan.container_app, attr, put(getattr(plan.container_app, attr)))


_fields = [f for _, f in STRING_FIELDS] + ["identity.tags:name", "identity.tags:value"]


@given(
    st.sampled_from(_fields),
    st.sampled_from(CONTROLS) | st.characters(categories=("Cc", "Cf", "Zl", "Zp")),
    st.integers(0, 200),
)
def test_control_characters_are_refused_in_every_string(field: str, char: str, at: int) -> None:
    if char in "\u200c\u200d":  # joiners: part of how some scripts and emoji are written
        return
    plan = _valid_plan()
    _spoil(plan, field, char, at)
    found = plan.problems()
    wanted = field.split(":")[0]
    assert [p.field for p in found] == [wanted], found
    assert repr(char)[1:-1] in found[0].message
    assert not text.unsafe(str(found[0])), "the message itself must be safe to print"


@pytest.mark.parametrize("escape", ["\\u001b", "\\r", "\\t", "\\u0085", "\\u202E", "\\u2028"])
@pytest.mark.parametrize(("key", "field"), [*STRING_FIELDS, ("tags", "identity.tags")])
def test_control_characters_written_as_toml_escapes_are_refused(key: str, field: str, escape: str) -> None:
    line = f'tags = {{ owner = "da{escape}ta" }}' if key == "tags" else None
    if line is None:
        value = next(v for v in GOOD.splitlines() if v.startswith(f"{key} =")).split("=", 1)[1].strip()[1:-1]
        line = f'{key} = "{value[:2]}{escape}{value[2:]}"'
    found = problems_of(replace_line(key, line))
    assert field in [p.field for p in found], found


# -- the file round-trips: every valid plan, written and read back, is the same plan ---------------
_group_chars = st.characters(categories=("Lu", "Ll", "Lo", "Nd"), include_characters="_-()").filter(
    lambda c: unicodedata.is_normalized("NFKC", c)
)
_groups = st.builds(
    str.__add__, st.text(_group_chars | st.just("."), max_size=40), st.text(_group_chars, min_size=1, max_size=1)
)
_safe_text = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
_tag_names = st.text(_safe_text, min_size=1, max_size=30).filter(lambda s: s.strip() and not set(s) & set("<>%&\\?/"))
_tag_values = st.text(_safe_text, max_size=256)
_role_names = st.text(_safe_text, min_size=1, max_size=60).filter(lambda s: s == s.strip() and s)
_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{2,60}", fullmatch=True)


@st.composite
def plans(draw: Any) -> Plan:
    sub = str(draw(st.uuids()))
    if draw(st.booleans()):
        sub = sub.upper()
    group = draw(_groups)
    base = f"/subscriptions/{sub}/resourceGroups/{draw(_groups)}"
    scopes = st.sampled_from(
        [
            None,
            f"/subscriptions/{sub}",
            base,
            f"{base}/providers/Microsoft.KeyVault/vaults/{draw(_names)}",
            f"{base}/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default/containers/c",
        ]
    )
    roles = draw(
        st.lists(
            st.builds(RoleRequest, _role_names | st.uuids().map(str), scopes),
            max_size=4,
            unique_by=lambda r: r.role.lower(),
        )
    )
    tags = draw(st.dictionaries(_tag_names, _tag_values, max_size=6))
    tags = {k: v for k, v in tags.items() if sum(1 for o in tags if o.lower() == k.lower()) == 1}
    app = None
    if draw(st.booleans()):
        app = AppTarget(
            f"{base}/providers/Microsoft.App/containerApps/{draw(st.from_regex(r'[a-z][a-z0-9]{1,20}', fullmatch=True))}",
            draw(st.none() | st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)),
            draw(st.sampled_from(["AZURE_CLIENT_ID", "MY_CLIENT", "_x.y-z"])),
        )
    return Plan(
        sub,
        IdentitySpec(group, draw(_names), draw(st.none() | st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True)), tags),
        roles,
        app,
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], max_examples=150)
@given(plans())
def test_every_valid_plan_round_trips_through_the_file(tmp_path: Path, plan: Plan) -> None:
    assert plan.problems() == []
    path = tmp_path / "plan.toml"
    plan.save(path)
    again = Plan.load(path)
    assert again == plan
    assert again.problems() == []
    assert Plan.from_toml(plan.to_toml()) == plan


def test_plan_out_writes_a_file_that_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    odd = 'quote " back\\slash #hash = [x] é 日本 🎉'
    args = f"plan --subscription {SUB} --resource-group rg-runner --identity id-maia-runner --out plan.toml".split()
    args += ["--tag", f"note={odd}", "--tag", "a.b=c", "--role", f"Reader@{VAULT}", "--container-app", APP, "--offline"]
    assert main(args) == 0
    plan = Plan.load(tmp_path / "plan.toml")
    assert plan.identity.tags == {"note": odd, "a.b": "c"}
    assert plan.role_assignments == [RoleRequest("Reader", VAULT)]


# -- a file that cannot be a plan: exit 2, one message, never a traceback -------------------------
def _run_on(path: Path, capsys: pytest.CaptureFixture[str], command: str = "apply") -> str:
    assert main([command, str(path)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(GOOD.replace("data", "donn\xe9es").encode("latin-1"))
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    deep_tables = tmp_path / "deep-tables.toml"
    deep_tables.write_text("x = " + "{a=" * 5_000 + "1" + "}" * 5_000 + "\n", encoding="utf-8")
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as fh:
        fh.truncate(3 * 1024**3)  # a sparse 3 GiB file: must not be read whole
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return {
        "not UTF-8": (latin1, "is not UTF-8"),
        "nested lists": (deep, "nests too deeply"),
        "nested tables": (deep_tables, "nests too deeply"),
        "huge": (huge, "larger than"),
        "binary": (binary, "is not UTF-8"),
        "directory": (tmp_path, "is a directory"),
        "missing": (tmp_path / "nope.toml", "No such file"),
    }


@pytest.mark.parametrize(
    "case", ["not UTF-8", "nested lists", "nested tables", "huge", "binary", "directory", "missing"]
)
@pytest.mark.parametrize("command", ["apply", "verify", "export"])
def test_unreadable_plan_files_exit_2_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: str
) -> None:
    path, phrase = _bad_files(tmp_path)[case]
    err = _run_on(path, capsys, command)
    assert phrase in err, err
    assert str(path) in err
    assert len(err.strip().splitlines()) <= 3, err


def test_a_file_that_is_not_toml_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(GOOD.replace('name = "id-maia-runner"', "name = id-maia-runner"), encoding="utf-8")
    err = _run_on(path, capsys)
    assert "is not valid TOML" in err and "line 5" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(GOOD, encoding="utf-8")
    path.chmod(0)
    assert "Permission denied" in _run_on(path, capsys)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert Plan.load(path) == Plan.from_toml(GOOD)


def test_a_wizard_given_a_bad_plan_says_so_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(b"\xff\xfe")
    assert main(["--plan", str(path)]) == 2
    assert "is not UTF-8" in capsys.readouterr().out
