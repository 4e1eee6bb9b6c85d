"""No module imports itself back through others.

Which package and layer may import which is declared as import-linter contracts in
`pyproject.toml` (`make lint`); what those contracts do not see is a cycle inside one layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("automlops", "service", "handlers", "localcloud")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


KNOWN = modules()


def imports(path: Path, *, top_level_only: bool = False) -> Iterator[str]:
    """The modules `path` imports (ours and others), skipping `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    for node in nodes:
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name`, pkg.
                yield submodule if submodule in KNOWN else node.module


def ours(name: str, known: dict[str, Path]) -> str | None:
    """The module of ours that an import names (a `from pkg import name` may name either)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def test_no_import_cycles_between_modules() -> None:
    """Importing a submodule runs its package's __init__ first: that is no edge of the design."""
    graph = {
        module: {
            t
            for name in imports(path, top_level_only=True)
            if (t := ours(name, KNOWN)) and not module.startswith(f"{t}.") and t != module
        }
        for module, path in KNOWN.items()
    }
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str], done: set[str]) -> None:
        if module in trail:
            cycles.append([*trail[trail.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(t for t in graph[module] if t):
            visit(target, [*trail, module], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        visit(module, [], done)
    assert cycles == []
