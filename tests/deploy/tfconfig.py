"""deploy/ read with python-hcl2: the Terraform the wiring tests check, without a provider.

`terraform validate` needs the provider from the registry; these tests need only the files. Every
block type is merged across the files of one directory into plain dicts:
`resources["aws_sqs_queue"]["main"]`, `data[...]`, `locals[...]`, `variables[...]`, `modules[...]`.
Strings come back without their quotes; expressions as `${...}` strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

_OPTIONS = hcl2.SerializationOptions(
    explicit_blocks=False, strip_string_quotes=True, with_comments=False
)


@dataclass
class Module:
    directory: Path
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: dict[Path, str] = field(default_factory=dict)

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[kind][name]

    def default(self, variable: str) -> Any:
        return self.variables[variable].get("default")


def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle, serialization_options=_OPTIONS))


@cache
def load(directory: Path = DEPLOY) -> Module:
    module = Module(directory)
    for path in sorted(directory.glob("*.tf")):
        module.text[path] = path.read_text()
        document = parse(path)
        for block in document.get("resource", []):
            for kind, named in block.items():
                module.resources.setdefault(kind, {}).update(named)
        for block in document.get("data", []):
            for kind, named in block.items():
                module.data.setdefault(kind, {}).update(named)
        for block in document.get("locals", []):
            module.locals.update(block)
        for block in document.get("variable", []):
            module.variables.update(block)
        for block in document.get("output", []):
            module.outputs.update(block)
        for block in document.get("module", []):
            module.modules.update(block)
    return module


def all_modules() -> list[Module]:
    """The root module and every local module under deploy/modules/."""
    children = sorted(p for p in (DEPLOY / "modules").glob("*") if p.is_dir())
    return [load(DEPLOY), *(load(child) for child in children)]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of an aws_iam_policy_document, `dynamic "statement"` contents included."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        if "statement" in dynamic:
            found.extend(dynamic["statement"].get("content", []))
    return found


_COMMENT = re.compile(r"^\s*(#|//).*$", re.MULTILINE)


def code_of(text: str) -> str:
    """The text without whole-line comments and without trailing `# ...` outside strings."""
    lines = []
    for line in _COMMENT.sub("", text).splitlines():
        in_string = False
        for index, char in enumerate(line):
            if char == '"' and (index == 0 or line[index - 1] != "\\"):
                in_string = not in_string
            elif char == "#" and not in_string:
                line = line[:index]
                break
        lines.append(line)
    return "\n".join(lines)
