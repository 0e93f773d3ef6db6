"""Offset commits never pass a record that was not finished (streams/offsets.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams import metrics
from streams.offsets import CommitDecision, GuardedConsumer, WirewatchApp, next_commit

RAW = TP("articles.raw", 0)


@pytest.mark.parametrize(
    ("committed", "done", "gaps", "expected"),
    [
        # a run that starts at the committed offset is committed up to its end
        (480, [480, 481, 482], [], CommitDecision(483)),
        (0, [0, 1], [], CommitDecision(2)),
        # only the contiguous part: 483 is missing
        (480, [480, 481, 484, 485], [], CommitDecision(482)),
        # the record at the committed offset is not done: nothing, and it is a hole
        (480, [481, 482], [], CommitDecision(None, hole=480)),
        (480, [485, 486, 487], [], CommitDecision(None, hole=480)),
        # offsets the fetcher saw missing count as done ...
        (480, [480, 483], [(481, 483)], CommitDecision(484)),
        (480, [482], [(480, 482)], CommitDecision(483)),
        # ... but a gap that ends before the committed offset credits nothing
        (480, [482], [(470, 479)], CommitDecision(None, hole=480)),
        # offsets below the committed one are already committed
        (480, [470, 471], [], CommitDecision(None)),
        (480, [], [], CommitDecision(None)),
    ],
)
def test_next_commit(
    committed: int, done: list[int], gaps: list[tuple[int, int]], expected: CommitDecision
) -> None:
    assert next_commit(committed, done, gaps) == expected


@pytest.fixture
async def consumer() -> AsyncIterator[GuardedConsumer]:
    app = WirewatchApp("offsets-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.offset_hole_seconds = 0.0
    consumer = app.consumer
    assert isinstance(consumer, GuardedConsumer)
    yield consumer


def ack(consumer: GuardedConsumer, tp: TP, *offsets: int) -> None:
    consumer._acked[tp].extend(offsets)
    consumer._acked_index[tp].update(offsets)


def test_app_reads_kafka_through_the_guarded_consumer() -> None:
    assert isinstance(WirewatchApp("t", broker="kafka://localhost:9092").consumer, GuardedConsumer)
    assert isinstance(
        WirewatchApp("t", broker="aiokafka://localhost:9092").consumer, GuardedConsumer
    )


def test_no_commit_while_the_committed_offset_is_unknown(consumer: GuardedConsumer) -> None:
    # During a rebalance Faust forgets the committed offset, then commits what was acked.
    # Records 480-484 were dropped from the agent's buffer; 485-489 were finished.
    ack(consumer, RAW, 485, 486, 487, 488, 489)
    assert consumer._committed_offset[RAW] is None
    assert consumer._new_offset(RAW) is None
    # Faust's own rule would have committed 490: five records never processed.
    assert FaustConsumer._new_offset(consumer, RAW) == 490


def test_no_commit_over_the_record_at_the_committed_offset(consumer: GuardedConsumer) -> None:
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 481, 482)
    assert consumer._new_offset(RAW) is None
    assert consumer._holes[RAW].offset == 480
    # Faust's rule accepts a run starting one after the committed offset.
    assert FaustConsumer._new_offset(consumer, RAW) == 483


def test_a_contiguous_run_is_committed_and_forgotten(consumer: GuardedConsumer) -> None:
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 482, 480, 481, 485)
    consumer._gap[RAW].addi(470, 475)
    assert consumer._new_offset(RAW) == 483
    assert consumer._acked[RAW] == [485]
    assert consumer._acked_index[RAW] == {485}
    assert not consumer._gap[RAW]
    assert RAW not in consumer._holes


async def test_a_skipped_record_is_fetched_again(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 481, 482)
    assert consumer._new_offset(RAW) is None
    seeks: list[tuple[TP, int]] = []

    async def first_offset_from(tp: TP, offset: int) -> int:
        return offset  # the record exists

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))

    monkeypatch.setattr(consumer, "first_offset_from", first_offset_from)
    monkeypatch.setattr(consumer, "seek", seek)
    monkeypatch.setattr(consumer, "assignment", lambda: {RAW})
    before = metrics.OFFSET_HOLES.labels(topic=RAW.topic)._value.get()
    await consumer.resolve_holes()
    assert seeks == [(RAW, 480)]
    assert metrics.OFFSET_HOLES.labels(topic=RAW.topic)._value.get() == before + 1
    # Nothing was committed meanwhile; once 480 is finished again the run commits.
    ack(consumer, RAW, 480)
    assert consumer._new_offset(RAW) == 483


async def test_a_hole_without_a_record_is_credited_as_a_gap(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. a transaction marker at 480: the first record at or after 480 is 481
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 481, 482)
    assert consumer._new_offset(RAW) is None

    async def first_offset_from(tp: TP, offset: int) -> int:
        return 481

    async def seek(tp: TP, offset: int) -> None:
        raise AssertionError("no record to fetch again")

    monkeypatch.setattr(consumer, "first_offset_from", first_offset_from)
    monkeypatch.setattr(consumer, "seek", seek)
    monkeypatch.setattr(consumer, "assignment", lambda: {RAW})
    await consumer.resolve_holes()
    assert consumer._new_offset(RAW) == 483


async def test_a_record_still_in_flight_is_not_a_hole(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 481)
    assert consumer._new_offset(RAW) is None

    async def first_offset_from(tp: TP, offset: int) -> int:
        raise AssertionError("an in-flight record must not be probed")

    monkeypatch.setattr(consumer, "first_offset_from", first_offset_from)
    monkeypatch.setattr(consumer, "assignment", lambda: {RAW})
    monkeypatch.setattr(consumer, "_in_flight", lambda tp, offset: (tp, offset) == (RAW, 480))
    await consumer.resolve_holes()
    assert consumer._holes[RAW].offset == 480


async def test_partitions_without_a_commit_start_at_the_reset_position(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = TP("articles.raw", 1)

    async def faust_perform_seek(self: GuardedConsumer) -> None:
        self._committed_offset[other] = 17  # committed earlier

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, 0)

    monkeypatch.setattr(faust_aiokafka.Consumer, "perform_seek", faust_perform_seek)
    monkeypatch.setattr(consumer, "earliest_offsets", earliest_offsets)
    monkeypatch.setattr(consumer, "assignment", lambda: {RAW, other})
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    await consumer.perform_seek()
    assert consumer._committed_offset[RAW] == 0
    assert consumer._committed_offset[other] == 17
    ack(consumer, RAW, 0, 1)
    assert consumer._new_offset(RAW) == 2
