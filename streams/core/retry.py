"""Backoff for every retry loop of the I/O shell (Elasticsearch, Kafka, webhooks, feeds)."""

from __future__ import annotations

import random


def backoff(attempt: int, base: float = 0.25, cap: float = 30.0) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): exponential, capped, with jitter
    (uniform over the upper half) so that many clients do not retry in step."""
    delay = min(cap, base * 2 ** min(attempt, 16))
    return random.uniform(delay / 2, delay)
