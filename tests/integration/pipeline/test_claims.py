"""Claims against the real S3 conditional writes (moto over HTTP)."""

from __future__ import annotations

import pytest
from pipeline_harness import Pipeline

from handlers.aws.storage import read_json
from handlers.runs import claims
from service.failures import DuplicateDelivery

RUN_ID = "20261126-c1a1c1a1c1"


def take(pipeline: Pipeline, key: str, message_id: str, lease_seconds: float) -> str:
    ctx = pipeline.context(message_id=message_id)
    spec = claims.Claim(
        bucket=ctx.deps.buckets.reports,
        key=key,
        run_id=RUN_ID,
        stage="evaluate",
        done=lambda document: bool(document.get("finished")),
        lease_seconds=lease_seconds,
    )
    return claims.claim(spec, ctx.deps.runs, message_id, ctx.log)


def holder(pipeline: Pipeline, key: str) -> str:
    found = read_json(pipeline.clients.s3, pipeline.bucket("reports"), key)
    assert found is not None
    return str(found[0]["claim"]["message_id"])


def test_the_first_delivery_wins_and_its_own_redelivery_carries_on(pipeline: Pipeline) -> None:
    key = f"runs/{RUN_ID}/claims/first.json"
    assert take(pipeline, key, "message-a", lease_seconds=600) == "ours"
    assert take(pipeline, key, "message-a", lease_seconds=600) == "ours"
    assert holder(pipeline, key) == "message-a"


def test_a_twin_of_a_live_holder_is_a_duplicate(pipeline: Pipeline) -> None:
    key = f"runs/{RUN_ID}/claims/twin.json"
    assert take(pipeline, key, "message-a", lease_seconds=600) == "ours"
    with pytest.raises(DuplicateDelivery, match="being done by another delivery") as caught:
        take(pipeline, key, "message-b", lease_seconds=600)
    assert "message message-a" in caught.value.reason
    assert holder(pipeline, key) == "message-a"


def test_an_expired_claim_is_taken_over_by_a_new_delivery(pipeline: Pipeline) -> None:
    """A message redriven from the DLQ has a new id: it must be able to finish the run."""
    key = f"runs/{RUN_ID}/claims/expired.json"
    assert take(pipeline, key, "message-a", lease_seconds=0) == "ours"
    assert take(pipeline, key, "redriven-b", lease_seconds=0) == "ours"
    assert holder(pipeline, key) == "redriven-b"
    with pytest.raises(DuplicateDelivery):  # and now the first one is the twin
        take(pipeline, key, "message-a", lease_seconds=600)
