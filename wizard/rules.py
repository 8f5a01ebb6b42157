"""Azure's naming, tag, environment-variable and id rules, one small function each.

They live here, apart from the gateway, so that every value the admin typed is checked before any
network call: a bad name is refused with a message saying which field broke which rule, and
nothing is written to the tenant on bad input. Pure Python, standard library only (ids are parsed
by `wizard.azure.ids`, which is too).

Each check raises RuleError(field, message) when the value breaks a rule. Name checks return None;
`scope` and `resource_id` return the parsed id (`ArmId`, whose `.id` is the normal form), so that
callers use the one normalised form. Every text check refuses control characters first (see
`plain_text`), and every message shows the value with repr(), so a message is safe to print.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from typing import NoReturn

from .azure import ids
from .azure.ids import ArmId
from .text import describe, unsafe

__all__ = [
    "ArmId",
    "RuleError",
    "container_app_name",
    "container_name",
    "env_var_name",
    "env_var_warning",
    "identity_name",
    "location",
    "normalize_location",
    "parse_resource_id",
    "parse_role_spec",
    "parse_tag",
    "plain_text",
    "resource_group_name",
    "resource_id",
    "role_assignment_name",
    "role_name",
    "scope",
    "subscription_id",
    "tag_name",
    "tag_value",
    "tags",
]


class RuleError(ValueError):
    """A value breaks an Azure rule. `field` names what the user set; `message` says what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[RuleError], tuple[str, str]]:
        return (type(self), (self.field, self.message))


# -- the rules, in words ----------------------------------------------------------------------
GUID_EXAMPLE = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP_RULE = (
    "use 1 to 90 characters (letters, digits, underscores, hyphens, periods, parentheses), not ending in a period"
)
IDENTITY_RULE = "use 3 to 128 characters (letters, digits, hyphens, underscores), starting with a letter or digit"
CONTAINER_APP_RULE = (
    "use 2 to 32 characters (lowercase letters, digits, hyphens), starting with a letter, "
    "ending with a letter or digit, with no '--'"
)
CONTAINER_RULE = (
    "use 1 to 63 characters (lowercase letters, digits, hyphens), starting and ending with a letter or digit"
)
LOCATION_RULE = "use the region's short name: lowercase letters and digits, no spaces"
TAG_NAME_RULE = "use 1 to 512 characters, none of < > % & \\ ? /"
TAG_VALUE_RULE = "use at most 256 characters"
MAX_TAGS = 50
ENV_VAR_RULE = "start with a letter, '_', '-' or '.', then use only letters, digits, '_', '-' and '.'"
RESOURCE_SHAPE = "/subscriptions/{id}/resourceGroups/{group}/providers/{namespace}/{type}/{name}"
SCOPE_SHAPE = f"/subscriptions/{{id}}, /subscriptions/{{id}}/resourceGroups/{{group}}, or {RESOURCE_SHAPE}"

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)
_LOWER_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_TAG_FORBIDDEN = frozenset("<>%&\\?/")


# -- helpers ----------------------------------------------------------------------------------
def _show(value: str) -> str:
    """The value quoted for a message, cut short when long; repr() makes stray whitespace visible."""
    return repr(value if len(value) <= 300 else value[:297] + "...")


def _fail(field: str, value: str, problem: str, rule: str) -> NoReturn:
    raise RuleError(field, f"{_show(value)} {problem}: {rule}")


def _text(value: object, field: str, rule: str) -> str:
    if not isinstance(value, str):
        raise RuleError(field, f"must be text, not {type(value).__name__}: {rule}")
    if not value:
        raise RuleError(field, f"is empty: {rule}")
    plain_text(value, field)
    return value


def plain_text(value: object, field: str) -> None:
    """Any text the plan holds: refuses a non-string and every character that could act on a
    terminal instead of being read (C0 controls incl. TAB, CR and LF, DEL, C1, ESC, bidirectional
    overrides and isolates, zero-width and other invisible format characters, U+2028 and U+2029;
    see `wizard.text.unsafe`). The error names the first such character, escaped."""
    if not isinstance(value, str):
        raise RuleError(field, f"must be text, not {type(value).__name__}")
    bad = unsafe(value)
    if bad:
        _fail(field, value, f"contains {describe(bad[0])}", "plan values hold no control or invisible characters")


