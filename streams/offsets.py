"""Offset commits that never pass a record the agents did not finish.

Faust commits, per partition, the run of acked offsets that follows the committed one. Two
details of its bookkeeping (faust-streaming 0.15, `faust/transport/consumer.py`,
`Consumer._new_offset`) can commit past a record that was never processed:

- it accepts a run that starts one offset *after* the committed offset (``min(acked) -
  committed > 1`` is the only check), so the record at the committed offset may be skipped;
- it skips that check altogether when it does not know the committed offset, which is the
  case during a rebalance: `on_partitions_revoked` forgets the committed offsets first and
  then waits for the streams to finish (`wait_empty`) and commits what they acked. Records
  dropped from the agents' buffers by that same rebalance (`flow_control.clear()`) are then
  committed over by the acks of later records.

A dynamic-membership soak run lost 9 of 3,000 articles that way (two runs of raw offsets
committed with no output), which is why this consumer replaces that one method:

- commit only a contiguous run that starts *at* the committed offset (`next_commit`);
- no commit while the committed offset is unknown; after each seek the position of a
  partition without a commit is read from the broker, so fresh groups commit too;
- a *hole* (later records done, the one at the committed offset neither done nor in flight)
  is resolved after `hole_seconds`: if the record exists the consumer seeks back to it and
  the record is delivered again (at-least-once; `_id` = article id makes that harmless); if
  it does not (a transaction marker, a compacted or expired record) the missing range is
  credited as a gap, like Faust's own gap tracking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiokafka  # type: ignore[import-untyped]
import faust
import structlog
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import TransportT
from mode import Service

from streams import metrics

log = structlog.get_logger(__name__)

DEFAULT_HOLE_SECONDS = 10.0
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CommitDecision:
    """What may be committed for one partition."""

    offset: int | None
    """The new committed offset (the next record to read), or None: nothing to commit."""
    hole: int | None = None
    """The committed offset when records after it are done but it is not: a hole."""


def next_commit(
    committed: int, done: Iterable[int], gaps: Sequence[tuple[int, int]]
) -> CommitDecision:
    """The offset to commit after `committed` given the finished offsets and known gaps.

    `committed` is Kafka's committed offset: the next record to process. `gaps` are
    half-open ranges of offsets that hold no record (seen missing by the fetcher); they
    count as done. The result commits the longest contiguous run that starts exactly at
    `committed`; if that record is not done while later ones are, it reports a hole.
    """
    finished = {offset for offset in done if offset >= committed}
    for begin, end in gaps:
        if end > committed:
            finished.update(range(max(begin, committed), end))
    frontier = committed
    while frontier in finished:
        frontier += 1
    if frontier > committed:
        return CommitDecision(frontier)
    if any(offset > committed for offset in finished):
        return CommitDecision(None, hole=committed)
    return CommitDecision(None)


@dataclass
class _Hole:
    offset: int
    since: float


class GuardedConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, committing only what `next_commit` allows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._holes: dict[TP, _Hole] = {}
        super().__init__(*args, **kwargs)

    @property
    def hole_seconds(self) -> float:
        return float(getattr(self.app, "offset_hole_seconds", DEFAULT_HOLE_SECONDS))

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        committed = self._committed_offset[tp]
        if committed is None:
            # Revoking, or assigned but not yet positioned: where the finished run has to
            # start is unknown, so nothing is committed (the records are redelivered).
            return None
        gap_tree = self._gap[tp]
        decision = next_commit(committed, acked, [(iv.begin, iv.end) for iv in gap_tree])
        if decision.offset is None:
            if decision.hole is not None:
                hole = self._holes.get(tp)
                if hole is None or hole.offset != decision.hole:
                    self._holes[tp] = _Hole(decision.hole, time.monotonic())
            return None
        self._holes.pop(tp, None)
        new = decision.offset
        committed_now = [offset for offset in acked if offset < new]
        acked[:] = sorted(offset for offset in acked if offset >= new)
        self._acked_index[tp].difference_update(committed_now)
        gap_tree.chop(0, new)
        return new

    async def perform_seek(self) -> None:
        await super().perform_seek()
        # Faust leaves the committed offset unknown for partitions without a commit (and
        # for a committed offset of 0). Read where consumption starts instead.
        unknown = [
            tp
            for tp in self.assignment()
            if self._committed_offset[tp] is None and self.app.topics.acks_enabled_for(tp.topic)
        ]
        if not unknown:
            return
        if self.app.conf.consumer_auto_offset_reset == "latest":
            starts = await self.highwaters(*unknown)
        else:
            starts = await self.earliest_offsets(*unknown)
        for tp, start in starts.items():
            if start is not None and self._committed_offset[tp] is None:
                self._committed_offset[tp] = start

    @Service.timer(2.0)
    async def _hole_timer(self) -> None:
        await self.resolve_holes()

    async def resolve_holes(self) -> None:
        """Resolve the holes that outlived `hole_seconds`."""
        now = time.monotonic()
        for tp, hole in list(self._holes.items()):
            if tp not in self.assignment() or self._committed_offset[tp] != hole.offset:
                self._holes.pop(tp, None)
                continue
            if self._in_flight(tp, hole.offset):
                hole.since = now
                continue
            if now - hole.since < self.hole_seconds:
                continue
            self._holes.pop(tp, None)
            await self.resolve_hole(tp, hole.offset)

    def _in_flight(self, tp: TP, offset: int) -> bool:
        return any(
            m.tp == tp and m.offset == offset and not m.acked for m in list(self._unacked_messages)
        )

    async def resolve_hole(self, tp: TP, offset: int) -> None:
        """Seek back to a record that was skipped, or credit offsets that hold no record."""
        try:
            first = await self.first_offset_from(tp, offset)
        except Exception as exc:  # the next commit attempt finds the hole again
            log.warning(
                "offsets.probe_failed", topic=tp.topic, partition=tp.partition, error=str(exc)
            )
            return
        if first is None:
            return
        if first > offset:
            log.info("offsets.gap", topic=tp.topic, partition=tp.partition, start=offset, end=first)
            self._gap[tp].addi(offset, first)
            return
        metrics.OFFSET_HOLES.labels(topic=tp.topic).inc()
        log.warning(
            "offsets.hole",
            topic=tp.topic,
            partition=tp.partition,
            offset=offset,
            action="seek back and redeliver",
        )
        await self.seek(tp, offset)

    async def first_offset_from(self, tp: TP, offset: int) -> int | None:
        """The offset of the first record at or after `offset`, read by a separate consumer."""
        conf = self.app.conf
        transport = cast(faust_aiokafka.Transport, self.transport)
        probe = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=faust_aiokafka.server_list(transport.url, transport.default_port),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed" if self.in_transaction else "read_uncommitted",
            **faust_aiokafka.credentials_to_aiokafka_auth(
                conf.broker_credentials, conf.ssl_context
            ),
        )
        await probe.start()
        try:
            partition = aiokafka.TopicPartition(tp.topic, tp.partition)
            probe.assign([partition])
            probe.seek(partition, offset)
            deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                batch = await probe.getmany(partition, timeout_ms=1000, max_records=1)
                records = batch.get(partition)
                if records:
                    return int(records[0].offset)
                await asyncio.sleep(0)
            return None
        finally:
            await probe.stop()


class GuardedTransport(faust_aiokafka.Transport):
    """The aiokafka transport with `GuardedConsumer`."""

    Consumer = GuardedConsumer


class WirewatchApp(faust.App):
    """The Faust app class of the workers: Kafka brokers are read through `GuardedConsumer`."""

    offset_hole_seconds: float = DEFAULT_HOLE_SECONDS

    def _new_transport(self) -> TransportT:
        if self.conf.broker_consumer[0].scheme in {"kafka", "aiokafka"}:
            return GuardedTransport(self.conf.broker_consumer, self)
        return super()._new_transport()
