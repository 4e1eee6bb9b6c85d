"""The training watch looks soon, then backs off to its longest wait."""

from __future__ import annotations

import pytest

from handlers.messages import TrainingWatch
from handlers.settings import PipelineSettings
from service.failures import ConfigurationError, MessageDecodeError

ENV = {
    "AUTOMLOPS_RAW_BUCKET": "r",
    "AUTOMLOPS_CURATED_BUCKET": "c",
    "AUTOMLOPS_MODELS_BUCKET": "m",
    "AUTOMLOPS_REPORTS_BUCKET": "p",
    "AUTOMLOPS_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
}


def test_the_delays_double_from_the_first_up_to_the_longest() -> None:
    settings = PipelineSettings.from_env(ENV)
    assert [settings.watch_delay(n) for n in range(7)] == [5, 10, 20, 40, 60, 60, 60]
    assert settings.watch_delay(10**9) == 60  # a forged count cannot overflow or stall it


def test_a_first_look_later_than_the_longest_wait_is_refused() -> None:
    env = {**ENV, "AUTOMLOPS_TRAINING_WATCH_FIRST_SECONDS": "90"}
    with pytest.raises(ConfigurationError, match="TRAINING_WATCH_FIRST_SECONDS=90 must be 1 to"):
        PipelineSettings.from_env(env)


def test_the_first_look_follows_the_longest_wait_when_only_that_is_set() -> None:
    settings = PipelineSettings.from_env({**ENV, "AUTOMLOPS_TRAINING_WATCH_SECONDS": "1"})
    assert (settings.first_watch_seconds, settings.watch_delay(0), settings.watch_delay(5)) == (
        1,
        1,
        1,
    )
    longer = PipelineSettings.from_env({**ENV, "AUTOMLOPS_TRAINING_WATCH_SECONDS": "3"})
    assert [longer.watch_delay(n) for n in range(3)] == [3, 3, 3]


def test_an_explicit_first_look_past_an_explicit_longest_wait_names_both_settings() -> None:
    env = {
        **ENV,
        "AUTOMLOPS_TRAINING_WATCH_SECONDS": "10",
        "AUTOMLOPS_TRAINING_WATCH_FIRST_SECONDS": "20",
    }
    with pytest.raises(ConfigurationError) as raised:
        PipelineSettings.from_env(env)
    assert "TRAINING_WATCH_FIRST_SECONDS=20 must be 1 to AUTOMLOPS_TRAINING_WATCH_SECONDS (10)" in (
        str(raised.value)
    )


def test_each_look_counts_itself() -> None:
    run = "20261201-0123456789"
    watch = TrainingWatch(run_id=run, dataset="bank", job_name=f"aml-bank-{run}-train")
    assert (watch.looks, watch.next_look().looks, watch.next_look().next_look().looks) == (0, 1, 2)
    with pytest.raises(MessageDecodeError, match="looks"):
        TrainingWatch(run_id=run, dataset="bank", job_name=f"aml-bank-{run}-train", looks=-1)
