"""ARM resource ids and role assignment scopes: one strict parser and one normal form.

Every id or scope the admin gives goes through `parse` before any rule looks at it, and every
rule (which subscription, which resource group, which type) reads the parsed parts, never the
raw text. The parser refuses anything an HTTP client or ARM's front end could resolve to a
different path than the one shown: '.' and '..' segments (a vault scope ending in `/../../..` is
the whole subscription), doubled or trailing slashes, '?' and '#' (the rest would become a query
or a fragment), percent-escapes ('%2e%2e', '%2F'), backslashes, and compatibility look-alikes such
as U+FF0F FULLWIDTH SOLIDUS, which Unicode normalisation (NFKC) turns into '/'.

The normal form writes the fixed segments as ARM documents them (`subscriptions`,
`resourceGroups`, `providers`) and the subscription GUID in lower case; names keep their case, as
ARM returns them. Compare two ids with `same` (ARM ids are case-insensitive).

Standard library only: `azure.mgmt.core.tools` reads the same shape, but importing it loads the
whole azure-core pipeline (about 95 ms), and the CLI validates plans before it needs the SDK. The
tests check that every id accepted here reads the same with `azure.mgmt.core.tools`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..text import describe, unsafe

__all__ = ["ArmId", "InvalidId", "normalize", "parse", "same"]

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+")
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Characters ARM names may not hold (azure.mgmt.core.tools.is_valid_resource_name: < > % & : \ ? /),
# and '#', which would cut the rest of the URL off as a fragment.
_FORBIDDEN = {
    "?": "a query would start there",
    "#": "the rest would be cut off as a URL fragment",
    "%": "give the id as Azure shows it, not percent-encoded",
    "\\": "a backslash can be read as '/'",
    "<": "ARM names never hold it",
    ">": "ARM names never hold it",
    "&": "ARM names never hold it",
    ":": "ARM names never hold it",
}


class InvalidId(ValueError):
    """An id or scope that `parse` refuses; `problem` says what is wrong, e.g. "has a '..' segment"."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class ArmId:
    """An ARM id or scope in parts. `types` and `names` pair up: ('storageAccounts', 'blobServices')
    with ('sa1', 'default') is storageAccounts/sa1/blobServices/default."""

    subscription: str  # lower-case GUID
    resource_group: str | None = None
    namespace: str | None = None  # e.g. "Microsoft.KeyVault"
    types: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The normal form, e.g. /subscriptions/{guid}/resourceGroups/rg/providers/Microsoft.App/containerApps/app."""
        text = f"/subscriptions/{self.subscription}"
        if self.resource_group is not None:
            text += f"/resourceGroups/{self.resource_group}"
        if self.namespace is not None:
            text += f"/providers/{self.namespace}/" + "/".join(
                f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True)
            )
        return text

    @property
    def kind(self) -> str:
        """ "subscription", "resource_group" or "resource"."""
        if self.namespace is not None:
            return "resource"
        return "resource_group" if self.resource_group is not None else "subscription"

    @property
    def type(self) -> str | None:
        """The full resource type, e.g. 'Microsoft.Storage/storageAccounts/blobServices/containers'."""
        return "/".join((self.namespace, *self.types)) if self.namespace is not None else None

    @property
    def name(self) -> str | None:
        """The last name: the resource's own ('logs'), the group's, or None for a subscription."""
        if self.names:
            return self.names[-1]
        return self.resource_group

    def __str__(self) -> str:
        return self.id


def _check_segment(segment: str) -> None:
    if segment == "":
        raise InvalidId("has an empty segment ('//')")
    if segment in (".", ".."):
        raise InvalidId(f"has a '{segment}' segment, which would resolve to another path")
    if segment != segment.strip():
        raise InvalidId(f"has whitespace at the start or end of {segment!r}")
    if not unicodedata.is_normalized("NFKC", segment):
        for char in segment:
            plain = unicodedata.normalize("NFKC", char)
            if plain != char:
                raise InvalidId(
                    f"contains {char!r} (U+{ord(char):04X}), a look-alike of {plain!r}: type {plain!r} itself"
                )
        raise InvalidId(f"{segment!r} is not in Unicode normal form NFKC: type its characters plainly")
    for char in segment:
        # Beyond ASCII only letters, marks and digits: a symbol such as U+2215 DIVISION SLASH looks
        # like '/' in the review without being one.
        if not char.isascii() and unicodedata.category(char)[0] not in "LMN":
            raise InvalidId(
                f"contains {char!r} (U+{ord(char):04X}): beyond ASCII, names in an id hold only letters and digits"
            )
    if segment.endswith("."):
        raise InvalidId(f"has {segment!r}, which ends with a period: Azure names never do, and servers may drop it")


def parse(value: object) -> ArmId:
    """Parse and check an ARM id or scope: a subscription (/subscriptions/{guid}), a resource group
    (.../resourceGroups/{name}), or a resource (.../providers/{namespace}/{type}/{name}[/{type}/{name}]...),
    with or without a resource group.

    Returns the parts (ArmId; `.id` is the normal form). Raises InvalidId naming the first problem:
    not text, empty, a control character, whitespace, '?', '#', '%', '\\', an empty, '.' or '..'
    segment, a trailing '/', a compatibility look-alike (not NFKC), a subscription that is not a
    GUID, a misplaced or missing fixed segment, or a second '/providers/' (an extension resource,
    such as a role assignment, is not a scope).
    """
    if not isinstance(value, str):
        raise InvalidId(f"must be text, not {type(value).__name__}")
    if not value:
        raise InvalidId("is empty")
    bad = unsafe(value)
    if bad:
        raise InvalidId(f"contains {describe(bad[0])}")
    for char, why in _FORBIDDEN.items():
        if char in value:
            raise InvalidId(f"contains {char!r}: {why}")
    if not value.startswith("/"):
        raise InvalidId("does not start with '/'")
    if value.endswith("/"):
        raise InvalidId("ends with '/'")
    parts = value[1:].split("/")
    for segment in parts:
        _check_segment(segment)
    if parts[0].lower() != "subscriptions" or len(parts) < 2:
        raise InvalidId("does not start with /subscriptions/{id}")
    if not _GUID.fullmatch(parts[1]):
        raise InvalidId(f"has {parts[1]!r} where the subscription GUID belongs")
    subscription = parts[1].lower()
    rest = parts[2:]
    group = None
    if rest and rest[0].lower() == "resourcegroups":
        if len(rest) < 2:
            raise InvalidId("has no resource group name after /resourceGroups")
        group, rest = rest[1], rest[2:]
    if not rest:
        return ArmId(subscription, group)
    if rest[0].lower() != "providers":
        wanted = "'providers'" if group is not None else "'resourceGroups' or 'providers'"
        raise InvalidId(f"has {rest[0]!r} where {wanted} belongs")
    if len(rest) < 4 or len(rest) % 2:
        raise InvalidId("does not end in /providers/{namespace}/{type}/{name}")
    namespace = rest[1]
    if not _NAMESPACE.fullmatch(namespace):
        raise InvalidId(f"has {namespace!r} where a provider namespace like Microsoft.App belongs")
    types, names = tuple(rest[2::2]), tuple(rest[3::2])
    for kind in types:
        if kind.lower() == "providers":
            raise InvalidId(
                "has a second /providers/ segment, which names an extension resource (such as a role "
                "assignment) on it: give the resource itself"
            )
        if not _TYPE.fullmatch(kind):
            raise InvalidId(f"has {kind!r} where a resource type like 'vaults' belongs")
    return ArmId(subscription, group, namespace, types, names)


def normalize(value: str) -> str:
    """The normal form of an id or scope (see `parse`, which raises InvalidId for a bad one)."""
    return parse(value).id


def same(a: str, b: str) -> bool:
    """Whether two ids name the same thing: equal normal forms, ignoring case as ARM does. An id
    that does not parse (e.g. an extension resource's, as Azure returns them) is compared as text,
    ignoring case."""

    def key(value: str) -> str:
        try:
            return parse(value).id.lower()
        except InvalidId:
            return value.lower()

    return key(a) == key(b)
