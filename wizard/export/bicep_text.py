"""Python values as Bicep text: strings, keys, literals and identifiers."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Expr(str):
    """A Bicep expression, written out as is (not quoted as a string)."""


def bicep_str(text: str) -> str:
    """A single-quoted Bicep string: \\ ' and ${ escaped, control characters as escapes.

    A backslash right before the closing quote is written \\u{5C}: some Bicep tools (pycep-parser)
    read an escaped backslash there as an escaped quote. A string that starts with `//` begins
    \\u{2F}: tree-sitter-bicep (the grammar editors highlight Bicep with) reads `'//` as a comment."""
    out = []
    for i, char in enumerate(text):
        if char == "/" and i == 0 and text.startswith("//"):
            out.append("\\u{2F}")
        elif char == "\\" and i == len(text) - 1:
            out.append("\\u{5C}")
        elif char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("\\'")
        elif char == "$" and text[i + 1 : i + 2] == "{":
            out.append("\\$")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or char in "\x7f\u2028\u2029":
            out.append(f"\\u{{{ord(char):X}}}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


def bicep_key(key: Any) -> str:
    if isinstance(key, Expr):
        return str(key)
    key = str(key)
    return key if _BARE_KEY.fullmatch(key) and key not in ("true", "false", "null") else bicep_str(key)


def bicep_value(value: Any, indent: str = "") -> str:
    """A Python value as a Bicep literal; nested objects and arrays one item a line, two spaces deep."""
    inner = indent + "  "
    if isinstance(value, Expr):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no JSON form")
        # Bicep has no fractional literals: json() turns the text into the number ARM receives.
        return f"json({bicep_str(json.dumps(value))})"
    if isinstance(value, str):
        return bicep_str(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [f"{inner}{bicep_key(k)}: {bicep_value(v, inner)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + "\n".join(f"{inner}{bicep_value(v, inner)}" for v in value) + f"\n{indent}]"
    raise TypeError(f"cannot write {type(value).__name__} as Bicep")


class Symbols:
    """Unique Bicep identifiers, handed out in order (so the same plan gets the same names)."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = {t.lower() for t in taken}

    def new(self, wanted: str) -> str:
        base = ident(wanted)[:200]
        name, n = base, 2
        while name.lower() in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name.lower())
        return name


def ident(text: str) -> str:
    """`text` as a Bicep identifier: letters, digits and '_', not starting with a digit."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "x"
    return name if not name[0].isdigit() else f"_{name}"
