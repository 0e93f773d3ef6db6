"""The batch runner every stage uses: poison isolation, transient retries, fail-stop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
import structlog.testing
from elasticsearch import ConnectionError as ESConnectionError
from faust.types import ConsumerMessage, Message

from streams.core import batches
from streams.core.batches import Isolation, run_batch
from streams.core.faults import FatalError, classify


def _event(offset: int, value: bytes) -> Any:
    return SimpleNamespace(
        message=SimpleNamespace(topic="t.raw", partition=0, offset=offset, key=None, value=value)
    )


class Stage:
    """A stage's batch function: records what it processed; `poison` values raise `error`."""

    def __init__(self, error: BaseException, fail_times: int = 10**9) -> None:
        self.error = error
        self.fail_times = fail_times
        self.calls: list[list[bytes]] = []
        self.done: list[bytes] = []

    async def work(self, events: Sequence[Any]) -> None:
        values = [e.message.value for e in events]
        self.calls.append(values)
        if any(v.startswith(b"poison") for v in values) and self.fail_times > 0:
            self.fail_times -= 1
            raise self.error
        self.done += values


class Letters:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str, str, str]] = []

    async def __call__(self, event: Any, stage: str, reason: str, detail: str) -> None:
        self.sent.append((event.message.value, stage, reason, detail))


def _deep(depth: int) -> Any:
    return _deep(depth + 1)


def _recursion_error() -> RecursionError:
    try:
        _deep(0)
    except RecursionError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error", [_recursion_error(), ValueError("bad"), KeyError("x"), MemoryError()]
)
async def test_a_poison_message_is_dead_lettered_alone_and_the_batch_goes_on(
    error: BaseException,
) -> None:
    stage, letters = Stage(error), Letters()
    events = [_event(i, v) for i, v in enumerate([b"a", b"poison", b"b", b"c"])]
    await run_batch("enrich", stage.work, events, Isolation(letters, attempts=3, retry_base=0))
    assert stage.done == [b"a", b"b", b"c"]
    assert [(v, s, r) for v, s, r, _ in letters.sent] == [
        (b"poison", "enrich", "processing_failed")
    ]
    detail = letters.sent[0][3]
    assert detail.startswith(type(error).__name__) and "test_batches.py" in detail
    assert sum(call == [b"poison"] for call in stage.calls) == 3  # tried alone, 3 times


async def test_a_message_that_succeeds_alone_is_not_dead_lettered() -> None:
    stage, letters = Stage(ValueError("flaky"), fail_times=1), Letters()
    events = [_event(0, b"poison-once"), _event(1, b"a")]
    await run_batch("index", stage.work, events, Isolation(letters, attempts=3, retry_base=0))
    assert letters.sent == [] and stage.done == [b"poison-once", b"a"]


async def test_a_transient_error_retries_the_batch_and_dead_letters_nothing() -> None:
    stage, letters = Stage(ESConnectionError("node away"), fail_times=3), Letters()
    events = [_event(0, b"poison"), _event(1, b"a")]
    await run_batch("alert", stage.work, events, Isolation(letters, attempts=1, retry_base=0))
    assert letters.sent == []
    assert stage.calls == [[b"poison", b"a"]] * 4  # the whole batch, until the node is back


async def test_a_process_wide_error_stops_the_worker_before_the_ack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[str] = []

    class Stopped(Exception):
        """Stands in for os._exit, which would end the test run."""

    def fake_fail_stop(stage: str, events: Sequence[Any], why: str) -> None:
        stopped.append(why)
        raise Stopped

    monkeypatch.setattr(batches, "fail_stop", fake_fail_stop)
    stage, letters = Stage(FatalError("model missing")), Letters()
    with pytest.raises(Stopped):
        await run_batch("enrich", stage.work, [_event(0, b"poison")], Isolation(letters))
    assert letters.sent == [] and "model missing" in stopped[0]


async def test_a_shutdown_lets_the_batch_in_flight_finish() -> None:
    done = asyncio.Event()

    async def slow(events: Sequence[Any]) -> None:
        await asyncio.sleep(0.05)
        done.set()

    task = asyncio.ensure_future(run_batch("story", slow, [_event(0, b"a")], Isolation(Letters())))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done.is_set()


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (FatalError("x"), "fatal"),
        (ESConnectionError("x"), "transient"),
        (TimeoutError(), "transient"),
        (RecursionError(), "bug"),
        (ValueError("x"), "bug"),
    ],
)
def test_one_classifier_names_the_kind_of_fault(error: BaseException, fault: str) -> None:
    assert classify(error) == fault


