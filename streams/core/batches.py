"""The one batch runner of every stage (enrich, story, index, alert): durable before the ack,
poison messages isolated, fail-stop only for what is process-wide.

`take_events` acks a batch when the agent body returns *or raises*, and Faust would then commit
offsets of messages that had no effect. So a stage's batch function handles what it can
itself (data errors -> dead letters, transient I/O -> retries with backoff), and whatever
escapes it is classified here (`streams.core.faults.classify`):

- `transient` (an outage that escaped a stage's own retries): the whole batch runs again with
  backoff, as long as it takes; nothing is dead-lettered, nothing new is consumed;
- `bug` (neither data nor transient, e.g. `RecursionError` from one hostile message): the
  batch's messages run again one at a time; a message that fails alone `poison_attempts`
  times is dead-lettered as `processing_failed` with the exception type, a short traceback
  and its original bytes, and the stage goes on. Good messages of the batch are processed;
- `fatal` (`streams.core.faults.FatalError`: the model cannot load, configuration is wrong): the
  worker stops at once, before the ack (fail-stop, exit code 70), and the batch is redelivered
  after the restart;
- a graceful shutdown lets the batch in flight finish, within a bound, else fail-stops.

Running a message again is safe in every stage: outputs are keyed by article id (Kafka
records and Elasticsearch `_id` overwrite), the story table recognises a redelivered article,
and alert ids are create-only.

Overlap (`Window`): a stage holds up to `Batching.overlap` batches at once, the enrich stage
by default one more than its spaCy processes: one agent takes the batches, in partition
order, and runs each in a task of its own, so the next batch is taken and decoded while
spaCy works on the current one and the one before is sent. Each batch keeps its messages
past the take loop's own ack (a reference of its own on each message) and acks them itself
once its effect is durable and every batch taken before it has finished; it sends its
output records (`wait_turn`, called by `Stage.send`) only after the batch before it has
finished. So batches send, ack and commit in the order taken, and records keep their order
within a partition. A batch still running when the worker stops is waited for, within
`SHUTDOWN_GRACE_SECONDS`, else the worker fail-stops before its ack.
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from faust.types import EventT

from streams import metrics
from streams.core.faults import classify
from streams.core.retry import RetryPolicy, retry

log = structlog.get_logger(__name__)

EXIT_FAIL_STOP = 70
SHUTDOWN_GRACE_SECONDS = 30.0
TRACEBACK_CHARS = 1500
TURN_WARN_SECONDS = 30.0

Work = Callable[[Sequence[EventT[bytes]]], Awaitable[None]]
DeadLetterSink = Callable[[EventT[bytes], str, str, str], Awaitable[None]]
"""`(event, stage, reason, detail)`: sends one dead letter and returns when it is durable."""


@dataclass(frozen=True)
class Isolation:
    """How a stage isolates a poison message: where dead letters go, how often to try."""

    dead_letter: DeadLetterSink
    attempts: int = 3
    """Times a message is run alone before it is dead-lettered as `processing_failed`."""
    retry_base: float = 0.2
    """First backoff, in seconds, between those attempts and between transient retries."""
    stop: Callable[[str, Sequence[EventT[bytes]], str], None] | None = None
    """What a fatal error does instead of the worker's fail-stop (a batch job raises)."""


async def run_batch(
    stage: str, work: Work, events: Sequence[EventT[bytes]], isolation: Isolation
) -> None:
    """Run one batch so that its offsets are acked only once every message had its effect
    (processed, or dead-lettered), under the policy of the module docstring."""
    task = asyncio.ensure_future(_process(stage, work, events, isolation))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        try:
            await asyncio.wait_for(task, timeout=SHUTDOWN_GRACE_SECONDS)
        except BaseException:
            fail_stop(stage, events, "shutdown before the batch was durable")
        raise


async def _process(
    stage: str, work: Work, events: Sequence[EventT[bytes]], isolation: Isolation
) -> None:
    outage = RetryPolicy(base=isolation.retry_base)
    try:
        await retry("batch", lambda: work(events), stage=stage, policy=outage)
        return
    except Exception as exc:
        if classify(exc) == "fatal":
            log.critical("agent.fatal", stage=stage, error=_describe(exc))
            (isolation.stop or fail_stop)(stage, events, f"process-wide error: {_describe(exc)}")
        log.error("agent.batch_failed", stage=stage, size=len(events), error=_describe(exc))
        metrics.ISOLATED_BATCHES.labels(stage=stage).inc()
    for event in events:
        await _alone(stage, work, event, isolation)


