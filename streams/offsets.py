"""Offset commits that never pass a record the agents did not finish.

Faust commits, per partition, the run of acked offsets that follows the committed one. Its
bookkeeping (faust-streaming 0.15, `faust/transport/consumer.py` and `faust/streams.py`)
can commit records that never reached an agent. Found in soak runs (SIGKILL every 20 s,
dynamic membership), each time as runs of raw offsets committed with no enriched output:

- **Gaps it assumes.** The fetch loop treats any jump in a partition's offsets as records
  that do not exist (transaction markers, compaction) and `_new_offset` counts them as done,
  together with the record that follows the jump. Records that were fetched and then
  dropped (the stream buffers cleared and the partition sought back during a restarted
  worker's recovery or a rebalance) look exactly like such a jump: raw offsets 832-844 of
  both partitions were committed this way right after a restart, never enriched.
- **Skipped messages acked.** A stream skips a message fetched in an earlier consumer
  generation and acks it unprocessed (`Stream._py_aiter`: "Skipping message ...").
- **Off by one.** A run of acked offsets may start one *after* the committed offset, and
  with the committed offset unknown (it is forgotten first thing in a rebalance) any run
  is committed.

This consumer replaces those decisions:

- commit only a contiguous run of acked offsets that starts *at* the committed offset
  (`next_commit`), and nothing while the committed offset is unknown; after each seek, a
  partition without a commit starts at the broker's reset position, so fresh groups commit;
- acks of messages from an earlier generation are not counted (the partition was sought
  back, so those records come again), and a seek forgets earlier acks;
- jumps seen by the fetch loop are not trusted. A *hole* (later records done, the one at
  the committed offset not) that lasts `hole_seconds` is checked against the broker by a
  separate consumer: offsets with no record are credited as a gap; if the record exists the
  partition is sought back to it and it is delivered again (at-least-once; `_id` = article
  id makes the repeat harmless). Either way the hole is logged and counted;
- a hole whose first record is *in flight* (delivered to a stream in this generation and
  not yet acked: a stage that overlaps batches has it in hand) is waited for, up to
  `IN_FLIGHT_FACTOR` times `hole_seconds`, and then treated as above. The bound is short
  (30 s by default, some ten times a slow batch): a record counted in flight that no batch
  holds any more (dropped by Faust in a way this consumer does not see) costs one
  harmless redelivery after that wait, never a stalled partition.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiokafka  # type: ignore[import-untyped]
import structlog
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from mode import Service

from streams import metrics

log = structlog.get_logger(__name__)

DEFAULT_HOLE_SECONDS = 10.0
IN_FLIGHT_FACTOR = 3
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CommitDecision:
    """What may be committed for one partition."""

    offset: int | None
    """The new committed offset (the next record to read), or None: nothing to commit."""
    hole: tuple[int, int] | None = None
    """``[start, end)``: the committed offset is not done while later ones up to `end` are."""


def next_commit(
    committed: int, done: Iterable[int], gaps: Sequence[tuple[int, int]]
) -> CommitDecision:
    """The offset to commit given the finished offsets and the verified gaps.

    `committed` is Kafka's committed offset: the next record to process. `gaps` are
    half-open ranges of offsets known to hold no record; they count as done. The result
    commits the contiguous run that starts exactly at `committed`; if the record there is
    not done while later ones are, it reports the hole, up to just after the last one done.
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
    later = [offset for offset in finished if offset > committed]
    if later:
        return CommitDecision(None, hole=(committed, max(later) + 1))
    return CommitDecision(None)


def missing_ranges(start: int, end: int, existing: Iterable[int]) -> list[tuple[int, int]]:
    """The half-open ranges within ``[start, end)`` that hold none of `existing`."""
    present = sorted(o for o in set(existing) if start <= o < end)
    ranges, at = [], start
    for offset in [*present, end]:
        if offset > at:
            ranges.append((at, offset))
        at = offset + 1
    return ranges


