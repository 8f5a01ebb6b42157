"""Azure's naming, tag, env-var and id rules: good values pass, each bad one names its field and the rule."""

from __future__ import annotations

import pickle
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard import rules
from wizard.rules import RuleError

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-runner"
APP = f"{RG}/providers/Microsoft.App/containerApps/maia-runner"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv1"
BLOB = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default/containers/logs"


def fails(field: str, phrases: tuple[str, ...], check: Callable[..., Any], /, *args: Any, **kwargs: Any) -> RuleError:
    """Call a check that must fail; the error names `field` and its message holds every phrase."""
    with pytest.raises(RuleError) as info:
        check(*args, **kwargs)
    err = info.value
    assert err.field == field
    assert str(err) == f"{field}: {err.message}"
    for phrase in phrases:
        assert phrase in str(err), (phrase, str(err))
    return err


# -- RuleError --------------------------------------------------------------------------------
def test_rule_error_carries_field_and_message() -> None:
    err = RuleError("identity name", "is empty")
    assert isinstance(err, ValueError)
    assert (err.field, err.message, str(err)) == ("identity name", "is empty", "identity name: is empty")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.field, copy.message, str(copy)) == (err.field, err.message, str(err))


def test_the_documented_example_message() -> None:
    with pytest.raises(RuleError) as info:
        rules.identity_name("a")
    assert str(info.value) == (
        "identity name: 'a' is too short: use 3 to 128 characters (letters, digits, hyphens, underscores), "
        "starting with a letter or digit"
    )


# -- simple name rules: (check, default field, good values, bad values with key phrases) ------
NAME_RULES: list[tuple[Callable[..., None], str, list[str], list[tuple[Any, tuple[str, ...]]]]] = [
    (
        rules.subscription_id,
        "subscription",
        [SUB, SUB.upper()],
        [
            ("", ("is empty", "GUID like 00000000-")),
            ("not-a-guid", ("'not-a-guid' is not a GUID", "a subscription ID is a GUID")),
            (SUB + "\n", ("contains '\\n' (a control character)",)),
            (SUB + "x", ("is not a GUID",)),
            ("{" + SUB + "}", ("is not a GUID",)),
            (SUB.replace("-", ""), ("is not a GUID",)),
            (42, ("must be text, not int",)),
        ],
    ),
    (
        rules.role_assignment_name,
        "role assignment name",
        [SUB],
        [("Reader", ("'Reader' is not a GUID", "a role assignment name is a GUID"))],
    ),
    (
        rules.resource_group_name,
        "resource group",
        ["a", "rg-runner", "RG_1.(prod)", "ресурсы", "日本語", "x" * 90],
        [
            ("", ("is empty", "use 1 to 90 characters")),
            ("x" * 91, ("is too long (91 characters)", "use 1 to 90")),
            ("rg runner", ("contains ' '", "letters, digits, underscores, hyphens, periods, parentheses")),
            ("rg/1", ("contains '/'",)),
            ("rg.", ("'rg.' ends with a period", "not ending in a period")),
        ],
    ),
    (
        rules.identity_name,
        "identity name",
        ["abc", "id-maia_runner-01", "9lives", "A" * 128],
        [
            ("", ("is empty", "use 3 to 128 characters")),
            ("ab", ("'ab' is too short",)),
            ("a" * 129, ("is too long (129 characters)",)),
            ("id.runner", ("contains '.'", "letters, digits, hyphens, underscores")),
            ("idé", ("contains 'é'",)),
            ("-id", ("starts with '-'", "starting with a letter or digit")),
            ("_id", ("starts with '_'",)),
        ],
    ),
    (
        rules.container_app_name,
        "container app",
        ["ab", "maia-runner", "a1-b2", "a" * 32],
        [
            ("a", ("is too short", "use 2 to 32 characters")),
            ("a" * 33, ("is too long (33 characters)",)),
            ("Maia", ("contains 'M'", "lowercase letters, digits, hyphens")),
            ("maia_runner", ("contains '_'",)),
            ("1maia", ("starts with '1'", "starting with a letter")),
            ("-maia", ("starts with '-'",)),
            ("maia-", ("ends with '-'", "ending with a letter or digit")),
            ("maia--runner", ("contains '--'", "with no '--'")),
        ],
    ),
    (
        rules.container_name,
        "container",
        ["runner", "log-shipper", "1", "9a", "a" * 63],
        [
            ("", ("is empty", "use 1 to 63 characters")),
            ("a" * 64, ("is too long (64 characters)",)),
            ("Runner", ("contains 'R'", "lowercase letters, digits, hyphens")),
            ("log.shipper", ("contains '.'",)),
            ("-runner", ("starts with '-'", "starting and ending with a letter or digit")),
            ("runner-", ("ends with '-'",)),
        ],
    ),
    (
        rules.location,
        "location",
        ["westeurope", "eastus2"],
        [
            ("", ("is empty", "lowercase letters and digits")),
            ("West Europe", ("contains 'W'", "did you mean 'westeurope'?")),
            ("west europe", ("contains ' '", "no spaces", "did you mean 'westeurope'?")),
            ("west-europe", ("contains '-'", "e.g. 'westeurope'")),
        ],
    ),
    (
        rules.tag_name,
        "tag name",
        ["owner", "cost center", "Env", "a" * 512],
        [
            ("", ("is empty", "tag names use 1 to 512 characters")),
            ("  ", ("is blank",)),
            ("a" * 513, ("is too long (513 characters)",)),
            *[(f"a{c}b", (f"contains {c!r}", "none of < > % & \\ ? /")) for c in "<>%&\\?/"],
        ],
    ),
    (
        rules.env_var_name,
        "environment variable",
        ["AZURE_CLIENT_ID", "_x", "-x", ".x", "a.b-c_9", "x"],
        [
            ("", ("is empty", "start with a letter, '_', '-' or '.'")),
            ("1X", ("starts with '1'",)),
            ("MY VAR", ("contains ' '", "letters, digits, '_', '-' and '.'")),
            ("A=B", ("contains '='",)),
            ("ÄX", ("contains 'Ä'",)),
        ],
    ),
]
GOOD = [(check, value) for check, _, goods, _ in NAME_RULES for value in goods]
BAD = [(check, field, value, phrases) for check, field, _, bads in NAME_RULES for value, phrases in bads]


