"""The import rules of DESIGN.md §2, read from the source: dependencies point one way and no
module imports itself back through others.

    automlops -> service, handlers, localcloud      (the composition root; imported by nobody)
    handlers  -> service's small public types        (context, errors, messages, routing, config)
    service   -> nothing of ours
    localcloud -> handlers' S3 rules and service's S3Rule type, nothing else
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("automlops", "service", "handlers", "localcloud")
HANDLERS_MAY_USE = {
    "service.context",
    "service.errors",
    "service.messages",
    "service.routing",
    "service.config",
}
LOCALCLOUD_MAY_USE = {"service.messages", "handlers"}


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


@pytest.mark.parametrize("module", sorted(KNOWN))
def test_each_module_imports_only_what_its_layer_allows(module: str) -> None:
    layer = module.split(".")[0]
    targets = {t for name in imports(KNOWN[module]) if (t := ours(name, KNOWN))}
    foreign = {t for t in targets if t.split(".")[0] != layer}
    if layer == "service":
        assert foreign == set()
    elif layer == "handlers":
        assert {t for t in foreign if t.startswith(("localcloud", "automlops"))} == set()
        assert {t for t in foreign if t.startswith("service")} <= HANDLERS_MAY_USE
    elif layer == "localcloud":
        assert foreign <= LOCALCLOUD_MAY_USE, foreign - LOCALCLOUD_MAY_USE


def test_nobody_imports_the_composition_root() -> None:
    importers = {
        module
        for module, path in KNOWN.items()
        if not module.startswith("automlops")
        for name in imports(path)
        if name.startswith("automlops")
    }
    assert importers == set()


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
