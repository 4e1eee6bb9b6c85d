"""End to end: more runs of one dataset than the account's quota of serverless endpoints (AWS's
default is 50 per account; the emulator is given 16 here, and 24 runs, so that the suite stays
fast now that every run also renders its report).

Without clean-up the 17th run's endpoint would be refused with ResourceLimitExceeded. With it,
each run's own endpoint is deleted once its version is decided, and models and endpoint configs
beyond the live one and `keep_versions` approved versions go too: after any number of runs one
serverless endpoint is left. Uploads come in waves, as a busy day's would (moto only: the
quota is the emulator's, the rest is what every other pipeline test checks on LocalStack).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from lifecycle_helpers import endpoint_names
from pipeline_harness import Pipeline, running_pipeline

from handlers.data.synthetic import generate
from handlers.naming import DatasetNames

pytestmark = pytest.mark.e2e

DATASET = "bank-marketing"
RUNS, WAVE, QUOTA, KEEP_VERSIONS = 24, 8, 16, 3


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    faults = {"serverless_endpoint_quota": QUOTA, "endpoint_delay_seconds": 0.05}
    with running_pipeline(
        tmp_path_factory.mktemp("quota"), faults=faults, worker_threads=8
    ) as running:
        yield running


def csv(seed: int) -> bytes:
    sink = io.BytesIO()
    generate(sink, 1000, seed=seed)
    return sink.getvalue()


def test_more_runs_than_the_quota_never_hit_it_and_leave_one_endpoint(
    pipeline: Pipeline,
) -> None:
    keys = [f"data/{DATASET}/day-{n:02d}.csv" for n in range(RUNS)]
    runs = {}
    for start in range(0, RUNS, WAVE):
        wave = keys[start : start + WAVE]
        for key in wave:
            pipeline.upload(key, csv(seed=1000 + keys.index(key)))
        runs.update(pipeline.wait_for_runs(wave, timeout=180))
    manifests = [pipeline.manifest(run["run_id"]) or {} for run in runs.values()]
    assert [m["status"] for m in manifests] == ["succeeded"] * RUNS, [
        (m["run_id"], m.get("error")) for m in manifests if m["status"] != "succeeded"
    ]
    assert "ResourceLimitExceeded" not in json.dumps(manifests)
    decisions = [m["decision"]["decision"] for m in manifests]
    assert set(decisions) <= {"promoted", "rejected"}
    assert "promoted" in decisions

    live = DatasetNames.for_dataset(DATASET).live_endpoint
    assert endpoint_names(pipeline) == [live]
    sm = pipeline.clients.sagemaker
    models = [
        m["ModelName"] for p in sm.get_paginator("list_models").paginate() for m in p["Models"]
    ]
    configs = [
        c["EndpointConfigName"]
        for p in sm.get_paginator("list_endpoint_configs").paginate()
        for c in p["EndpointConfigs"]
    ]
    # The live version and the newest `keep_versions` approved ones (the live one is usually
    # among them; a version decided after a newer one was registered need not be).
    assert 1 <= len(models) <= KEEP_VERSIONS + 1
    assert len(configs) == len(models)
    print(  # the figures the lifecycle's notes quote
        f"after {RUNS} runs: {len(endpoint_names(pipeline))} endpoint, {len(models)} models, "
        f"{len(configs)} endpoint configs; {decisions.count('promoted')} promoted"
    )