@pytest.mark.parametrize(("check", "value"), GOOD, ids=lambda x: getattr(x, "__name__", None))
def test_good_names_pass(check: Callable[..., None], value: str) -> None:
    assert check(value) is None


@pytest.mark.parametrize(("check", "field", "value", "phrases"), BAD, ids=lambda x: getattr(x, "__name__", None))
def test_bad_names_say_field_and_rule(
    check: Callable[..., None], field: str, value: Any, phrases: tuple[str, ...]
) -> None:
    fails(field, phrases, check, value)


@pytest.mark.parametrize(("check", "field", "value", "phrases"), BAD[::3], ids=lambda x: getattr(x, "__name__", None))
def test_a_given_field_name_is_used(
    check: Callable[..., None], field: str, value: Any, phrases: tuple[str, ...]
) -> None:
    fails("plan.some_field", phrases, check, value, field="plan.some_field")


def test_long_values_are_shortened_in_messages() -> None:
    err = fails("tag name", ("...'", "is too long (600"), rules.tag_name, "x" * 600)
    assert len(str(err)) < 400


# -- locations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("West Europe", "westeurope"),
        ("  east US 2 ", "eastus2"),
        ("(Europe) West Europe", "westeurope"),
        ("(US) East US 2", "eastus2"),
        ("westeurope", "westeurope"),
        ("", ""),
    ],
)
def test_normalize_location(given: str, expected: str) -> None:
    assert rules.normalize_location(given) == expected
    if expected:
        assert rules.location(expected) is None


@given(st.text())
def test_normalize_location_is_idempotent(value: str) -> None:
    once = rules.normalize_location(value)
    assert rules.normalize_location(once) == once


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 \t", min_size=1))
def test_normalized_ascii_display_names_are_valid_locations(value: str) -> None:
    normalized = rules.normalize_location(value)
    if normalized:
        assert rules.location(normalized) is None


# -- tags -------------------------------------------------------------------------------------
def test_tag_values() -> None:
    assert rules.tag_value("", "owner") is None
    assert rules.tag_value("v" * 256, "owner") is None
    fails("tag value", ("tag 'owner'", "too long (257", "at most 256"), rules.tag_value, "v" * 257, "owner")
    fails("tags.owner", ("tag 'owner' must be text, not int",), rules.tag_value, 3, "owner", field="tags.owner")