def _length(value: str, field: str, low: int, high: int, rule: str) -> None:
    if len(value) < low:
        _fail(field, value, "is too short", rule)
    if len(value) > high:
        _fail(field, value, f"is too long ({len(value)} characters)", rule)


def _chars(value: str, field: str, allowed: frozenset[str] | str, rule: str) -> None:
    for char in value:
        if char not in allowed:
            _fail(field, value, f"contains {char!r}", rule)


def _guid(value: object, field: str, what: str) -> None:
    rule = f"{what} is a GUID like {GUID_EXAMPLE}"
    text = _text(value, field, rule)
    if not _GUID.fullmatch(text):
        _fail(field, text, "is not a GUID", rule)


# -- names ------------------------------------------------------------------------------------
def subscription_id(value: str, field: str = "subscription") -> None:
    """A subscription ID: a GUID."""
    _guid(value, field, "a subscription ID")


def role_assignment_name(value: str, field: str = "role assignment name") -> None:
    """A role assignment's name: a GUID."""
    _guid(value, field, "a role assignment name")


def resource_group_name(value: str, field: str = "resource group") -> None:
    """1-90 letters (any script), digits, '_', '-', '.', '(', ')'; not ending in '.'."""
    value = _text(value, field, RESOURCE_GROUP_RULE)
    _length(value, field, 1, 90, RESOURCE_GROUP_RULE)
    for char in value:
        if not (char.isalpha() or char.isdecimal() or char in "_-.()"):
            _fail(field, value, f"contains {char!r}", RESOURCE_GROUP_RULE)
        plain = unicodedata.normalize("NFKC", char)
        if plain != char:  # e.g. a fullwidth letter: it looks like another group's name
            _fail(
                field, value, f"contains {char!r} (U+{ord(char):04X}), a look-alike of {plain!r}", RESOURCE_GROUP_RULE
            )
    if value.endswith("."):
        _fail(field, value, "ends with a period", RESOURCE_GROUP_RULE)


def identity_name(value: str, field: str = "identity name") -> None:
    """A user-assigned identity: 3-128 ASCII letters, digits, '-', '_'; starting with a letter or digit."""
    value = _text(value, field, IDENTITY_RULE)
    _length(value, field, 3, 128, IDENTITY_RULE)
    _chars(value, field, _ASCII_ALNUM | {"-", "_"}, IDENTITY_RULE)
    if value[0] not in _ASCII_ALNUM:
        _fail(field, value, f"starts with {value[0]!r}", IDENTITY_RULE)


def container_app_name(value: str, field: str = "container app") -> None:
    """2-32 lowercase letters, digits, '-'; starting with a letter, ending alphanumeric, no '--'."""
    value = _text(value, field, CONTAINER_APP_RULE)
    _length(value, field, 2, 32, CONTAINER_APP_RULE)
    _chars(value, field, _LOWER_ALNUM | {"-"}, CONTAINER_APP_RULE)
    if not value[0].isalpha():
        _fail(field, value, f"starts with {value[0]!r}", CONTAINER_APP_RULE)
    if value[-1] == "-":
        _fail(field, value, "ends with '-'", CONTAINER_APP_RULE)
    if "--" in value:
        _fail(field, value, "contains '--'", CONTAINER_APP_RULE)


def container_name(value: str, field: str = "container") -> None:
    """A container in an app: a Kubernetes DNS label (1-63 lowercase alphanumerics and '-', alphanumeric ends)."""
    value = _text(value, field, CONTAINER_RULE)
    _length(value, field, 1, 63, CONTAINER_RULE)
    _chars(value, field, _LOWER_ALNUM | {"-"}, CONTAINER_RULE)
    if value[0] == "-":
        _fail(field, value, "starts with '-'", CONTAINER_RULE)
    if value[-1] == "-":
        _fail(field, value, "ends with '-'", CONTAINER_RULE)