async def _alone(stage: str, work: Work, event: EventT[bytes], isolation: Isolation) -> None:
    """One message on its own: outages are waited out (never a dead letter); a message that
    still fails after `isolation.attempts` tries is dead-lettered as `processing_failed`."""
    outage = RetryPolicy(base=isolation.retry_base)
    tries = RetryPolicy(base=isolation.retry_base, attempts=isolation.attempts)

    async def once() -> None:
        await retry("message", lambda: work([event]), stage=stage, policy=outage)

    try:
        await retry(
            "poison", once, stage=stage, policy=tries, retryable=lambda e: classify(e) != "fatal"
        )
    except Exception as exc:
        if classify(exc) == "fatal":
            (isolation.stop or fail_stop)(stage, [event], f"process-wide error: {_describe(exc)}")
        metrics.POISONED.labels(stage=stage).inc()
        await isolation.dead_letter(event, stage, "processing_failed", _report(exc))


@dataclass
class Turn:
    """One batch's place in its stage's order."""

    previous: asyncio.Future[None] | None
    finished: asyncio.Future[None]

    async def wait(self) -> None:
        """Return once the batch taken before this one has finished (a batch that waits
        long for its turn is logged every `TURN_WARN_SECONDS`)."""
        waited = 0.0
        while self.previous is not None and not self.previous.done():
            try:
                await asyncio.wait_for(asyncio.shield(self.previous), TURN_WARN_SECONDS)
            except TimeoutError:
                waited += TURN_WARN_SECONDS
                log.warning("batch.turn_waiting", seconds=waited)

    def finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


_TURN: ContextVar[Turn | None] = ContextVar("wirewatch_batch_turn", default=None)


class InOrder:
    """Overlapping batches of one stage finish in the order they were taken."""

    def __init__(self) -> None:
        self._last: asyncio.Future[None] | None = None

    def take(self) -> Turn:
        """The next batch's turn: it waits for the turn taken before it."""
        turn = Turn(self._last, asyncio.get_running_loop().create_future())
        self._last = turn.finished
        return turn


Ack = Callable[[EventT[bytes]], None]
"""Acks one event of a batch whose effect is durable (the stream's final ack)."""


class Window:
    """Up to `size` batches of one stage in hand at once, each run in its own task under its
    turn (`InOrder`), acked by itself once durable and after the batch taken before it."""

    def __init__(self, stage: str, size: int, ack: Ack) -> None:
        self.stage = stage
        self._slots = asyncio.Semaphore(size)
        self._order = InOrder()
        self._ack = ack
        self._running: set[asyncio.Future[None]] = set()

    async def hand(self, events: Sequence[EventT[bytes]], run: Work) -> None:
        """Keep `events` past the take loop's ack, wait for a free place in the window and
        start the batch; returns once it runs, so the caller can take the next one."""
        for event in events:
            event.message.incref()  # acked by `_run` once durable, not by the take loop
        await self._slots.acquire()
        turn = self._order.take()
        task = asyncio.ensure_future(self._run(events, run, turn))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, events: Sequence[EventT[bytes]], run: Work, turn: Turn) -> None:
        token = _TURN.set(turn)
        try:
            await run(events)
            await turn.wait()
            for event in events:
                self._ack(event)
        except asyncio.CancelledError:
            raise  # not acked: redelivered after the restart
        except BaseException as exc:
            # The batch runner handles every fault of a batch; what escapes it (a dead
            # letter that cannot be sent) stops the worker before the ack.
            log.critical("agent.batch_escaped", stage=self.stage, error=_describe(exc))
            fail_stop(self.stage, events, f"escaped the batch runner: {_describe(exc)}")
        finally:
            turn.finish()
            _TURN.reset(token)
            self._slots.release()

    @property
    def running(self) -> int:
        return len(self._running)

    async def drain(self) -> None:
        """Wait for the batches in hand to finish (a graceful stop), within
        `SHUTDOWN_GRACE_SECONDS`; fail-stop if one does not."""
        pending = set(self._running)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
        if late:
            log.critical("agent.shutdown_late", stage=self.stage, batches=len(late))
            logging.shutdown()
            os._exit(EXIT_FAIL_STOP)


async def wait_turn() -> None:
    """Wait until the batch taken before the current one has finished (at once outside an
    `InOrder` turn, or when the stage runs one batch at a time)."""
    turn = _TURN.get()
    if turn is not None:
        await turn.wait()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _report(exc: BaseException) -> str:
    """Exception type and message, then the innermost frames of its traceback, shortened."""
    frames = traceback.format_tb(exc.__traceback__)
    tail = "".join(frames[-4:])
    return f"{_describe(exc)}\n{tail[-TRACEBACK_CHARS:]}"


def fail_stop(stage: str, events: Sequence[EventT[bytes]], why: str) -> None:
    """Stop the process now, before the ack: the batch is redelivered after the restart."""
    first = events[0].message
    log.critical(
        "agent.fail_stop",
        stage=stage,
        why=why,
        topic=first.topic,
        partition=first.partition,
        offset=first.offset,
        batch=len(events),
    )
    logging.shutdown()
    os._exit(EXIT_FAIL_STOP)
