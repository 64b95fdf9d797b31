"""The back-off of the outboxes (alert deliveries, inbox replies, publications): how long to wait
before the next try of something that failed."""

from __future__ import annotations

from collections.abc import Callable


def backoff_s(attempts: int, low: float, high: float, rng: Callable[[], float]) -> float:
    """Seconds before the next try after `attempts` failures: doubling from `low`, capped at
    `high`, with ±20 % jitter so that the retries of many deliveries spread out."""
    base = min(high, low * 2.0 ** max(0, attempts - 1))
    return min(high, base * (0.8 + 0.4 * rng()))
