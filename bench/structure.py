"""The shape of the code base in a few figures: largest functions, import cycles between
top-level packages of `app`, and upward imports (a lower layer importing a higher one).

    python bench/structure.py [ROOT]      # ROOT defaults to this checkout

Layers, lowest first: core/text/audio → tts/realtime/verify/history → engine/repair →
pipeline/guard → ui → cli (the entry point). A package imports only its own layer or lower."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

LAYER = {"core": 0, "text": 0, "audio": 0, "diagnostics": 0, "resources": 0,
         "tts": 1, "realtime": 1, "verify": 1, "history": 1,
         "engine": 2, "repair": 2, "pipeline": 3, "guard": 3,
         "selfcheck": 4, "ui": 5, "cli": 6, "__main__": 6}


def package_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root / "app").parts
    return rel[0].removesuffix(".py") if rel else "app"


def imports(tree: ast.AST, module: str) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:    # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append(name)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [n for n in out if n == "app" or n.startswith("app.")]


def functions(tree: ast.AST, path: Path):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.end_lineno - node.lineno + 1, f"{path}:{node.lineno} {node.name}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
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

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parents[1])
    graph: dict[str, set[str]] = defaultdict(set)
    upward, sizes = [], []
    for path in sorted((root / "app").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pkg = package_of(path, root)
        for name in imports(tree, module):
            parts = name.split(".")
            if len(parts) < 2:
                continue
            dep = parts[1]
            if dep != pkg:
                graph[pkg].add(dep)
                if LAYER.get(dep, 0) > LAYER.get(pkg, 0):
                    upward.append(f"{path.relative_to(root)}: {pkg} → {dep} ({name})")
        sizes += [(n, where.replace(str(root) + "/", "")) for n, where in functions(tree, path)]
    sizes.sort(reverse=True)
    print("largest functions (lines):")
    for n, where in sizes[:5]:
        print(f"  {n:4d}  {where}")
    cyc = cycles(graph)
    print(f"import cycles between packages: {len(cyc)}")
    for c in cyc:
        print("  " + " ↔ ".join(c))
    print(f"upward imports: {len(upward)}")
    for u in upward:
        print("  " + u)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
