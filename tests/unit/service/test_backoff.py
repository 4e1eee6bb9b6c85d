"""Retry back-off: exponential growth, caps, jitter bounds."""

from __future__ import annotations

import random
import statistics

import pytest

from service.backoff import MAX_VISIBILITY_SECONDS, Backoff, clamp_visibility
from service.transport import clamp_delay


def test_grows_exponentially_from_the_receive_count_until_the_cap() -> None:
    backoff = Backoff(base_seconds=5, max_seconds=900, jitter="none")
    assert [backoff.delay(n) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 640, 900]


def test_cap_never_exceeds_the_sqs_visibility_limit() -> None:
    backoff = Backoff(base_seconds=60, max_seconds=10**6, jitter="none")
    assert backoff.delay(1000) == MAX_VISIBILITY_SECONDS


def test_a_zero_or_negative_count_is_treated_as_the_first_receive() -> None:
    backoff = Backoff(base_seconds=3, max_seconds=100, jitter="none")
    assert backoff.delay(0) == backoff.delay(-4) == backoff.delay(1) == 3


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    backoff = Backoff(base_seconds=2, max_seconds=60, jitter="full")
    rng = random.Random(7)
    for count in range(1, 12):
        samples = [backoff.delay(count, rng) for _ in range(300)]
        ceiling = backoff.ceiling(count)
        assert min(samples) >= 0
        assert max(samples) <= round(ceiling)
        # Spread out, not stuck at one end.
        assert statistics.mean(samples) == pytest.approx(ceiling / 2, rel=0.25, abs=1)


def test_full_jitter_grows_on_average() -> None:
    backoff = Backoff(base_seconds=1, max_seconds=900, jitter="full")
    rng = random.Random(11)
    means = [statistics.mean(backoff.delay(n, rng) for _ in range(400)) for n in (1, 3, 5, 7)]
    assert means == sorted(means)
    assert means[-1] > 10 * means[0]


def test_decorrelated_jitter_stays_between_base_and_three_times_the_previous() -> None:
    backoff = Backoff(base_seconds=4, max_seconds=300, jitter="decorrelated")
    rng = random.Random(3)
    for count in range(1, 12):
        previous = backoff.ceiling(count - 1) if count > 1 else 4
        upper = min(300, 3 * previous)
        samples = [backoff.delay(count, rng) for _ in range(200)]
        assert min(samples) >= 4
        assert max(samples) <= round(upper)


def test_whole_seconds_within_sqs_limits() -> None:
    assert clamp_visibility(-3) == 0
    assert clamp_visibility(2.6) == 3
    assert clamp_visibility(10**9) == MAX_VISIBILITY_SECONDS
    assert [clamp_delay(s) for s in (-1, 0, 300, 901, 10**6)] == [0, 0, 300, 900, 900]
