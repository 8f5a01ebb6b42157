"""How the wizard's code is put together: the flow lives in one table the app owns, screens know
nothing of their neighbours, and no module of the wizard imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

from wizard.tui.flow import FLOW

TUI = Path(__file__).resolve().parents[2] / "wizard" / "tui"


def module_name(path: Path) -> str:
    parts = path.relative_to(TUI.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every wizard.tui module `path` imports, at run time or for type checking alike."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join([*base, node.module] if node.module else base)
            found.add(stem)
            found |= {f"{stem}.{alias.name}" for alias in node.names}
    modules = {module_name(p) for p in TUI.rglob("*.py")}
    return {m for m in found if m in modules and m != module_name(path)}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in TUI.rglob("*.py")}


def test_no_module_of_the_wizard_imports_one_that_imports_it_back() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: being visited, 2: done
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*path, nxt]):
                return True
        state[node] = 2
        return False

    for start in sorted(edges):
        if state.get(start) is None and visit(start, [start]):
            break
    assert not cycle, " -> ".join(cycle)


def test_screens_know_nothing_of_their_neighbours_or_the_app() -> None:
    step_modules = {step.screen.__module__ for step in FLOW}
    for path in (TUI / "screens").glob("*.py"):
        name = module_name(path)
        imported = imports_of(path)
        assert "wizard.tui.app" not in imported and "wizard.tui.flow" not in imported, name
        neighbours = (imported & step_modules) - {name}
        assert not neighbours, f"{name} imports {sorted(neighbours)}"


def test_the_flow_is_one_ordered_table() -> None:
    names = [step.name for step in FLOW]
    assert names == ["Sign in", "Identity", "Roles", "Container app", "Review", "Apply", "Done"]
    assert len({step.screen for step in FLOW}) == len(FLOW)