def normalize_location(value: str) -> str:
    """'West Europe' or the portal's '(Europe) West Europe' -> 'westeurope'. Idempotent."""
    value = re.sub(r"^(?:\s*\([^)]*\))+", "", value)
    return "".join(value.split()).lower()


def location(value: str, field: str = "location") -> None:
    """A region's short name: lowercase ASCII letters and digits."""
    value = _text(value, field, f"{LOCATION_RULE}, e.g. 'westeurope'")
    for char in value:
        if char not in _LOWER_ALNUM:
            hint = normalize_location(value)
            example = f"did you mean {hint!r}?" if hint and set(hint) <= _LOWER_ALNUM else "e.g. 'westeurope'"
            _fail(field, value, f"contains {char!r}", f"{LOCATION_RULE}, {example}")


# -- tags -------------------------------------------------------------------------------------
def tag_name(value: str, field: str = "tag name") -> None:
    """1-512 characters, none of < > % & \\ ? /."""
    rule = f"tag names {TAG_NAME_RULE}"
    value = _text(value, field, rule)
    if not value.strip():
        _fail(field, value, "is blank", rule)
    _length(value, field, 1, 512, rule)
    for char in value:
        if char in _TAG_FORBIDDEN:
            _fail(field, value, f"contains {char!r}", rule)


def tag_value(value: str, name: str, field: str = "tag value") -> None:
    """At most 256 characters; empty is allowed."""
    rule = f"tag values {TAG_VALUE_RULE}"
    if not isinstance(value, str):
        raise RuleError(field, f"the value of tag {_show(name)} must be text, not {type(value).__name__}")
    if bad := unsafe(value):
        raise RuleError(
            field, f"the value of tag {_show(name)} contains {describe(bad[0])}: tag values hold no control characters"
        )
    if len(value) > 256:
        raise RuleError(field, f"the value of tag {_show(name)} is too long ({len(value)} characters): {rule}")


def tags(mapping: Mapping[str, str], field: str = "tags") -> None:
    """At most 50 tags, each name and value valid, no two names that differ only in case."""
    if not isinstance(mapping, Mapping):
        raise RuleError(field, f"must be a mapping of tag names to values, not {type(mapping).__name__}")
    if len(mapping) > MAX_TAGS:
        raise RuleError(field, f"has {len(mapping)} tags: a resource can have at most {MAX_TAGS}")
    seen: dict[str, str] = {}
    for name, value in mapping.items():
        tag_name(name, field)
        tag_value(value, name, field)
        if (first := seen.setdefault(name.lower(), name)) != name:
            raise RuleError(
                field,
                f"{_show(first)} and {_show(name)} differ only in case: tag names are case-insensitive, keep one",
            )


def parse_tag(value: str) -> tuple[str, str]:
    """The CLI form NAME=VALUE. The value may contain '=' or be empty."""
    if "=" not in value:
        raise RuleError("tag", f"{_show(value)} has no '=': write tags as NAME=VALUE, e.g. owner=data")
    name, _, tag = value.partition("=")
    tag_name(name, "tag")
    tag_value(tag, name, "tag")
    return name, tag


# -- environment variables --------------------------------------------------------------------
def env_var_name(value: str, field: str = "environment variable") -> None:
    """Container Apps' rule: [-._a-zA-Z][-._a-zA-Z0-9]*."""
    value = _text(value, field, ENV_VAR_RULE)
    _chars(value, field, _ASCII_ALNUM | {"_", "-", "."}, ENV_VAR_RULE)
    if value[0].isdigit():
        _fail(field, value, f"starts with {value[0]!r}", ENV_VAR_RULE)


def env_var_warning(value: str) -> str | None:
    """A note when a valid name has '-' or '.', which a POSIX shell cannot read as $NAME; else None."""
    try:
        env_var_name(value)
    except RuleError:
        return None
    if "-" in value or "." in value:
        return (
            f"{_show(value)} is valid for Container Apps, but a shell cannot read it as a variable "
            "because of '-' or '.': prefer letters, digits and underscores"
        )
    return None


