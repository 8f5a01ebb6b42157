"""Resource ids and scopes: one parser normalises them, and nothing it accepts can resolve, on the
way through an HTTP stack, to a different resource (another resource, the whole subscription, or
another subscription).
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wizard import rules
from wizard.azure import ids
from wizard.plan import IdentitySpec, Plan, RoleRequest
from wizard.rules import RuleError

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
OTHER = "7d6e0c71-52b5-4c1e-9a57-0a8f3c1b2d4e"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-runner"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-shared/providers/Microsoft.KeyVault/vaults/kv"
BLOB = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default/containers/logs"


def resolved(value: str) -> str:
    """What an HTTP client or server may make of the id as a URL path: the query and fragment cut
    off, backslashes read as slashes, percent-escapes decoded, compatibility characters folded
    (NFKC), dot segments and doubled slashes resolved."""
    parts = urlsplit("https://management.azure.com" + value.replace("\\", "/"))
    path = unicodedata.normalize("NFKC", unquote(parts.path))
    return posixpath.normpath(path) if path else path


def refused(value: str, field: str = "role_assignments[0].scope") -> RuleError:
    with pytest.raises(RuleError) as info:
        rules.scope(value, field)
    assert info.value.field == field
    return info.value


# -- the kinds of malformed id, each refused with the field named -------------------------------
ESCAPES = [
    (f"{VAULT}/../../..", "'..'"),
    (f"{VAULT}/..", "'..'"),
    (f"{VAULT}/../..", "'..'"),
    (f"{RG}/./providers/Microsoft.KeyVault/vaults/kv", "'.'"),
    (f"/subscriptions/{SUB}/../{OTHER}/resourceGroups/rg", "'..'"),
    (f"{VAULT}/%2e%2e/%2E%2E", "'%'"),
    (f"{VAULT}%2F..%2F..", "'%'"),
    (f"{VAULT}?x=1", "'?'"),
    (f"{VAULT}#/../..", "'#'"),
    (f"{VAULT}\\..\\..", "'\\\\'"),
    (f"{RG}//providers/Microsoft.KeyVault/vaults/kv", "empty segment"),
    (f"{RG}/", "ends with '/'"),
    (f" {RG}", "does not start with '/'"),
    (f"{RG} ", "whitespace"),
    (f"{RG}\t", "'\\t'"),
    (f"{RG}\n", "'\\n'"),
    (f"{VAULT}\u2215..\u2215..", "U+2215"),  # division slash
    (f"{VAULT}\uff0f\uff0e\uff0e", "U+FF0F"),  # fullwidth solidus and full stops
    (f"{VAULT}/\u2025", "U+2025"),  # two dot leader: NFKC '..'
    (f"/subscriptions/{SUB.upper().replace('B', 'Ｂ')}", "U+FF22"),  # fullwidth B
    (f"/subscriptions/{SUB}0", "subscription GUID"),
    (f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/{SUB}", "second /providers/"),
    (f"{VAULT}.", "ends with a period"),
    (f"{VAULT}\u202e", "'\\u202e'"),
    (f"{VAULT}\x1b[2J", "'\\x1b'"),
]


@pytest.mark.parametrize(("value", "phrase"), ESCAPES)
def test_ids_that_could_resolve_elsewhere_are_refused(value: str, phrase: str) -> None:
    err = refused(value)
    assert phrase in err.message, err.message
    assert "expected /subscriptions/" in err.message or "no control" in err.message


@pytest.mark.parametrize(("value", "phrase"), ESCAPES)
def test_a_plan_refuses_them_before_anything_is_sent(value: str, phrase: str) -> None:
    plan = Plan(SUB, IdentitySpec("rg-runner", "id-maia"), [RoleRequest("Reader", value)])
    problems = plan.problems()
    assert [p.field for p in problems] == ["role_assignments[0].scope"], problems
    assert phrase in problems[0].message


# -- the property: whatever is accepted means exactly what it says --------------------------------
PIECES = [
    "/",
    "..",
    ".",
    "%2e",
    "%2E",
    "%2f",
    "%5C",
    "?",
    "#",
    "\\",
    " ",
    "\t",
    "\uff0f",
    "\uff0e",
    "\u2024",
    "\u2215",
    "\u00a0",
    "subscriptions",
    "resourceGroups",
    "providers",
    "Microsoft.KeyVault",
    "vaults",
    "kv",
    "rg",
    SUB,
    OTHER,
]
_tails = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
_heads = st.sampled_from(["", f"/subscriptions/{SUB}", RG, VAULT, BLOB, "/subscriptions/"])


@given(_heads, _tails)
@example(VAULT, "/../..")
@example(VAULT, "/kv/../..")
@example(f"/subscriptions/{SUB}", f"/resourceGroups/rg/../../../{OTHER}")
def test_an_accepted_scope_resolves_to_itself(head: str, tail: str) -> None:
    value = head + tail
    try:
        parsed = rules.scope(value, "scope")
    except RuleError as err:
        assert err.field == "scope" and err.message
        return
    assert resolved(value) == value, f"{value!r} resolves to {resolved(value)!r}"
    assert parsed.id.lower() == value.lower()
    assert parsed.subscription == value.split("/")[2].lower()
    assert ids.parse(parsed.id) == parsed


# -- normal form ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        (f"/SUBSCRIPTIONS/{SUB.upper()}", f"/subscriptions/{SUB}"),
        (f"/subscriptions/{SUB}/resourcegroups/RG-Runner", f"/subscriptions/{SUB}/resourceGroups/RG-Runner"),
        (VAULT.replace("/providers/", "/PROVIDERS/"), VAULT),
        (
            f"/SUBSCRIPTIONS/{SUB.upper()}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV",
            f"/subscriptions/{SUB}/resourceGroups/RG/providers/MICROSOFT.KEYVAULT/VAULTS/KV",
        ),
        (BLOB, BLOB),
    ],
)
def test_one_normal_form(given: str, canonical: str) -> None:
    parsed = ids.parse(given)
    assert parsed.id == canonical
    assert ids.normalize(given) == canonical
    assert ids.normalize(canonical) == canonical
    assert rules.scope(given).id == canonical
    assert ids.same(given, canonical)


def test_parts_of_a_nested_resource() -> None:
    parsed = ids.parse(BLOB)
    assert (parsed.subscription, parsed.resource_group, parsed.namespace) == (SUB, "rg-runner", "Microsoft.Storage")
    assert parsed.types == ("storageAccounts", "blobServices", "containers")
    assert parsed.names == ("sa1", "default", "logs")
    assert parsed.type == "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert parsed.name == "logs"
    assert parsed.kind == "resource"
    assert ids.parse(RG).kind == "resource_group"
    assert ids.parse(f"/subscriptions/{SUB}").kind == "subscription"


def test_names_keep_their_case_and_script() -> None:
    value = f"/subscriptions/{SUB}/resourceGroups/Ресурсы-日本語"
    assert ids.normalize(value) == value


# -- a scope in another subscription is refused on the normal form -------------------------------
@pytest.mark.parametrize(
    "scope",
    [
        f"/subscriptions/{OTHER}/resourceGroups/rg",
        f"/SUBSCRIPTIONS/{OTHER.upper()}",
        f"/subscriptions/{SUB}/resourceGroups/rg/../../{OTHER}",
    ],
)
def test_scopes_in_another_subscription_are_refused(scope: str) -> None:
    plan = Plan(SUB, IdentitySpec("rg-runner", "id-maia"), [RoleRequest("Reader", scope)])
    problems = plan.problems()
    assert [p.field for p in problems] == ["role_assignments[0].scope"]


def test_the_plan_holds_the_normal_form() -> None:
    plan = Plan(
        SUB.upper(),
        IdentitySpec("rg-runner", "id-maia"),
        [RoleRequest("Reader", VAULT.replace("/resourceGroups/", "/resourcegroups/"))],
    )
    assert plan.problems() == []
    assert plan.subscription == SUB
    assert plan.scope_of(plan.role_assignments[0]) == VAULT
    assert plan.group_scope() == f"/subscriptions/{SUB}/resourceGroups/rg-runner"


# -- the SDK's own parser reads every accepted id the same way ----------------------------------
_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)
_type = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,15}", fullmatch=True)
_group_chars = st.characters(categories=("Lu", "Ll", "Lo", "Nd"), include_characters="_-()").filter(
    lambda c: unicodedata.is_normalized("NFKC", c)
)
_group = st.text(_group_chars, min_size=1, max_size=20)


@given(st.uuids(), _group, st.lists(st.tuples(_type, _name), min_size=1, max_size=3), st.booleans())
def test_accepted_ids_read_the_same_with_azure_mgmt_core(
    sub: Any, group: str, pairs: list[tuple[str, str]], shout: bool
) -> None:
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id, resource_id

    tail = "/".join(f"{t}/{n}" for t, n in pairs)
    value = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Contoso.Widgets/{tail}"
    if shout:
        value = value.replace("/subscriptions/", "/SUBSCRIPTIONS/").replace("/providers/", "/Providers/")
    parsed = rules.resource_id(value, "id")
    assert is_valid_resource_id(parsed.id)
    theirs = parse_resource_id(parsed.id)
    assert theirs["subscription"] == parsed.subscription == str(sub)
    assert theirs["resource_group"] == parsed.resource_group == group
    assert theirs["namespace"] == parsed.namespace
    assert theirs["resource_type"] == parsed.types[-1]
    assert theirs["resource_name"] == parsed.name
    assert resource_id(**{k: v for k, v in theirs.items() if isinstance(v, str)}) == parsed.id
