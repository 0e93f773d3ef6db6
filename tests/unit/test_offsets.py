"""Offset commits never pass a record that was not finished (streams/offsets.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

from streams import metrics
from streams.app import WirewatchApp
from streams.offsets import (
    CommitDecision,
    GuardedConsumer,
    missing_ranges,
    next_commit,
)

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
        (480, [481, 482], [], CommitDecision(None, hole=(480, 483))),
        (480, [485, 486, 487], [], CommitDecision(None, hole=(480, 488))),
        # offsets the fetcher saw missing count as done ...
        (480, [480, 483], [(481, 483)], CommitDecision(484)),
        (480, [482], [(480, 482)], CommitDecision(483)),
        # ... but a gap that ends before the committed offset credits nothing
        (480, [482], [(470, 479)], CommitDecision(None, hole=(480, 483))),
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
    assert consumer._holes[RAW].start == 480
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


class Broker:
    """Stands in for the probe and the seek of a consumer assigned only `RAW`."""

    def __init__(self, records: set[int]) -> None:
        self.records = records
        self.probed: list[tuple[int, int]] = []
        self.seeks: list[int] = []

    def attach(self, consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch) -> None:
        async def offsets_between(tp: TP, start: int, end: int) -> set[int]:
            self.probed.append((start, end))
            return {o for o in self.records if start <= o < end}

        async def seek(tp: TP, offset: int) -> None:
            self.seeks.append(offset)

        monkeypatch.setattr(consumer, "offsets_between", offsets_between)
        monkeypatch.setattr(consumer, "seek", seek)
        monkeypatch.setattr(consumer, "assignment", lambda: {RAW})


async def test_a_skipped_record_is_fetched_again(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 483, 484)
    assert consumer._new_offset(RAW) is None
    assert (consumer._holes[RAW].start, consumer._holes[RAW].end) == (480, 485)
    # 480 holds no record (say a transaction marker); 481, 482 were skipped; 483, 484 done
    broker = Broker({481, 482, 483, 484})
    broker.attach(consumer, monkeypatch)
    before = metrics.OFFSET_HOLES.labels(topic=RAW.topic)._value.get()
    await consumer.resolve_holes()
    assert broker.probed == [(480, 485)]
    assert broker.seeks == [481]
    assert metrics.OFFSET_HOLES.labels(topic=RAW.topic)._value.get() == before + 1
    # 480 is credited, 481 is not done yet: still nothing past it is committed ...
    assert consumer._new_offset(RAW) == 481
    consumer._committed_offset[RAW] = 481  # what Faust records after the commit
    assert consumer._new_offset(RAW) is None
    # ... until the records fetched again are done.
    ack(consumer, RAW, 481, 482)
    assert consumer._new_offset(RAW) == 485


async def test_a_hole_without_records_is_credited_as_a_gap(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 482, 483)
    assert consumer._new_offset(RAW) is None
    broker = Broker({482, 483})  # 480 and 481 e.g. compacted away
    broker.attach(consumer, monkeypatch)
    await consumer.resolve_holes()
    assert broker.seeks == []
    assert consumer._new_offset(RAW) == 484


async def test_a_young_hole_waits(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer.app.offset_hole_seconds = 60.0  # type: ignore[attr-defined]
    consumer._committed_offset[RAW] = 480
    ack(consumer, RAW, 481)
    assert consumer._new_offset(RAW) is None
    broker = Broker({480, 481})
    broker.attach(consumer, monkeypatch)
    await consumer.resolve_holes()
    assert broker.probed == []  # too early to ask the broker
    assert consumer._holes[RAW].start == 480


async def test_jumps_seen_by_the_fetch_loop_are_not_counted_as_done(
    consumer: GuardedConsumer,
) -> None:
    # Records 832-844 were fetched and dropped; the fetch loop next sees 845.
    consumer._committed_offset[RAW] = 832
    await consumer._add_gap(RAW, 832, 845)
    ack(consumer, RAW, 845, 846)
    assert consumer._new_offset(RAW) is None
    # Faust's own rule commits 846: over thirteen records never processed.
    consumer._gap[RAW].addi(832, 846)
    consumer._acked[RAW][:] = [845, 846]
    assert FaustConsumer._new_offset(consumer, RAW) == 846


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


def message(tp: TP, offset: int, generation: int) -> Message:
    return Message(
        tp.topic,
        tp.partition,
        offset,
        0.0,
        0,
        None,
        b"k",
        b"v",
        None,
        tp=tp,
        generation_id=generation,
    )


def test_acks_of_messages_fetched_before_a_rebalance_do_not_count(
    consumer: GuardedConsumer,
) -> None:
    # Faust's stream skips such a message unprocessed and acks it.
    consumer.app.topics.acks_enabled_for = lambda topic: True  # type: ignore[method-assign]
    consumer.app.consumer_generation_id = 7
    consumer._committed_offset[RAW] = 361
    stale = message(RAW, 361, generation=6)
    consumer._unacked_messages.add(stale)
    assert consumer.ack(stale) is False
    assert stale.acked and stale not in consumer._unacked_messages  # nothing waits for it
    assert consumer._new_offset(RAW) is None
    # The copy fetched again in this generation counts.
    assert consumer.ack(message(RAW, 361, generation=7)) is True
    assert consumer._new_offset(RAW) == 362


async def test_a_hole_held_by_an_overlapping_batch_waits_for_it(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two enrich batches overlap: the later one finished first. Record 480 is still in the
    # earlier batch's hands (delivered in this generation, not acked): not a skipped record.
    consumer.app.offset_hole_seconds = 1.0  # type: ignore[attr-defined]
    consumer.app.consumer_generation_id = 7
    consumer._committed_offset[RAW] = 480
    held = message(RAW, 480, generation=7)
    consumer._unacked_messages.add(held)
    ack(consumer, RAW, 481, 482)
    assert consumer._new_offset(RAW) is None
    consumer._holes[RAW].since -= 2.0  # older than hole_seconds
    broker = Broker({480, 481, 482})
    broker.attach(consumer, monkeypatch)
    await consumer.resolve_holes()
    assert broker.probed == [] and broker.seeks == []
    assert consumer.in_flight(RAW) == {480}
    # The earlier batch finishes: the whole run commits, nothing was fetched twice.
    consumer._unacked_messages.discard(held)
    ack(consumer, RAW, 480)
    assert consumer._new_offset(RAW) == 483


async def test_a_record_in_flight_too_long_is_fetched_again(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer.app.consumer_generation_id = 7
    consumer._committed_offset[RAW] = 480
    consumer._unacked_messages.add(held := message(RAW, 480, generation=7))
    ack(consumer, RAW, 481)
    assert consumer._new_offset(RAW) is None
    consumer._holes[RAW].since -= 1.0  # older than IN_FLIGHT_FACTOR * hole_seconds (0 here)
    broker = Broker({480, 481})
    broker.attach(consumer, monkeypatch)
    await consumer.resolve_holes()
    assert broker.seeks == [480]
    assert held in consumer._unacked_messages


async def test_a_record_from_an_earlier_generation_is_not_in_flight(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer.app.offset_hole_seconds = 1.0  # type: ignore[attr-defined]
    consumer.app.consumer_generation_id = 7
    consumer._committed_offset[RAW] = 480
    consumer._unacked_messages.add(message(RAW, 480, generation=6))  # dropped in a rebalance
    ack(consumer, RAW, 481)
    assert consumer._new_offset(RAW) is None
    consumer._holes[RAW].since -= 2.0
    broker = Broker({480, 481})
    broker.attach(consumer, monkeypatch)
    await consumer.resolve_holes()
    assert consumer.in_flight(RAW) == set()
    assert broker.seeks == [480]


async def test_seeking_to_the_committed_offsets_forgets_earlier_acks(
    consumer: GuardedConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def faust_perform_seek(self: GuardedConsumer) -> None:
        self._committed_offset[RAW] = 361

    monkeypatch.setattr(faust_aiokafka.Consumer, "perform_seek", faust_perform_seek)
    monkeypatch.setattr(consumer, "assignment", lambda: {RAW})
    # acked while the partition was being revoked, e.g. by a stream that skipped them
    ack(consumer, RAW, 361, 362, 363)
    consumer._gap[RAW].addi(364, 370)
    await consumer.perform_seek()
    assert consumer._new_offset(RAW) is None
    assert not consumer._acked_index[RAW] and not consumer._gap[RAW]


@pytest.mark.parametrize(
    ("start", "end", "existing", "expected"),
    [
        (480, 485, set(), [(480, 485)]),
        (480, 485, {480, 481, 482, 483, 484}, []),
        (480, 485, {482}, [(480, 482), (483, 485)]),
        (480, 485, {480, 499}, [(481, 485)]),
    ],
)
def test_missing_ranges(
    start: int, end: int, existing: set[int], expected: list[tuple[int, int]]
) -> None:
    assert missing_ranges(start, end, existing) == expected