def test_tags() -> None:
    assert rules.tags({}) is None
    assert rules.tags({"owner": "data", "env": "", "Cost Center": "42"}) is None
    assert rules.tags({f"t{i}": "v" for i in range(50)}) is None
    fails("tags", ("has 51 tags", "at most 50"), rules.tags, {f"t{i}": "v" for i in range(51)})
    fails("tags", ("'a/b' contains '/'", "tag names"), rules.tags, {"a/b": "x"})
    fails("tags", ("is empty",), rules.tags, {"": "x"})
    fails("tags", ("tag 'owner'", "at most 256"), rules.tags, {"owner": "v" * 300})
    fails(
        "identity.tags",
        ("'Owner' and 'OWNER' differ only in case", "case-insensitive"),
        rules.tags,
        {"Owner": "a", "env": "b", "OWNER": "c"},
        field="identity.tags",
    )
    fails("tags", ("must be a mapping", "not list"), rules.tags, [("owner", "x")])


@pytest.mark.parametrize(
    ("given", "expected"),
    [("owner=data", ("owner", "data")), ("env=", ("env", "")), ("q=a=b", ("q", "a=b")), ("c c= x", ("c c", " x"))],
)
def test_parse_tag(given: str, expected: tuple[str, str]) -> None:
    assert rules.parse_tag(given) == expected


@pytest.mark.parametrize(
    ("given", "phrases"),
    [
        ("owner", ("'owner' has no '='", "NAME=VALUE")),
        ("=data", ("is empty",)),
        ("a?b=c", ("contains '?'",)),
        ("owner=" + "v" * 257, ("too long", "at most 256")),
    ],
)
def test_parse_tag_errors(given: str, phrases: tuple[str, ...]) -> None:
    fails("tag", phrases, rules.parse_tag, given)


_plain = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
_tag_names = st.text(_plain, min_size=1, max_size=40).filter(lambda s: s.strip() and not set(s) & set("<>%&\\?/="))


@given(_tag_names, st.text(_plain, max_size=256))
def test_parse_tag_round_trips(name: str, value: str) -> None:
    assert rules.parse_tag(f"{name}={value}") == (name, value)


@given(_tag_names, st.text(_plain, max_size=100), st.characters(categories=("Cc", "Cf", "Zl", "Zp")), st.booleans())
def test_tags_with_control_characters_are_refused(name: str, value: str, char: str, in_name: bool) -> None:
    if char in "\u200c\u200d":  # joiners are how some scripts and emoji are written
        return
    tags = {name + char: value} if in_name else {name: value + char}
    with pytest.raises(RuleError) as info:
        rules.tags(tags, "identity.tags")
    assert info.value.field == "identity.tags"
    assert repr(char)[1:-1] in info.value.message


# -- environment variables --------------------------------------------------------------------
@pytest.mark.parametrize(("name", "warned"), [("AZURE_CLIENT_ID", False), ("_X1", False), ("my-var", True)])
def test_env_var_warning(name: str, warned: bool) -> None:
    message = rules.env_var_warning(name)
    assert (message is not None) == warned
    if message:
        assert "'my-var'" in message and "shell" in message


def test_env_var_warning_covers_dots_but_not_invalid_names() -> None:
    assert "shell" in (rules.env_var_warning(".hidden") or "")
    assert rules.env_var_warning("1BAD") is None  # an error, not a warning
    assert rules.env_var_warning("") is None


