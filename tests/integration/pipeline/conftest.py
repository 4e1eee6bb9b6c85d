"""Fixtures for the pipeline's integration tests: one embedded AWS per module (moto + the
SageMaker emulator on 127.0.0.1) with the real worker running in this process, and helpers to
make small bank-marketing CSVs and unique object keys.

A module changes what it gets by overriding `pipeline_options` (module scope): `worker=False`
for calling stages directly, `faults={...}` for the emulator, any settings field by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from localstack_server import LocalStack
from pipeline_harness import Pipeline, running_pipeline


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory,
    pipeline_options: dict[str, Any],
    backend: LocalStack | None,
) -> Iterator[Pipeline]:
    """moto or LocalStack + the SageMaker emulator (+ the worker, polling every second) for the
    module; every module runs on both."""
    work = tmp_path_factory.mktemp("pipeline")
    with running_pipeline(work, localstack=backend, **pipeline_options) as running:
        yield running


@pytest.fixture
def raw_key(request: pytest.FixtureRequest) -> Callable[..., str]:
    """`raw_key(dataset="bank-marketing", suffix=".csv")`: a key under data/<dataset>/ that no
    other test uses, named after the test."""

    def make(dataset: str = "bank-marketing", suffix: str = ".csv") -> str:
        name = request.node.name.replace("[", "-").replace("]", "")[:40]
        return f"data/{dataset}/{name}-{uuid.uuid4().hex[:6]}{suffix}"

    return make
