"""House rules a reader checks first, checked on every `make test`: no import cycle in the
product package (config flows one way), and no module past ~500 lines (one concern a file).
CONTRIBUTING.md shows the same check as a one-line command."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 500


def module_files(package: str = "facegate") -> dict[str, Path]:
    out = {}
    for path in (SRC / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports, type-only and function-local ones included
    (a cycle through a lazy import is still a cycle a reader has to untangle)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
                ]
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected sets of more than one module (Tarjan), ignoring a package's
    `__init__` re-exporting its own submodules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w.startswith(v + "."):  # a package's face importing its own parts
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_product_package_has_no_import_cycle() -> None:
    assert cycles(import_graph(module_files())) == []


def test_the_checker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_config_is_imported_only_from_the_top() -> None:
    """Code imports config, never the reverse: below the CLI and the server nothing imports
    the assembled `facegate.config` (each part has its own section)."""
    graph = import_graph(module_files())
    users = {m for m, deps in graph.items() if "facegate.config" in deps}
    allowed = ("facegate",)
    top = ("facegate.server", "facegate.cli")
    assert {m for m in users if m not in allowed and not m.startswith(top)} == set()


def test_no_module_is_past_500_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in module_files().values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
