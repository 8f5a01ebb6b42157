"""ARM's `$filter` on the generic resource list (Resources_List and Resources_ListByResourceGroup in
resources.json): `eq` and `ne` on location, resourceType, name, resourceGroup, identity/principalId,
tagName and tagValue; `substringof('text', name|resourceGroup)`; `startswith(tagName, 'prefix')`; joined by
`and` (binding first) and `or`, grouped with parentheses. Strings are OData literals ('' is a quote).
Names, types and groups compare without regard to case, as ARM keys them; a tag's value exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .arm import ArmError

Test = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z][\w/]*))")
_COMPARABLE = ("location", "resourcetype", "name", "resourcegroup", "identity/principalid", "tagname", "tagvalue")
_SUBSTRING_OF = ("name", "resourcegroup")


def _property(res: dict[str, Any], name: str) -> str:
    if name == "resourcegroup":
        return str(res["id"]).split("/")[4]
    if name == "identity/principalid":
        return str((res.get("identity") or {}).get("principalId") or "")
    return str(res.get("type" if name == "resourcetype" else name) or "")


def _comparison(name: str, negate: bool, value: str) -> Test:
    if name == "tagname":
        return lambda res: (value.lower() in {k.lower() for k in res.get("tags") or {}}) != negate
    if name == "tagvalue":
        return lambda res: (value in (res.get("tags") or {}).values()) != negate
    return lambda res: (_property(res, name).lower() == value.lower()) != negate


class _Parser:
    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(raw.rstrip()):
            m = _TOKEN.match(raw, position)
            if m is None or m.end() == position:
                raise self.refusal()
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            position = m.end()
        self.at = 0

    def refusal(self) -> ArmError:
        return ArmError(400, "InvalidFilterInQueryString", f"The $filter '{self.raw}' is not supported.")

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, kind: str, *texts: str) -> str:
        if self.at >= len(self.tokens):
            raise self.refusal()
        found_kind, text = self.tokens[self.at]
        if found_kind != kind or (texts and text.lower() not in texts):
            raise self.refusal()
        self.at += 1
        return text[1:-1].replace("''", "'") if kind == "string" else text.lower()

    def either(self) -> Test:
        tests = [self.both()]
        while self.peek().lower() == "or":
            self.at += 1
            tests.append(self.both())
        return lambda res: any(test(res) for test in tests)

    def both(self) -> Test:
        tests = [self.atom()]
        while self.peek().lower() == "and":
            self.at += 1
            tests.append(self.atom())
        return lambda res: all(test(res) for test in tests)

    def atom(self) -> Test:
        if self.peek() == "(":
            self.take("punct", "(")
            inner = self.either()
            self.take("punct", ")")
            return inner
        word = self.take("word")
        if word == "substringof":
            self.take("punct", "(")
            part = self.take("string").lower()
            self.take("punct", ",")
            name = self.take("word", *_SUBSTRING_OF)
            self.take("punct", ")")
            return lambda res: part in _property(res, name).lower()
        if word == "startswith":
            self.take("punct", "(")
            self.take("word", "tagname")
            self.take("punct", ",")
            prefix = self.take("string").lower()
            self.take("punct", ")")
            return lambda res: any(k.lower().startswith(prefix) for k in res.get("tags") or {})
        if word not in _COMPARABLE:
            raise self.refusal()
        negate = self.take("word", "eq", "ne") == "ne"
        return _comparison(word, negate, self.take("string"))


def resource_filter(raw: str) -> tuple[Test, bool]:
    """The test a resource passes to be listed under `$filter` = `raw` ("" keeps everything), and whether
    the filter names a tag's value (the spec: then "the original tags for each resource will not be
    returned"). Raises ArmError 400 InvalidFilterInQueryString for what the grammar above has not."""
    if not raw.strip():
        return (lambda _res: True), False
    parser = _Parser(raw)
    test = parser.either()
    if parser.at != len(parser.tokens):
        raise parser.refusal()
    return test, any(kind == "word" and text.lower() == "tagvalue" for kind, text in parser.tokens)
