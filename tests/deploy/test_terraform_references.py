"""What `terraform validate` would catch first, checked without the provider: dangling references.

Every `var.x`, `local.x`, `aws_type.name`, `data.aws_type.name` and `module.x.output` used in a
module must be declared in it, and every declared variable must be used.
"""

from __future__ import annotations

import re

import pytest
from tfconfig import DEPLOY, Module, all_modules, code_of, load

MODULES = all_modules()
IDS = [module.directory.name for module in MODULES]

VAR = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)")
LOCAL = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_]*)")
RESOURCE = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)")
DATA = re.compile(r"\bdata\.(aws_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)")
MODULE = re.compile(r"\bmodule\.([a-z_][a-z0-9_]*)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)")


def code(module: Module) -> str:
    return "\n".join(code_of(text) for text in module.text.values())


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_variables_are_declared_and_used(module: Module) -> None:
    used = set(VAR.findall(code(module)))
    assert used <= set(module.variables), f"undeclared: {sorted(used - set(module.variables))}"
    assert set(module.variables) <= used, f"unused: {sorted(set(module.variables) - used)}"


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_locals_are_declared(module: Module) -> None:
    used = set(LOCAL.findall(code(module)))
    assert used <= set(module.locals), f"undeclared: {sorted(used - set(module.locals))}"


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_resources_and_data_sources_referenced_exist(module: Module) -> None:
    text = code(module)
    for kind, name in set(RESOURCE.findall(text)):
        assert name in module.resources.get(kind, {}), f"{kind}.{name} is not declared"
    for kind, name in set(DATA.findall(text)):
        assert name in module.data.get(kind, {}), f"data.{kind}.{name} is not declared"


def test_module_outputs_referenced_exist() -> None:
    root = load(DEPLOY)
    for name, output in set(MODULE.findall(code(root))):
        source = root.modules[name]["source"]
        child = load((DEPLOY / source).resolve())
        assert output in child.outputs, f"module.{name}.{output} is not an output of {source}"
