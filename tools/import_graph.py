"""The import graph of src/maskcheck: cycles, function-level imports, rule modules importing readers.

    python tools/import_graph.py          # a summary; exit 1 when a cycle exists

Module-level imports only count as edges (an import under `if TYPE_CHECKING:` does not: it
never runs). `from pkg import name` depends on pkg's __init__ only when `name` is defined
there, not when it is a submodule; importing `pkg.sub.mod` also runs `pkg/sub/__init__`,
except from inside `pkg.sub` itself. Imports inside functions are listed separately: they
are how cycles hide.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "maskcheck"


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(node: ast.AST, here: str, is_pkg: bool, modules: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = here.split(".")
            base = base[: len(base) - node.level + (1 if is_pkg else 0)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        # `from pkg import submodule` is `import pkg.submodule`: it needs pkg's __init__ only
        # as every import of a submodule does; a name defined in the __init__ needs it itself
        subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in modules]
        names = [a.name for a in node.names if f"{mod}.{a.name}" not in modules]
        return ([mod] if names else []) + subs
    return []


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _visit(node: ast.AST, top: bool, name: str, is_pkg: bool, modules: set[str],
           graph: dict[str, set[str]], late: dict[str, list[tuple[int, str]]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            for target in _targets(child, name, is_pkg, modules):
                if target in modules and target != name:
                    if top:
                        graph[name].add(target)
                    else:
                        late.setdefault(name, []).append((child.lineno, target))
            continue
        inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        _visit(child, inner, name, is_pkg, modules, graph, late)


def scan() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    """(module -> modules it imports at load time, module -> [(line, target)] imported in functions)."""
    paths = sorted((SRC / PACKAGE).rglob("*.py"))
    modules = {module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    late: dict[str, list[tuple[int, str]]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        _visit(tree, True, name, path.name == "__init__.py", set(modules), graph, late)
    # importing a.b.c runs a/__init__ and a/b/__init__ first, except for a module inside that
    # package: its package's __init__ is already running (or done) whenever it runs
    for name in list(graph):
        for target in list(graph[name]):
            parts = target.split(".")
            for k in range(2, len(parts)):
                parent = ".".join(parts[:k])
                if parent in graph and parent != name and not name.startswith(parent + "."):
                    graph[name].add(parent)
    return graph, late


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def rules_importing_readers(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    return {m: sorted(t for t in ts if t.startswith(f"{PACKAGE}.readers"))
            for m, ts in sorted(graph.items())
            if m.startswith(f"{PACKAGE}.rules.") and any(t.startswith(f"{PACKAGE}.readers") for t in ts)}


def main() -> int:
    graph, late = scan()
    found = cycles(graph)
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} load-time imports")
    print(f"cycles: {len(found)}" + "".join(f"\n  {len(c)} modules: {', '.join(c)}" for c in found))
    n_late = sum(map(len, late.values()))
    print(f"function-level imports: {n_late}"
          + "".join(f"\n  {m}:{line} -> {t}" for m, items in sorted(late.items()) for line, t in items))
    readers = rules_importing_readers(graph)
    print(f"rule modules importing readers: {len(readers)}"
          + "".join(f"\n  {m} -> {', '.join(t)}" for m, t in readers.items()))
    return 1 if found else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # `| head`
        raise SystemExit(0) from None