# -- resource ids and scopes ------------------------------------------------------------------
def test_parse_resource_id() -> None:
    assert rules.parse_resource_id(f"/subscriptions/{SUB}") == {"subscription": SUB}
    assert rules.parse_resource_id(RG) == {"subscription": SUB, "resource_group": "rg-runner"}
    assert rules.parse_resource_id(APP) == {
        "subscription": SUB,
        "resource_group": "rg-runner",
        "namespace": "Microsoft.App",
        "type": "containerApps",
        "name": "maia-runner",
    }
    nested = rules.parse_resource_id(BLOB)
    assert (nested["type"], nested["name"]) == ("storageAccounts/blobServices/containers", "sa1/default/logs")
    lower = rules.parse_resource_id(
        APP.replace("resourceGroups", "RESOURCEGROUPS").replace("/providers/", "/Providers/")
    )
    assert lower["resource_group"] == "rg-runner" and lower["name"] == "maia-runner"
    no_group = rules.parse_resource_id(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{SUB}")
    assert "resource_group" not in no_group and no_group["type"] == "roleDefinitions"


MALFORMED: list[tuple[str, tuple[str, ...]]] = [
    ("", ("is empty",)),
    ("subscriptions/" + SUB, ("does not start with '/'", "expected /subscriptions/{id}, /subscriptions/{id}/")),
    ("/", ("ends with '/'",)),
    (RG + "/", ("ends with '/'",)),
    (RG.replace("/resourceGroups", "//resourceGroups"), ("has an empty segment",)),
    ("/tenants/x", ("does not start with /subscriptions/{id}",)),
    ("/subscriptions", ("does not start with /subscriptions/{id}",)),
    ("/subscriptions/prod", ("has 'prod' where the subscription GUID belongs",)),
    (f"/subscriptions/{SUB}/resourceGroups", ("no resource group name after /resourceGroups",)),
    (f"/subscriptions/{SUB}/resourceGroups/rg.", ("'rg.', which ends with a period",)),
    (f"/subscriptions/{SUB}/resourceGroups/rg!", ("resource group 'rg!' contains '!'", "not ending in a period")),
    (f"/subscriptions/{SUB}/groups/rg", ("has 'groups' where 'resourceGroups' or 'providers' belongs",)),
    (f"{RG}/containerApps/x", ("has 'containerApps' where 'providers' belongs",)),
    (f"{RG}/providers/Microsoft.App/containerApps", ("does not end in /providers/{namespace}/{type}/{name}",)),
    (f"{RG}/providers/Microsoft.App", ("does not end in /providers/",)),
    (f"{APP}/revisions", ("does not end in /providers/",)),
    (f"{RG}/providers/containerApps/x/y", ("'containerApps' where a provider namespace like Microsoft.App",)),
]


@pytest.mark.parametrize(("value", "phrases"), MALFORMED)
def test_parse_resource_id_errors(value: str, phrases: tuple[str, ...]) -> None:
    fails("resource id", phrases, rules.parse_resource_id, value)


@pytest.mark.parametrize("value", [APP, VAULT, BLOB, APP.lower(), APP.upper().replace(SUB.upper(), SUB)])
def test_resource_ids_pass(value: str) -> None:
    parsed = rules.resource_id(value, "container_app.id")
    assert parsed.id.lower() == value.lower()
    assert rules.scope(value) == parsed


def test_resource_id_expected_type() -> None:
    assert rules.resource_id(APP, "app", expected_type="Microsoft.App/containerApps").id == APP
    assert rules.resource_id(APP, "app", expected_type="microsoft.app/CONTAINERAPPS").name == "maia-runner"
    assert rules.resource_id(BLOB, "x", expected_type="Microsoft.Storage/storageAccounts/blobServices/containers")
    fails(
        "container_app.id",
        ("is a Microsoft.KeyVault/vaults", "expected the ID of a Microsoft.App/containerApps"),
        rules.resource_id,
        VAULT,
        field="container_app.id",
        expected_type="Microsoft.App/containerApps",
    )


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        (f"/subscriptions/{SUB}", "is a subscription, not a resource"),
        (RG, "is a resource group, not a resource"),
        (f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{SUB}", "not in a resource group"),
        ("/subscriptions/prod", "where the subscription GUID belongs"),
    ],
)
def test_resource_id_errors(value: str, phrase: str) -> None:
    fails("app", (phrase, "expected /subscriptions/{id}/resourceGroups/"), rules.resource_id, value, "app")


@pytest.mark.parametrize("value", [f"/subscriptions/{SUB}", RG, f"/Subscriptions/{SUB}/ResourceGroups/RG", VAULT])
def test_scopes_pass(value: str) -> None:
    assert rules.scope(value).id.lower() == value.lower()


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("kv1", "does not start with '/'"),
        (f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{SUB}", "outside any resource group"),
        (f"{RG}/providers/Microsoft.KeyVault/vaults", "does not end in"),
        ("/providers/Microsoft.Management/managementGroups/mg", "does not start with /subscriptions/"),
    ],
)
def test_scope_errors(value: str, phrase: str) -> None:
    fails("scope", (phrase, "/resourceGroups/{group}, or /subscriptions/"), rules.scope, value)
    fails("role_assignments[0].scope", (phrase,), rules.scope, value, field="role_assignments[0].scope")