# -- resource ids and scopes ------------------------------------------------------------------
def _parse(value: object, field: str, shape: str) -> ArmId:
    """The id parsed by the one parser (`wizard.azure.ids.parse`), its resource group checked too."""
    text = _text(value, field, f"expected {shape}")
    try:
        parsed = ids.parse(text)
    except ids.InvalidId as err:
        _fail(field, text, err.problem, f"expected {shape}")
    if parsed.resource_group is not None:
        try:
            resource_group_name(parsed.resource_group, field)
        except RuleError as err:
            raise RuleError(field, f"resource group {err.message}") from None
    return parsed


def parse_resource_id(value: str) -> dict[str, str]:
    """Split an ARM id into subscription, resource_group, namespace, type and name (absent when not there).

    A nested resource follows ARM templates: type 'storageAccounts/blobServices/containers' and
    name 'sa/default/c'. The subscription is in lower case. Raises RuleError("resource id", ...).
    """
    parsed = _parse(value, "resource id", SCOPE_SHAPE)
    found = {"subscription": parsed.subscription}
    if parsed.resource_group is not None:
        found["resource_group"] = parsed.resource_group
    if parsed.namespace is not None:
        found["namespace"] = parsed.namespace
        found["type"] = "/".join(parsed.types)
        found["name"] = "/".join(parsed.names)
    return found


def resource_id(value: str, field: str = "resource id", expected_type: str | None = None) -> ArmId:
    """An ARM resource id in a resource group, optionally of a type like 'Microsoft.App/containerApps'.

    Returns the parsed id (`.id` is the normal form); raises RuleError naming `field`.
    """
    parsed = _parse(value, field, RESOURCE_SHAPE)
    if parsed.namespace is None:
        kind = "a resource group" if parsed.resource_group is not None else "a subscription"
        _fail(field, value, f"is {kind}, not a resource", f"expected {RESOURCE_SHAPE}")
    if parsed.resource_group is None:
        _fail(field, value, "is not in a resource group", f"expected {RESOURCE_SHAPE}")
    actual = parsed.type or ""
    if expected_type is not None and actual.lower() != expected_type.lower():
        _fail(field, value, f"is a {actual}", f"expected the ID of a {expected_type}")
    return parsed


def scope(value: str, field: str = "scope") -> ArmId:
    """A role assignment scope: a subscription, a resource group, or a resource in a resource group.

    Returns the parsed scope (`.id` is the normal form, `.subscription` the lower-case GUID that
    in-subscription rules compare); raises RuleError naming `field`. Source: ARM's scope forms,
    https://learn.microsoft.com/azure/role-based-access-control/scope-overview
    """
    parsed = _parse(value, field, SCOPE_SHAPE)
    if parsed.namespace is not None and parsed.resource_group is None:
        _fail(field, value, "is a resource outside any resource group", f"expected {SCOPE_SHAPE}")
    return parsed


# -- roles ------------------------------------------------------------------------------------
ROLE_RULE = "give a role's name (e.g. 'Key Vault Secrets User') or its role definition GUID"


def role_name(value: str, field: str = "role") -> None:
    """A role as a plan names it: a role's display name or a role definition GUID; not blank, no
    whitespace at either end (names are matched exactly, ignoring case), no control characters."""
    value = _text(value, field, ROLE_RULE)
    if not value.strip():
        _fail(field, value, "is blank", ROLE_RULE)
    if value != value.strip():
        _fail(field, value, "has whitespace at the start or end", ROLE_RULE)


def parse_role_spec(value: str) -> tuple[str, str | None]:
    """The CLI form ROLE[@SCOPE]: a role name or GUID, then an optional scope.

    Returns (role, scope in normal form or None); raises RuleError("role" or "scope", ...).
    """
    role, at, where = value.partition("@")
    role, where = role.strip(), where.strip()
    if not role:
        raise RuleError(
            "role",
            f"{_show(value)} has no role: write ROLE or ROLE@SCOPE, e.g. 'Reader@/subscriptions/{{id}}'",
        )
    role_name(role)
    if not at:
        return role, None
    if not where:
        raise RuleError("scope", f"{_show(value)} has nothing after '@': give a scope, or leave out the '@'")
    return role, scope(where).id
