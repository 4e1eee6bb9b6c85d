"""The AWS provider's resource schema, read from the @cdktf/provider-aws package's .jsii file.

Every resource and data source has a class whose docs link its Terraform type, and a Config
interface whose properties are its arguments and blocks; each property's docs link the exact
Terraform name (`...#force_destroy S3Bucket#force_destroy`), so no case conversion is guessed.
A property whose type is another struct (alone, or in a list) is a nested block.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VERSION = "21.22.1"  # provider 6.25.0
JSII = ROOT / ".tools" / "provider-aws" / VERSION / ".jsii"
_TYPE_LINK = re.compile(r"/docs/(resources|data-sources)/\w+ (aws_\w+)\}")
_ARG_LINK = re.compile(r"#(\w+) [\w.]+#\w+\}")
# Terraform's own meta-arguments (cdktf's TerraformMetaArguments) and the dynamic block.
META = frozenset({"count", "for_each", "depends_on", "lifecycle", "provider", "dynamic"})


@dataclass
class Block:
    arguments: set[str] = field(default_factory=set)
    blocks: dict[str, str] = field(default_factory=dict)  # name -> struct fqn


@dataclass
class Schema:
    resources: dict[str, Block]
    data: dict[str, Block]
    structs: dict[str, Block]


@cache
def load() -> Schema:
    types: dict[str, Any] = json.loads(JSII.read_bytes())["types"]
    resources: dict[str, Block] = {}
    data: dict[str, Block] = {}
    for fqn, spec in types.items():
        link = _TYPE_LINK.search(spec.get("docs", {}).get("summary", ""))
        config = types.get(f"{fqn}Config")
        if spec.get("kind") != "class" or link is None or config is None:
            continue
        target = resources if link.group(1) == "resources" else data
        target[link.group(2)] = _block(config, types)
    structs = {
        fqn: _block(spec, types)
        for fqn, spec in types.items()
        if spec.get("kind") == "interface" and spec.get("datatype")
    }
    return Schema(resources, data, structs)


def _block(spec: dict[str, Any], types: dict[str, Any]) -> Block:
    block = Block()
    for prop in spec.get("properties", []):
        docs = prop.get("docs", {})
        # Arguments link their name in the summary; blocks ("statement block.") in the remarks.
        link = _ARG_LINK.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
        if link is None:
            continue
        name, struct = link.group(1), _struct_of(prop.get("type", {}), types)
        if struct:
            block.blocks[name] = struct
        else:
            block.arguments.add(name)
    return block


def _struct_of(kind: dict[str, Any], types: dict[str, Any]) -> str | None:
    """The struct a property holds (alone or in a list), or None for a plain argument."""
    if "collection" in kind:
        collection = kind["collection"]
        return _struct_of(collection.get("elementtype", {}), types)
    if "union" in kind:
        found = [_struct_of(t, types) for t in kind["union"]["types"]]
        return next((f for f in found if f), None)
    fqn = kind.get("fqn")
    if fqn and types.get(fqn, {}).get("datatype"):
        return str(fqn)
    return None
