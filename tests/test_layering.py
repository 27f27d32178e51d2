"""Imports point down only: games <- agents, replays <- arena <- dashboards (DESIGN.md).

Read from the source with ast, not by importing it, so an import inside a function counts as
much as one at the top of a module: only the cycle check is about import time.
"""

from __future__ import annotations

import ast
import graphlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each package may import of the others.
ALLOWED = {
    "games": set(),
    "agents": {"games"},
    "replays": {"games"},
    "arena": {"games", "agents", "replays"},
    "dashboards": {"games", "agents", "replays", "arena"},
}
# The CLI commands that start the dashboard: the only places where `arena` imports it.
STARTERS = {("arena.cli", "dashboard_command"), ("arena.cli", "bench_dashboard")}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (the package itself for a name defined in it)
    function: str | None  # the innermost function around the import; None: at import time
    line: int

    def __str__(self) -> str:
        where = f"{self.module}.{self.function}" if self.function else self.module
        return f"{where} (line {self.line}) imports {self.target}"


def modules(root: Path) -> dict[str, Path]:
    """Dotted name -> source file of every module of the five packages under `root`."""
    found = {}
    for package in ALLOWED:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(root: Path) -> list[Import]:
    """Every import of a module of the five packages, in any of their modules."""
    known = modules(root)
    found = []
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, function in _walk(tree, None):
            for target in _targets(node, name, is_package, known):
                if target.split(".")[0] in ALLOWED:
                    found.append(Import(name, target, function, node.lineno))
    return found


def _walk(node: ast.AST, function: str | None):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, function
        inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else None
        yield from _walk(child, inner or function)


def _targets(node: ast.AST, module: str, is_package: bool, known: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the importing module's package, up level - 1
        package = module.split(".") if is_package else module.split(".")[:-1]
        stem = package[: len(package) - node.level + 1]
        base = ".".join(stem + ([base] if base else []))
    # `from package import name`: the submodule when name is one, else the package.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def violations(root: Path) -> list[str]:
    """Imports against the layering, each as one readable line."""
    bad = []
    for imp in imports(root):
        source, target = imp.module.split(".")[0], imp.target.split(".")[0]
        starts_dashboard = target == "dashboards" and (imp.module, imp.function) in STARTERS
        if source != target and target not in ALLOWED[source] and not starts_dashboard:
            bad.append(str(imp))
    return bad


def import_time_cycle(root: Path) -> list[str] | None:
    """A cycle of modules importing each other when they load, or None."""
    graph: dict[str, set[str]] = {name: set() for name in modules(root)}
    for imp in imports(root):
        if imp.function is None and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return err.args[1]
    return None


def test_packages_import_only_downward():
    assert violations(ROOT) == []


def test_no_module_imports_itself_back_when_loading():
    assert import_time_cycle(ROOT) is None


def test_arena_imports_dashboards_only_in_the_commands_that_start_it():
    # Also shows that imports inside functions are seen: these two are nowhere else.
    found = {(i.module, i.function) for i in imports(ROOT) if i.target.startswith("dashboards")}
    assert {place for place in found if place[0].startswith("arena")} == STARTERS


def _write(root: Path, files: dict[str, str]) -> None:
    for package in ALLOWED:
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"games/board.py": "def f():\n    import arena.league\n"}, "games.board.f (line 2)"),
        ({"agents/net.py": "from replays import writer\n"}, "agents.net (line 1) imports replays"),
        ({"replays/io.py": "from ..agents import spec\n"}, "replays.io (line 1) imports agents"),
        (
            {"arena/cli.py": "def league_command():\n    from dashboards import launch\n"},
            "arena.cli.league_command (line 2) imports dashboards",
        ),
        ({"arena/cli.py": "from dashboards import launch\n"}, "arena.cli (line 1)"),
    ],
)
def test_an_upward_import_is_reported(tmp_path, files, expected):
    _write(tmp_path, files)
    assert len(violations(tmp_path)) == 1
    assert violations(tmp_path)[0].startswith(expected)


def test_the_starters_may_import_dashboards(tmp_path):
    _write(tmp_path, {"arena/cli.py": "def bench_dashboard():\n    from dashboards import bench\n"})
    assert violations(tmp_path) == []


def test_an_import_time_cycle_is_reported_and_a_lazy_one_is_not(tmp_path):
    _write(
        tmp_path,
        {"arena/a.py": "from arena import b\n", "arena/b.py": "def f():\n    import arena.a\n"},
    )
    assert import_time_cycle(tmp_path) is None
    (tmp_path / "arena/b.py").write_text("from . import a\n")
    assert sorted(set(import_time_cycle(tmp_path))) == ["arena.a", "arena.b"]