class Consumer:
    """Records the final acks (what Faust's consumer marks as safe to commit)."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, message: Message) -> bool:
        self.acked.append(message.offset)
        return True


class Taken:
    """An event as the take loop hands it over: a real Faust consumer message, one reference (the
    stream's), acked by the take loop right after the agent body returns."""

    def __init__(self, consumer: Consumer, offset: int) -> None:
        self.consumer = consumer
        self.message = ConsumerMessage("t.raw", 0, offset, 0.0, 0, None, None, b"v", None)
        self.message.incref()

    def ack(self) -> bool:
        return self.message.ack(self.consumer)  # type: ignore[arg-type]


def _taken(consumer: Consumer, *offsets: int) -> list[Taken]:
    return [Taken(consumer, o) for o in offsets]


def _window(size: int) -> batches.Window:
    return batches.Window("enrich", size, lambda event: event.ack() and None)


async def _hand(window: batches.Window, events: Sequence[Taken], run: batches.Work) -> None:
    """What the agent does with one batch: hand it to the window; then, as the agent body
    returned, `take_events` acks the batch's events (its own reference)."""
    await window.hand(events, run)  # type: ignore[arg-type]
    for event in events:
        event.ack()


async def test_overlapping_batches_send_ack_and_finish_in_the_order_taken() -> None:
    consumer = Consumer()
    window = _window(2)
    log: list[str] = []
    first_may_send = asyncio.Event()

    def batch(name: str, work_done: asyncio.Event | None) -> batches.Work:
        async def run(events: Sequence[Any]) -> None:
            if work_done is not None:
                await work_done.wait()  # the slow middle (spaCy)
            log.append(f"{name} worked")
            await batches.wait_turn()
            log.append(f"{name} sent")

        return run

    first, second = _taken(consumer, 0, 1), _taken(consumer, 2, 3)
    await _hand(window, first, batch("first", first_may_send))
    await _hand(window, second, batch("second", None))
    await asyncio.sleep(0.01)
    # The second overlaps, but neither sends nor acks before the first; the take loop's
    # own acks did not make anything committable.
    assert log == ["second worked"]
    assert consumer.acked == []
    first_may_send.set()
    await window.drain()
    assert log == ["second worked", "first worked", "first sent", "second sent"]
    assert consumer.acked == [0, 1, 2, 3]


async def test_the_window_holds_at_most_its_size_and_takes_the_next_as_one_finishes() -> None:
    consumer = Consumer()
    window = _window(2)
    gates = [asyncio.Event() for _ in range(3)]
    started: list[int] = []

    def batch(i: int) -> batches.Work:
        async def run(events: Sequence[Any]) -> None:
            started.append(i)
            await gates[i].wait()

        return run

    await _hand(window, _taken(consumer, 0), batch(0))
    await _hand(window, _taken(consumer, 1), batch(1))
    third = asyncio.ensure_future(_hand(window, _taken(consumer, 2), batch(2)))
    await asyncio.sleep(0.01)
    assert started == [0, 1] and not third.done()  # a third batch waits for a place
    gates[0].set()
    await asyncio.wait_for(third, 1.0)
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2] and window.running == 2
    for gate in gates:
        gate.set()
    await window.drain()
    assert window.running == 0


async def test_one_batch_at_a_time_when_the_window_is_one() -> None:
    consumer = Consumer()
    window = _window(1)
    running: list[int] = []
    overlapped: list[bool] = []

    def batch(i: int) -> batches.Work:
        async def run(events: Sequence[Any]) -> None:
            overlapped.append(bool(running))
            running.append(i)
            await asyncio.sleep(0.01)
            running.remove(i)

        return run

    for i in range(4):
        await _hand(window, _taken(consumer, i), batch(i))
    await window.drain()
    assert overlapped == [False] * 4 and consumer.acked == [0, 1, 2, 3]


async def test_a_cancelled_batch_is_not_acked_and_lets_the_next_one_go() -> None:
    consumer = Consumer()
    window = _window(2)
    cancel = asyncio.Event()

    async def cancelled(events: Sequence[Any]) -> None:
        await cancel.wait()
        raise asyncio.CancelledError  # as when the loop is torn down under the batch

    async def after(events: Sequence[Any]) -> None:
        await batches.wait_turn()

    await _hand(window, _taken(consumer, 0), cancelled)
    await _hand(window, _taken(consumer, 1), after)
    await asyncio.sleep(0.01)
    assert consumer.acked == [] and window.running == 2
    cancel.set()
    await window.drain()
    # The cancelled batch's message stays unacked (redelivered after a restart); the guarded
    # consumer never commits past it.
    assert consumer.acked == [1]


async def test_outside_a_turn_nothing_waits() -> None:
    await asyncio.wait_for(batches.wait_turn(), 0.1)


async def test_a_batch_waiting_long_for_its_turn_is_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batches, "TURN_WARN_SECONDS", 0.02)
    consumer = Consumer()
    window = _window(2)
    release = asyncio.Event()

    async def slow(events: Sequence[Any]) -> None:
        await release.wait()

    async def waiting(events: Sequence[Any]) -> None:
        await batches.wait_turn()

    await _hand(window, _taken(consumer, 0), slow)
    with structlog.testing.capture_logs() as logs:
        await _hand(window, _taken(consumer, 1), waiting)
        await asyncio.sleep(0.07)
        release.set()
        await window.drain()
    waits = [e for e in logs if e["event"] == "batch.turn_waiting"]
    assert waits and waits[0]["log_level"] == "warning"
    assert [e["seconds"] for e in waits] == sorted(e["seconds"] for e in waits)
    assert consumer.acked == [0, 1]
