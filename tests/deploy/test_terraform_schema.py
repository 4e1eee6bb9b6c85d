"""Every resource type, data source, argument and nested block in deploy/ exists in the AWS
provider's schema (6.25.0), checked offline: `terraform validate` needs the provider from the
registry, which this workplace cannot reach."""

from __future__ import annotations

from typing import Any

import provider_schema
import pytest
from provider_schema import META, Block, Schema
from tfconfig import DEPLOY, Module, load

pytestmark = pytest.mark.skipif(
    not provider_schema.JSII.exists(),
    reason="no AWS provider schema (npm missing): see deploy/checks/provider_schema.sh",
)


@pytest.fixture(scope="module")
def schema() -> Schema:
    return provider_schema.load()


MODULES = [DEPLOY, *sorted(p for p in (DEPLOY / "modules").iterdir() if p.is_dir())]


@pytest.fixture(scope="module", params=MODULES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def tf(request: pytest.FixtureRequest) -> Module:
    """deploy/ and each of its modules."""
    return load(request.param)


def problems(body: dict[str, Any], block: Block, schema: Schema, where: str) -> list[str]:
    found: list[str] = []
    for name, value in body.items():
        if name == "dynamic":
            found += _dynamic(value, block, schema, where)
        elif name in block.blocks:
            for item in value if isinstance(value, list) else [value]:
                nested = schema.structs[block.blocks[name]]
                found += problems(item, nested, schema, f"{where}.{name}")
        elif name not in block.arguments and name not in META:
            found.append(f"{where}: no argument or block {name!r}")
    return found


def _dynamic(value: Any, block: Block, schema: Schema, where: str) -> list[str]:
    found: list[str] = []
    for entry in value if isinstance(value, list) else [value]:
        for name, spec in entry.items():
            if name not in block.blocks:
                found.append(f"{where}: no block {name!r} for a dynamic block")
                continue
            for content in spec.get("content", []):
                nested = schema.structs[block.blocks[name]]
                found += problems(content, nested, schema, f"{where}.dynamic.{name}")
    return found


def test_the_schema_is_the_provider_we_pin(schema: Schema) -> None:
    assert "aws_s3_bucket" in schema.resources
    assert "force_destroy" in schema.resources["aws_s3_bucket"].arguments
    assert "aws_iam_policy_document" in schema.data
    assert "statement" in schema.data["aws_iam_policy_document"].blocks


def unknown(
    blocks: dict[str, dict[str, Any]], known: dict[str, Block], schema: Schema, label: str
) -> list[str]:
    """What `blocks` (type -> name -> body) use that the schema does not have."""
    found: list[str] = []
    for kind, named in blocks.items():
        if kind not in known:
            found.append(f"{label} {kind} does not exist")
            continue
        for name, body in named.items():
            found += problems(body, known[kind], schema, f"{label} {kind}.{name}")
    return found


def test_every_resource_type_and_argument_exists(tf: Module, schema: Schema) -> None:
    assert tf.resources, f"no resources read from {tf.directory}"
    assert unknown(tf.resources, schema.resources, schema, "resource") == []


def test_every_data_source_and_argument_exists(tf: Module, schema: Schema) -> None:
    assert unknown(tf.data, schema.data, schema, "data source") == []


def test_a_misspelt_argument_or_block_is_found(schema: Schema) -> None:
    bucket = schema.resources["aws_s3_bucket"]
    assert problems({"bucket": "b", "force_destroyy": True}, bucket, schema, "x") == [
        "x: no argument or block 'force_destroyy'"
    ]
    queue_policy = {"statement": [{"effect": "Allow", "actionz": ["s3:*"]}]}
    document = schema.data["aws_iam_policy_document"]
    assert problems(queue_policy, document, schema, "d") == [
        "d.statement: no argument or block 'actionz'"
    ]
