"""The package's shape: imports point down the flow, and there are no import circles.

Every ``import`` in ``src/veil`` is read from the source (module level, inside
functions, and under ``TYPE_CHECKING`` alike: a circle that only type checking
closes is still a circle a reader has to untangle), so this holds for lazy
imports too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: The layers of docs/architecture.md, lowest first. A module may import its own
#: package and packages of lower layers only.
LAYERS: list[set[str]] = [
    {"veil", "veil.errors"},
    {"veil.config"},
    {"veil.media", "veil.web", "veil.sealing"},
    {"veil.regions"},
    {"veil.signals", "veil.inspect", "veil.text"},
    {"veil.index", "veil.store"},
    {"veil.verdict"},
    {"veil.matching", "veil.evaluation"},
    {"veil.actions", "veil.exchange", "veil.review"},
    {"veil.api", "veil.cli", "veil.bot", "veil.pipelines"},
]
#: The imports across the top layer: ``veil serve`` starts the service, ``veil bot``
#: the bot, ``veil backfill`` the pipeline.
ALLOWED_ACROSS = {("veil.cli", "veil.api"), ("veil.cli", "veil.bot"),
                  ("veil.cli", "veil.pipelines")}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "veil").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if "migrations" in parts:
            continue  # Alembic scripts: loaded by Alembic, not imported
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The veil modules ``path`` imports (``from pkg import mod`` resolved to the module)."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("veil"):
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("veil"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in known else node.module


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def layer_of(module: str) -> int:
    pkg = package_of(module)
    for i, layer in enumerate(LAYERS):
        if pkg in layer:
            return i
    raise AssertionError(f"{pkg} is in no layer: add it to LAYERS and docs/architecture.md")


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: {t for t in imports(path, name, known) if t != name}
            for name, path in mods.items()}


def test_imports_point_down_the_flow() -> None:
    upward = []
    for source, targets in graph().items():
        for target in targets:
            a, b = package_of(source), package_of(target)
            if a == b or b == "veil" or (a, b) in ALLOWED_ACROSS:
                continue
            if layer_of(target) >= layer_of(source):
                upward.append(f"{source} -> {target}")
    assert not upward, "imports that do not point down the flow:\n" + "\n".join(sorted(upward))


def strongly_connected(g: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in g:
        if root in index:
            continue
        work = [(root, iter(sorted(g.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in g:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(g[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_import_circles() -> None:
    circles = strongly_connected(graph())
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_the_checks_catch_what_they_look_for() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
    assert layer_of("veil.store.repository") < layer_of("veil.matching.live")
    g = graph()
    assert "veil.index.chunks" in g["veil.index.cycle"]  # resolution of `from x import y`
