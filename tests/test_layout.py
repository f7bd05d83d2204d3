"""The shape of the package where this test's modules are concerned: the data loaders, the
command line, the preprocessing and the embedding layer are modules of at most 400 lines, none
sits on an import cycle (imports inside functions count), and no library module imports the
command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fcnet

ROOT = Path(fcnet.__file__).parent
CHECKED = (
    "fcnet.data",
    "fcnet.cli",
    "fcnet.preprocessing",
    "fcnet.layers.embedding",
    "fcnet._inputs",
)
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The fcnet module an import names (``fcnet.data.csv.load_csv`` -> ``fcnet.data.csv``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every fcnet module ``module`` imports, at its top or inside a function."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = resolve(name) if name.startswith("fcnet") else None
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def is_checked(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in CHECKED)


def reaches(start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in GRAPH[node]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


@pytest.mark.parametrize("module", [m for m in MODULES if is_checked(m)])
def test_module_is_at_most_400_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


@pytest.mark.parametrize("module", [m for m in MODULES if is_checked(m)])
def test_module_is_on_no_import_cycle(module):
    cycle = [other for other in GRAPH[module] if reaches(other, module)]
    assert not cycle, f"{module} imports {cycle}, which import it back"


def test_the_library_never_imports_the_command_line():
    for module, targets in GRAPH.items():
        if not module.startswith("fcnet.cli"):
            assert not any(t.startswith("fcnet.cli") for t in targets), module
