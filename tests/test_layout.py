"""The package's layout stays walkable: every module at most 400 lines, and no import cycle
between fcnet's modules (imports inside functions count: a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fcnet"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The fcnet modules that ``name`` imports, anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package this module is in
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            # `from fcnet.x import y` imports the module fcnet.x.y when there is one
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_is_at_most_400_lines(name):
    lines = _modules()[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it (at most {MAX_LINES})."


def test_no_import_cycles_between_modules():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_no_library_module_imports_the_command_line():
    modules = _modules()
    users = [
        name
        for name, path in modules.items()
        if not name.startswith("fcnet.cli")
        and any(target.startswith("fcnet.cli") for target in _imports(name, path, modules))
    ]
    assert users == []


def test_the_blas_is_reached_through_the_ops_alone():
    """The OpenBLAS calls (fcnet._blas) are NumpyOps' to make: no module outside fcnet._ops
    imports them."""
    modules = _modules()
    users = [
        name
        for name, path in modules.items()
        if not name.startswith(("fcnet._ops", "fcnet._blas"))
        and "fcnet._blas" in _imports(name, path, modules)
    ]
    assert users == []


def test_the_cycle_finder_finds_a_lazy_import_cycle(tmp_path):
    graph = {
        "fcnet.a": {"fcnet.b"},
        "fcnet.b": {"fcnet.c"},
        "fcnet.c": {"fcnet.a"},
        "fcnet.d": set(),
    }
    assert _cycles(graph) == [["fcnet.a", "fcnet.b", "fcnet.c"]]
    package = tmp_path / "fcnet"
    package.mkdir()
    (package / "a.py").write_text("def f():\n    from fcnet import b\n")
    modules = {"fcnet.a": package / "a.py", "fcnet.b": package / "b.py"}
    assert _imports("fcnet.a", package / "a.py", modules) == {"fcnet.b"}
