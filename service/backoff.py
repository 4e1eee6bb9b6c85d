"""Retry back-off from a message's receive count: exponential, jittered, capped.

SQS keeps no per-message state for us except `ApproximateReceiveCount`, so the delay is a pure
function of that count; jitter spreads retries of messages that failed together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

# ChangeMessageVisibility accepts at most 12 hours.
MAX_VISIBILITY_SECONDS = 43_200

Jitter = Literal["full", "decorrelated", "none"]


@dataclass(frozen=True)
class Backoff:
    base_seconds: float
    max_seconds: float
    jitter: Jitter = "full"

    @property
    def cap(self) -> float:
        return min(self.max_seconds, MAX_VISIBILITY_SECONDS)

    def ceiling(self, receive_count: int) -> float:
        """The un-jittered delay after the n-th receive: base * 2^(n-1), capped."""
        exponent = min(max(receive_count, 1) - 1, 40)  # 2^40 s already exceeds any cap
        return min(self.cap, self.base_seconds * 2.0**exponent)

    def delay(self, receive_count: int, rng: random.Random | None = None) -> int:
        """Whole seconds to keep the message invisible before its next attempt."""
        rng = rng or _RNG
        if self.jitter == "none":
            seconds = self.ceiling(receive_count)
        elif self.jitter == "full":
            seconds = rng.uniform(0, self.ceiling(receive_count))
        else:
            # Decorrelated jitter draws from [base, 3 * previous delay]; the previous delay is
            # not stored anywhere, so its un-jittered value stands in for it.
            previous = self.ceiling(receive_count - 1) if receive_count > 1 else self.base_seconds
            seconds = rng.uniform(self.base_seconds, max(self.base_seconds, previous * 3))
        return clamp_visibility(min(seconds, self.cap))


def clamp_visibility(seconds: float) -> int:
    return int(min(max(round(seconds), 0), MAX_VISIBILITY_SECONDS))


_RNG = random.Random()
