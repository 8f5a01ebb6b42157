"""Bicep files checked with two real Bicep parsers from PyPI (no Bicep compiler can be installed here).

- tree-sitter-bicep: the tree-sitter grammar of Bicep; any ERROR or MISSING node fails the check.
- pycep-parser: a Lark grammar of Bicep that returns the file's parameters, resources, modules and
  outputs; it refuses what it cannot read, and its result lets tests look at declarations by name.

A real `bicep build` runs too where a `bicep` binary is on PATH (never installed by the tests).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import tree_sitter_bicep
from pycep import BicepParser
from tree_sitter import Language, Node, Parser

_TREE_SITTER = Parser(Language(tree_sitter_bicep.language()))


def _errors(node: Node) -> list[str]:
    found = []
    if node.is_error or node.is_missing:
        found.append(f"{node.type} at line {node.start_point[0] + 1}: {node.text!r}"[:200])
    for child in node.children:
        found += _errors(child)
    return found


def parse(text: str) -> dict[str, Any]:
    """The file as pycep reads it, after tree-sitter found no syntax error in it. Raises AssertionError."""
    tree = _TREE_SITTER.parse(text.encode("utf-8"))
    errors = _errors(tree.root_node)
    assert not errors, "tree-sitter-bicep: " + "; ".join(errors[:5])
    return BicepParser().parse(text=text)


def check_files(files: dict[str, str], tmp_path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Parse every file; build the main one with a real Bicep compiler when one is on PATH."""
    parsed = {path: parse(text) for path, text in files.items()}
    bicep = shutil.which("bicep")
    if bicep and tmp_path is not None:
        for path, text in files.items():
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text, encoding="utf-8")
        main = tmp_path / next(iter(files))
        result = subprocess.run([bicep, "build", str(main), "--stdout"], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
    return parsed
