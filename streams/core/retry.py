"""The one retry loop of the I/O shell, and its backoff.

Every retry in wirewatch goes through `retry`: Kafka sends (`streams.core.send`), bulk writes
and searches against Elasticsearch, rule loading, webhook posts. What is worth retrying is
decided by the one classifier (`streams.core.faults.classify`): transient faults back off and
run again; data errors, fatal errors and bugs propagate at once, for the caller's policy
(dead letter, fail-stop, isolation by the batch runner).

A call that did part of its work and must run again for the rest (some documents of a bulk
request, some messages of a send) keeps its own progress and raises `RetryLater`, which is
transient by definition, as quix-streams' sinks signal backpressure with one exception.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog

from streams import metrics
from streams.core.faults import RetryLater, is_transient
from streams.logs import RETRY

log = structlog.get_logger(__name__)
T = TypeVar("T")

__all__ = ["RetryLater", "RetryPolicy", "backoff", "retry"]


def backoff(attempt: int, base: float = 0.25, cap: float = 30.0) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): exponential, capped, with jitter
    (uniform over the upper half) so that many clients do not retry in step."""
    delay = min(cap, base * 2 ** min(attempt, 16))
    return random.uniform(delay / 2, delay)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often `retry` tries."""

    base: float = 0.25
    """First backoff in seconds (doubles per attempt, with jitter)."""
    cap: float = 30.0
    """Longest backoff."""
    attempts: int | None = None
    """Tries in all; None retries a transient fault for as long as it lasts (backpressure:
    the stage does not consume meanwhile)."""


FOREVER = RetryPolicy()

OnRetry = Callable[[int, BaseException], None]
"""Called before each backoff with the attempt number and the error (health tracking)."""


async def retry(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    stage: str,
    policy: RetryPolicy = FOREVER,
    on_retry: OnRetry | None = None,
    retryable: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run `call` until it returns. A transient fault (or what `retryable` accepts) backs off
    and runs it again (until `policy.attempts` tries, then the last error propagates); any
    other fault propagates at once."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            attempt += 1
            spent = policy.attempts is not None and attempt >= policy.attempts
            if spent or not retryable(exc):
                raise
            delay = backoff(attempt, base=policy.base, cap=policy.cap)
            metrics.RETRIED.labels(stage=stage).inc()
            if on_retry is not None:
                on_retry(attempt, exc)
            log.warning(
                RETRY,
                stage=stage,
                what=what,
                attempt=attempt,
                delay=round(delay, 2),
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
            )
            await sleep(delay)