@dataclass
class _Hole:
    start: int
    end: int
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
                start, end = decision.hole
                hole = self._holes.get(tp)
                if hole is None or hole.start != start:
                    self._holes[tp] = _Hole(start, end, time.monotonic())
                else:
                    hole.end = end
            return None
        self._holes.pop(tp, None)
        new = decision.offset
        committed_now = [offset for offset in acked if offset < new]
        acked[:] = sorted(offset for offset in acked if offset >= new)
        self._acked_index[tp].difference_update(committed_now)
        gap_tree.chop(0, new)
        return new

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # Faust calls this for every jump its fetch loop sees and would count the offsets
        # as done. A jump is also what dropped records look like, so nothing is assumed
        # here: a jump shows up as a hole, and `resolve_hole` asks the broker.
        return None

    def ack(self, message: Message) -> bool:
        # A message fetched before the last rebalance is not counted: Faust's stream skips
        # such messages unprocessed and acks them. Its partition was sought back to the
        # committed offset, so the record comes again in this generation.
        generation = self.app.consumer_generation_id
        if message.generation_id is not None and message.generation_id != generation:
            with ack_lock:
                if not message.acked:
                    message.acked = True
                    self._unacked_messages.discard(message)
                    metrics.STALE_ACKS.labels(topic=message.topic).inc()
                    log.info(
                        "offsets.stale_ack",
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                    )
            return False
        return bool(super().ack(message))

    async def perform_seek(self) -> None:
        # Consumption starts again at the committed offsets: what was acked before belongs
        # to records that are fetched again.
        for tp in self.assignment():
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
            self._holes.pop(tp, None)
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
            if tp not in self.assignment() or self._committed_offset[tp] != hole.start:
                self._holes.pop(tp, None)
                continue
            age = now - hole.since
            if age < self.hole_seconds:
                continue
            if hole.start in self.in_flight(tp):
                if age < IN_FLIGHT_FACTOR * self.hole_seconds:
                    continue  # a stage has the record in hand
                log.warning(
                    "offsets.in_flight_too_long",
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=hole.start,
                    seconds=round(age, 1),
                )
            self._holes.pop(tp, None)
            await self.resolve_hole(tp, hole.start, hole.end)

    def in_flight(self, tp: TP) -> set[int]:
        """Offsets of `tp` delivered to a stream in this generation and not acked yet."""
        generation = self.app.consumer_generation_id
        return {
            m.offset
            for m in list(self._unacked_messages)
            if m.tp == tp
            and not m.acked
            and (m.generation_id is None or m.generation_id == generation)
        }

    async def resolve_hole(self, tp: TP, start: int, end: int) -> None:
        """Credit offsets of ``[start, end)`` that hold no record; fetch skipped records again."""
        try:
            existing = await self.offsets_between(tp, start, end)
        except Exception as exc:  # the next commit attempt finds the hole again
            log.warning(
                "offsets.probe_failed", topic=tp.topic, partition=tp.partition, error=str(exc)
            )
            return
        for begin, stop in missing_ranges(start, end, existing):
            self._gap[tp].addi(begin, stop)
        skipped = existing - self._acked_index[tp]
        if skipped:
            first = min(skipped)
            metrics.OFFSET_HOLES.labels(topic=tp.topic).inc()
            log.warning(
                "offsets.hole",
                topic=tp.topic,
                partition=tp.partition,
                offset=first,
                records=len(skipped),
                action="seek back and deliver again",
            )
            await self.seek(tp, first)
        else:
            log.info("offsets.gap", topic=tp.topic, partition=tp.partition, start=start, end=end)

    async def offsets_between(self, tp: TP, start: int, end: int) -> set[int]:
        """Offsets of the records in ``[start, end)``, read by a separate consumer."""
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
            probe.seek(partition, start)
            found: set[int] = set()
            deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                if await probe.position(partition) >= end:
                    return found
                batch = await probe.getmany(partition, timeout_ms=500, max_records=500)
                found.update(r.offset for r in batch.get(partition, ()) if r.offset < end)
            raise TimeoutError(f"reading offsets {start}-{end} of {tp.topic}[{tp.partition}]")
        finally:
            await probe.stop()


class GuardedTransport(faust_aiokafka.Transport):
    """The aiokafka transport with `GuardedConsumer`."""

    Consumer = GuardedConsumer
