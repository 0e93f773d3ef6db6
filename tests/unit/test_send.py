"""The one durable send (`streams.core.send.send_durably`) and the one retry loop
(`streams.core.retry.retry`), with a tiny scripted producer and no broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from aiokafka import errors as aiokafka_errors
from elasticsearch import ConnectionError as ESConnectionError
from kafka import errors as kafka_errors

from processors.errors import InvalidArticle
from streams.core import retry as retry_module
from streams.core import send as send_module
from streams.core.faults import FatalError, RetryLater, UndeliverableRecord
from streams.core.retry import RetryPolicy, backoff, retry
from streams.core.send import Record, Undelivered, send_durably

TOPIC = "t.out"

Outcome = BaseException | None
"""What the broker answers for one attempt of one record: an error, or None (stored)."""


class ScriptedSender:
    """A `Sender` whose broker answers each record's attempts from a script (per key): an
    error to fail the ack with, or None to store it. Unscripted attempts succeed. Keys in
    `refuse_enqueue` make `enqueue` itself raise (the producer refuses to take the record)."""

    def __init__(
        self,
        script: dict[bytes, list[Outcome]] | None = None,
        refuse_enqueue: dict[bytes, list[Outcome]] | None = None,
    ) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.refuse_enqueue = {k: list(v) for k, v in (refuse_enqueue or {}).items()}
        self.calls: list[tuple[str, bytes | None, bytes]] = []
        self.stored: list[tuple[str, bytes | None, bytes]] = []

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[object]:
        self.calls.append((topic, key, value))
        assert key is not None
        early = self.refuse_enqueue.get(key)
        if early:
            error = early.pop(0)
            if error is not None:
                raise error
        outcomes = self.script.get(key)
        error = outcomes.pop(0) if outcomes else None
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if error is not None:
            fut.set_exception(error)
        else:
            self.stored.append((topic, key, value))
            fut.set_result(None)
        return fut

    def keys_sent(self) -> list[bytes | None]:
        return [k for _, k, _ in self.calls]

    def keys_stored(self) -> list[bytes | None]:
        return [k for _, k, _ in self.stored]


def _records(*keys: str) -> list[Record]:
    return [Record(k.encode(), f"value of {k}".encode()) for k in keys]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float, float]]:
    """Backoffs are recorded and take no time."""
    seen: list[tuple[int, float, float]] = []

    def fake(attempt: int, base: float = 0.25, cap: float = 30.0) -> float:
        seen.append((attempt, base, cap))
        return 0.0

    monkeypatch.setattr(retry_module, "backoff", fake)
    return seen


# ---------------------------------------------------------------------- send_durably


async def test_every_record_is_sent_once_when_the_broker_takes_them() -> None:
    sender = ScriptedSender()
    refused = await send_durably(sender, TOPIC, _records("a", "b", "c"), stage="enrich")
    assert refused == []
    assert sender.stored == [
        (TOPIC, b"a", b"value of a"),
        (TOPIC, b"b", b"value of b"),
        (TOPIC, b"c", b"value of c"),
    ]
    assert len(sender.calls) == 3


async def test_nothing_to_send_sends_nothing() -> None:
    sender = ScriptedSender()
    assert await send_durably(sender, TOPIC, [], stage="enrich") == []
    assert sender.calls == []


@pytest.mark.parametrize(
    "error",
    [
        aiokafka_errors.KafkaConnectionError(),
        aiokafka_errors.RequestTimedOutError(),
        aiokafka_errors.NotLeaderForPartitionError(),
        aiokafka_errors.KafkaTimeoutError(),
        kafka_errors.KafkaTimeoutError(),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__module__.split(".")[0] + "." + type(e).__name__,
)
async def test_only_the_records_that_failed_transiently_are_issued_again(
    error: BaseException, no_backoff: list[tuple[int, float, float]]
) -> None:
    sender = ScriptedSender(script={b"b": [error, error]})
    refused = await send_durably(sender, TOPIC, _records("a", "b", "c"), stage="story")
    assert refused == []
    assert sender.keys_sent() == [b"a", b"b", b"c", b"b", b"b"]
    assert sorted(sender.keys_stored()) == [b"a", b"b", b"c"]  # each exactly once
    assert [attempt for attempt, _, _ in no_backoff] == [1, 2]


async def test_a_record_the_producer_refuses_to_take_for_now_is_issued_again() -> None:
    """`enqueue` itself raising (the producer's buffer is full, the broker is away) is as
    transient as a failed ack."""
    sender = ScriptedSender(refuse_enqueue={b"a": [aiokafka_errors.KafkaConnectionError()]})
    refused = await send_durably(sender, TOPIC, _records("a", "b"), stage="index")
    assert refused == []
    assert sender.keys_sent() == [b"a", b"b", b"a"]
    assert sorted(sender.keys_stored()) == [b"a", b"b"]


@pytest.mark.parametrize(
    "error",
    [
        aiokafka_errors.MessageSizeTooLargeError(),
        aiokafka_errors.RecordListTooLargeError(),
        kafka_errors.MessageSizeTooLargeError(),
        kafka_errors.RecordListTooLargeError(),
        UndeliverableRecord("too large"),
    ],
    ids=lambda e: type(e).__module__.split(".")[0] + "." + type(e).__name__,
)
async def test_a_record_refused_for_good_comes_back_undelivered_and_is_not_retried(
    error: BaseException,
) -> None:
    records = _records("a", "big", "c")
    sender = ScriptedSender(script={b"big": [error]})
    refused = await send_durably(sender, TOPIC, records, stage="alert")
    assert refused == [Undelivered(records[1], error)]
    assert refused[0].record is records[1]  # the caller finds its message by identity
    assert sender.keys_sent() == [b"a", b"big", b"c"]  # not sent again
    assert sender.keys_stored() == [b"a", b"c"]


async def test_a_record_refused_for_good_by_enqueue_comes_back_undelivered() -> None:
    records = _records("a", "big")
    error = kafka_errors.MessageSizeTooLargeError()
    sender = ScriptedSender(refuse_enqueue={b"big": [error]})
    refused = await send_durably(sender, TOPIC, records, stage="enrich")
    assert refused == [Undelivered(records[1], error)]
    assert sender.keys_sent() == [b"a", b"big"] and sender.keys_stored() == [b"a"]


async def test_a_record_that_fails_transiently_then_for_good_is_undelivered_once() -> None:
    records = _records("a", "b")
    too_large = aiokafka_errors.MessageSizeTooLargeError()
    sender = ScriptedSender(
        script={b"a": [aiokafka_errors.KafkaConnectionError(), too_large], b"b": [None]}
    )
    refused = await send_durably(sender, TOPIC, records, stage="story")
    assert refused == [Undelivered(records[0], too_large)]
    assert sender.keys_sent() == [b"a", b"b", b"a"]
    assert sender.keys_stored() == [b"b"]


@pytest.mark.parametrize(
    "error",
    [
        aiokafka_errors.TopicAuthorizationFailedError(),
        aiokafka_errors.ClusterAuthorizationFailedError(),
        aiokafka_errors.AuthenticationFailedError(),
        kafka_errors.TopicAuthorizationFailedError(),
        kafka_errors.SaslAuthenticationFailedError(),
        FatalError("layout"),
    ],
    ids=lambda e: type(e).__module__.split(".")[0] + "." + type(e).__name__,
)
async def test_a_fatal_refusal_raises_at_once(error: BaseException) -> None:
    sender = ScriptedSender(script={b"a": [error]})
    with pytest.raises(type(error)) as raised:
        await send_durably(sender, TOPIC, _records("a", "b"), stage="index")
    assert raised.value is error
    assert sender.keys_sent() == [b"a", b"b"]  # not retried


async def test_a_fatal_refusal_by_enqueue_raises_at_once() -> None:
    error = aiokafka_errors.TopicAuthorizationFailedError()
    sender = ScriptedSender(refuse_enqueue={b"a": [error]})
    with pytest.raises(aiokafka_errors.TopicAuthorizationFailedError):
        await send_durably(sender, TOPIC, _records("a", "b"), stage="index")
    assert sender.keys_sent() == [b"a"]


@pytest.mark.parametrize("error", [ValueError("bug"), KeyError("x"), RecursionError()])
async def test_an_unclassified_error_raises_at_once(error: BaseException) -> None:
    sender = ScriptedSender(script={b"b": [error]})
    with pytest.raises(type(error)):
        await send_durably(sender, TOPIC, _records("a", "b"), stage="alert")
    assert sender.keys_sent() == [b"a", b"b"]


async def test_the_policy_bounds_the_attempts_and_the_last_broker_error_is_kept() -> None:
    down = aiokafka_errors.KafkaConnectionError()
    sender = ScriptedSender(script={b"a": [down] * 10})
    with pytest.raises(RetryLater) as raised:
        await send_durably(
            sender, TOPIC, _records("a", "b"), stage="enrich", policy=RetryPolicy(attempts=3)
        )
    assert raised.value.__cause__ is down
    assert sender.keys_sent() == [b"a", b"b", b"a", b"a"]
    assert sender.keys_stored() == [b"b"]


async def test_the_policy_backoff_is_used_between_attempts(
    no_backoff: list[tuple[int, float, float]],
) -> None:
    sender = ScriptedSender(script={b"a": [aiokafka_errors.RequestTimedOutError()] * 2})
    policy = RetryPolicy(base=0.125, cap=2.0)
    await send_durably(sender, TOPIC, _records("a"), stage="enrich", policy=policy)
    assert no_backoff == [(1, 0.125, 2.0), (2, 0.125, 2.0)]


# ---------------------------------------------------------------------- retry


class Flaky:
    """A call that raises the given errors in turn, then returns `result`."""

    def __init__(self, *errors: BaseException, result: str = "done") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.mark.parametrize(
    "error",
    [
        ESConnectionError("node away"),
        aiokafka_errors.KafkaConnectionError(),
        RetryLater("part of it"),
        TimeoutError(),
        ConnectionRefusedError(),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_transient_fault_is_retried_until_the_call_returns(error: BaseException) -> None:
    call, sleeps = Flaky(error, error), Sleeps()
    assert await retry("x", call, stage="index", sleep=sleeps) == "done"
    assert call.calls == 3 and len(sleeps.delays) == 2


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bug"),
        FatalError("model"),
        InvalidArticle("missing_text"),
        aiokafka_errors.MessageSizeTooLargeError(),
        aiokafka_errors.TopicAuthorizationFailedError(),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_fault_that_is_not_transient_propagates_at_once(error: BaseException) -> None:
    call, sleeps, retried = Flaky(error), Sleeps(), []
    with pytest.raises(type(error)) as raised:
        await retry("x", call, stage="index", sleep=sleeps, on_retry=lambda n, e: retried.append(n))
    assert raised.value is error
    assert call.calls == 1 and sleeps.delays == [] and retried == []


async def test_a_cancellation_is_never_retried() -> None:
    call, sleeps = Flaky(asyncio.CancelledError()), Sleeps()
    with pytest.raises(asyncio.CancelledError):
        await retry("x", call, stage="index", sleep=sleeps)
    assert call.calls == 1 and sleeps.delays == []


@pytest.mark.parametrize("attempts", [1, 2, 4])
async def test_the_attempts_limit_raises_the_last_error(attempts: int) -> None:
    errors = [ESConnectionError(f"try {i}") for i in range(10)]
    call, sleeps = Flaky(*errors), Sleeps()
    with pytest.raises(ESConnectionError) as raised:
        await retry("x", call, stage="alert", policy=RetryPolicy(attempts=attempts), sleep=sleeps)
    assert raised.value is errors[attempts - 1]
    assert call.calls == attempts and len(sleeps.delays) == attempts - 1


async def test_a_call_that_succeeds_on_its_last_allowed_attempt_returns() -> None:
    call = Flaky(ESConnectionError("a"), ESConnectionError("b"))
    result = await retry("x", call, stage="alert", policy=RetryPolicy(attempts=3), sleep=Sleeps())
    assert result == "done" and call.calls == 3


async def test_on_retry_is_told_each_attempt_and_error_before_the_backoff() -> None:
    first, second = ESConnectionError("a"), RetryLater("b")
    call, sleeps = Flaky(first, second), Sleeps()
    seen: list[tuple[int, BaseException, int]] = []
    await retry(
        "x",
        call,
        stage="index",
        sleep=sleeps,
        on_retry=lambda n, e: seen.append((n, e, len(sleeps.delays))),
    )
    assert seen == [(1, first, 0), (2, second, 1)]


async def test_the_retryable_predicate_replaces_the_classifier() -> None:
    call, sleeps = Flaky(ValueError("flaky"), ValueError("flaky")), Sleeps()
    assert await retry("x", call, stage="enrich", retryable=lambda e: True, sleep=sleeps) == "done"
    assert call.calls == 3

    never = Flaky(ESConnectionError("away"))
    with pytest.raises(ESConnectionError):
        await retry("x", never, stage="enrich", retryable=lambda e: False, sleep=sleeps)
    assert never.calls == 1


async def test_the_backoff_of_the_policy_is_what_retry_sleeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[int, float, float]] = []

    def fake(attempt: int, base: float = 0.25, cap: float = 30.0) -> float:
        asked.append((attempt, base, cap))
        return attempt / 10

    monkeypatch.setattr(retry_module, "backoff", fake)
    call, sleeps = Flaky(TimeoutError(), TimeoutError(), TimeoutError()), Sleeps()
    await retry("x", call, stage="index", policy=RetryPolicy(base=1.5, cap=9.0), sleep=sleeps)
    assert asked == [(1, 1.5, 9.0), (2, 1.5, 9.0), (3, 1.5, 9.0)]
    assert sleeps.delays == [0.1, 0.2, 0.3]


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "upper"),
    [(1, 0.25, 30.0, 0.5), (2, 0.25, 30.0, 1.0), (3, 0.5, 30.0, 4.0), (10, 0.25, 30.0, 30.0)],
)
def test_backoff_grows_exponentially_with_jitter_in_the_upper_half_and_is_capped(
    attempt: int, base: float, cap: float, upper: float
) -> None:
    delays = [backoff(attempt, base=base, cap=cap) for _ in range(200)]
    assert all(upper / 2 <= d <= upper for d in delays)
    assert len(set(delays)) > 1  # jittered, not in step


def test_backoff_does_not_overflow_for_a_very_long_outage() -> None:
    assert 15.0 <= backoff(10_000, base=0.25, cap=30.0) <= 30.0


class SilentOnceSender(ScriptedSender):
    """The broker never answers a record's first attempt (its ack future stays pending)."""

    def __init__(self) -> None:
        super().__init__()
        self.silent: set[bytes] = set()

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[object]:
        assert key is not None
        if key not in self.silent:
            self.silent.add(key)
            self.calls.append((topic, key, value))
            return asyncio.get_running_loop().create_future()  # never completes
        return await super().enqueue(topic, key, value)


async def test_an_ack_that_never_comes_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send_module, "ACK_TIMEOUT_SECONDS", 0.05)
    sender = SilentOnceSender()
    fast = RetryPolicy(base=0.001, cap=0.001)
    refused = await asyncio.wait_for(
        send_durably(sender, TOPIC, [Record(b"a", b"1")], stage="test", policy=fast), 5.0
    )
    assert refused == []
    assert sender.keys_sent() == [b"a", b"a"]
    assert sender.stored == [(TOPIC, b"a", b"1")]
