"""The one durable send to Kafka, for the stages and the publisher alike.

`send_durably` hands every record to a producer, waits until the broker has it (acks=all),
and re-issues, with the shared backoff (`streams.core.retry`), only the records whose send
failed transiently. It returns when every record is on the topic or was refused for good;
those (a record larger than the topic allows) come back as `Undelivered` for the caller's
policy: a stage dead-letters the message, the publisher reports it. Refused credentials or
ACLs are fatal and raise; so does anything unclassified (a bug).

The producer side is a `Sender`: the Faust producer of a worker (`streams.clients.kafka
.FaustSender`) or kafka-python's producer of the publisher (`ProducerSender`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol

from streams.core.faults import RetryLater, classify
from streams.core.retry import RetryPolicy, retry

PRODUCE_POLICY = RetryPolicy(base=0.5, cap=30.0)
ACK_TIMEOUT_SECONDS = 60.0
"""A record the broker has not acknowledged within this long is sent again (a retry, logged)
instead of holding its batch, and the partition behind it, silently."""


@dataclass(frozen=True)
class Record:
    """One Kafka record to send: key (the article id) and value."""

    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Undelivered:
    """A record Kafka refused for good, with the broker's error."""

    record: Record
    error: BaseException


class Sender(Protocol):
    """A producer: `enqueue` hands one record over and returns an awaitable that completes
    when the broker has it (or fails with the broker's error)."""

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[object]: ...


async def send_durably(
    sender: Sender,
    topic: str,
    records: Sequence[Record],
    *,
    stage: str,
    policy: RetryPolicy = PRODUCE_POLICY,
) -> list[Undelivered]:
    """Send `records` to `topic`; return when Kafka has each one or refused it for good."""
    pending = list(records)
    refused: list[Undelivered] = []

    async def attempt() -> None:
        nonlocal pending
        failed: list[Record] = []
        last: BaseException | None = None
        acks: list[tuple[Record, Awaitable[object]]] = []
        for record in pending:
            try:
                acks.append((record, await sender.enqueue(topic, record.key, record.value)))
            except Exception as exc:
                last = _sort(exc, record, failed, refused)
        for record, ack in acks:
            try:
                await asyncio.wait_for(asyncio.shield(ack), ACK_TIMEOUT_SECONDS)
            except Exception as exc:
                last = _sort(exc, record, failed, refused)
        pending = failed
        if failed:
            raise RetryLater(f"{len(failed)} record(s) to {topic!r} not sent") from last

    await retry(f"send to {topic}", attempt, stage=stage, policy=policy)
    return refused


def _sort(
    exc: Exception, record: Record, failed: list[Record], refused: list[Undelivered]
) -> BaseException:
    fault = classify(exc)
    if fault == "transient":
        failed.append(record)
    elif fault == "data":
        refused.append(Undelivered(record, exc))
    else:
        raise exc  # fatal or a bug: the batch runner decides
    return exc