_segment = st.from_regex(r"[a-z][a-zA-Z0-9-]{0,20}", fullmatch=True)


# Compatibility forms (fullwidth letters, ligatures, the Kelvin sign) look like other names: refused.
_group_chars = st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd"), include_characters="_-()").filter(
    lambda c: unicodedata.is_normalized("NFKC", c)
)


_LOOK_ALIKES = [
    c
    for c in map(chr, range(0x30000))
    if unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd") and not unicodedata.is_normalized("NFKC", c)
]


@given(st.sampled_from(_LOOK_ALIKES))
def test_look_alike_group_names_are_refused(char: str) -> None:
    fails("resource group", ("a look-alike of",), rules.resource_group_name, f"rg-{char}")
    fails("scope", ("a look-alike of",), rules.scope, f"/subscriptions/{SUB}/resourceGroups/rg-{char}")


_groups = st.builds(
    str.__add__, st.text(_group_chars | st.just("."), max_size=89), st.text(_group_chars, min_size=1, max_size=1)
)


@given(st.uuids(), _groups, _segment, _segment, _segment)
def test_built_ids_parse_back(sub: Any, group: str, namespace: str, kind: str, name: str) -> None:
    namespace = f"Contoso.{namespace.replace('-', '')}"
    value = f"/subscriptions/{sub}/resourceGroups/{group}/providers/{namespace}/{kind}/{name}"
    assert rules.parse_resource_id(value) == {
        "subscription": str(sub),
        "resource_group": group,
        "namespace": namespace,
        "type": kind,
        "name": name,
    }
    assert rules.resource_id(value, "id", expected_type=f"{namespace}/{kind}".upper()).id == value


# -- role specs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Reader", ("Reader", None)),
        ("  Key Vault Secrets User ", ("Key Vault Secrets User", None)),
        (SUB, (SUB, None)),
        (f"Key Vault Secrets User@{VAULT}", ("Key Vault Secrets User", VAULT)),
        (f"Storage Blob Data Reader @ {BLOB}", ("Storage Blob Data Reader", BLOB)),
        (f"{SUB}@{RG}", (SUB, RG)),
    ],
)
def test_parse_role_spec(given: str, expected: tuple[str, str | None]) -> None:
    assert rules.parse_role_spec(given) == expected


@pytest.mark.parametrize(
    ("given", "field", "phrases"),
    [
        ("", "role", ("has no role", "ROLE@SCOPE")),
        (f"  @{RG}", "role", ("has no role",)),
        ("Reader@", "scope", ("nothing after '@'", "leave out the '@'")),
        ("Reader@kv1", "scope", ("'kv1' does not start with '/'", "/subscriptions/{id}/resourceGroups/{group}")),
        (f"Reader@{RG}/", "scope", ("ends with '/'",)),
    ],
)
def test_parse_role_spec_errors(given: str, field: str, phrases: tuple[str, ...]) -> None:
    fails(field, phrases, rules.parse_role_spec, given)


# -- properties -------------------------------------------------------------------------------
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{2,127}", fullmatch=True))
def test_identity_grammar_passes(value: str) -> None:
    assert rules.identity_name(value) is None


@given(st.from_regex(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,30}[a-z0-9]", fullmatch=True))
def test_container_app_grammar_passes(value: str) -> None:
    assert rules.container_app_name(value) is None


CHECKS: list[Callable[[str], object]] = [
    rules.subscription_id,
    rules.role_assignment_name,
    rules.resource_group_name,
    rules.identity_name,
    rules.container_app_name,
    rules.container_name,
    rules.location,
    rules.tag_name,
    rules.env_var_name,
    rules.scope,
    rules.parse_resource_id,
    rules.parse_role_spec,
    rules.parse_tag,
    lambda v: rules.resource_id(v, "id"),
    lambda v: rules.tag_value(v, "t"),
    lambda v: rules.tags({v: v}),
    rules.env_var_warning,
]


@given(
    st.sampled_from(CHECKS), st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from([APP, RG])
)
def test_checks_only_ever_raise_rule_error(check: Callable[[str], object], value: str) -> None:
    try:
        check(value)
    except RuleError as err:
        assert err.field and err.message and str(err).startswith(f"{err.field}: ")
