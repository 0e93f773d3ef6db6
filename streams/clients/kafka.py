"""Kafka clients: topic creation and metadata waits (the admin client of kafka-python), and
the two `streams.core.send.Sender`s: the kafka-python producer (publisher, operator commands)
and the Faust producer of a worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

import structlog
from faust.types import TopicT
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from processors.errors import WirewatchError
from streams.settings import Settings

log = structlog.get_logger(__name__)


class BrokerUnavailable(WirewatchError):
    """The Kafka broker cannot be reached."""


def security_config(settings: Settings) -> dict[str, Any]:
    conf: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl_mechanism:
        conf["sasl_mechanism"] = settings.kafka_sasl_mechanism
        conf["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            conf["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return conf


def _max_bytes(settings: Settings, topic: str) -> int:
    # A dead letter carries the original bytes base64-encoded (4/3 larger) plus its reason.
    limit = settings.kafka_max_message_bytes
    return 2 * limit if topic == settings.topic_dlq else limit


TOPIC_METADATA_TIMEOUT = 30.0
"""Seconds a freshly created topic may take to show in the broker's metadata with leaders."""


def ensure_topics(
    settings: Settings,
    names: Iterable[str] | None = None,
    *,
    timeout: float = TOPIC_METADATA_TIMEOUT,
) -> dict[str, int]:
    """Create the pipeline's topics (idempotent), each with `topic_partitions` partitions.

    Returns only once every topic is visible in the metadata with a leader for each partition
    (a topic created a moment ago can show 0 partitions at first), as {name: partitions}.
    """
    wanted = list(names or (settings.topic_raw, settings.topic_enriched, settings.topic_dlq))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_servers,
            client_id="wirewatch-admin",
            request_timeout_ms=10000,
            **security_config(settings),
        )
    except KafkaError as exc:
        raise BrokerUnavailable(f"no Kafka broker answers at {settings.kafka_bootstrap}") from exc
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                name,
                settings.topic_partitions,
                settings.topic_replication,
                topic_configs={"max.message.bytes": str(_max_bytes(settings, name))},
            )
            for name in wanted
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
            log.info("topics.created", topics=[t.name for t in new])
        created = {t.name for t in new}
        expected = {n: settings.topic_partitions if n in created else None for n in wanted}
        return wait_for_topics(admin.describe_topics, expected, timeout=timeout)
    finally:
        admin.close()


class TopicNotReady(WirewatchError):
    """A topic did not show in the broker's metadata, with leaders, within the timeout."""


def topic_layout(described: dict[str, Any]) -> tuple[int, bool]:
    """(partitions, every partition has a leader) of one `describe_topics` entry."""
    if described.get("error_code", 0) != 0:
        return 0, False
    parts = described.get("partitions") or []
    return len(parts), bool(parts) and all(p.get("leader_id", -1) >= 0 for p in parts)


def wait_for_topics(
    describe: Callable[[list[str]], list[dict[str, Any]]],
    expected: dict[str, int | None],
    *,
    timeout: float = TOPIC_METADATA_TIMEOUT,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Poll topic metadata until each topic has a leader for every partition and, where
    `expected` gives a count, exactly that many partitions. Returns {name: partitions}."""
    deadline = clock() + timeout
    seen: dict[str, tuple[int, bool]] = {}
    while True:
        try:
            seen = {str(d.get("name")): topic_layout(d) for d in describe(list(expected))}
        except KafkaError as exc:
            log.debug("topics.metadata_unavailable", error=str(exc))
        waiting = [
            name
            for name, count in expected.items()
            if not seen.get(name, (0, False))[1] or (count is not None and seen[name][0] != count)
        ]
        if not waiting:
            return {name: seen[name][0] for name in expected}
        if clock() >= deadline:
            what = ", ".join(
                f"{n!r} (wanted {expected[n] or 'any number of'} partitions with leaders, "
                f"metadata shows {seen.get(n, (0, False))[0]})"
                for n in waiting
            )
            raise TopicNotReady(
                f"Kafka metadata did not show topic(s) {what} within {timeout:.0f}s; "
                "is the broker overloaded or still starting? see its log (wirewatch stack status)"
            )
        sleep(interval)


@contextlib.contextmanager
def _quiet_kafka_logs() -> Iterator[None]:
    logger = logging.getLogger("kafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def make_producer(
    settings: Settings, *, client_id: str, connect_timeout: float = 15.0
) -> KafkaProducer:
    """kafka-python's producer, configured for safety: `acks=all` (every in-sync replica has
    it), idempotent (a retried batch is never written twice), bounded retries of its own,
    gzip. `BrokerUnavailable` when no broker answers."""
    try:
        with _quiet_kafka_logs():  # one clear error below instead of a retry log per attempt
            return KafkaProducer(
                bootstrap_servers=settings.kafka_servers,
                acks="all",
                retries=5,
                enable_idempotence=True,
                max_in_flight_requests_per_connection=5,
                compression_type="gzip",
                linger_ms=5,
                max_request_size=settings.kafka_max_message_bytes,
                bootstrap_timeout_ms=int(connect_timeout * 1000),
                max_block_ms=30000,
                client_id=client_id,
                **security_config(settings),
            )
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"no Kafka broker answers at {settings.kafka_bootstrap}; is it running "
            "(`wirewatch stack up`)?"
        ) from exc


def _resolve(done: asyncio.Future[object], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


class ProducerSender:
    """kafka-python's producer as a `Sender`: its futures complete on its I/O thread and are
    handed to the event loop that waits for them."""

    def __init__(
        self, producer: KafkaProducer, before_send: Callable[[], None] | None = None
    ) -> None:
        self.producer = producer
        self.before_send = before_send
        """Called before each record (the publisher's rate limit)."""

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[object]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(_resolve, done, error)

        if self.before_send is not None:
            self.before_send()
        future = self.producer.send(topic, key=key, value=value)
        future.add_callback(lambda _: settle(None))
        future.add_errback(settle)
        return done


class FaustSender:
    """The Faust producer of a worker as a `Sender`, over the topics the topology declared."""

    def __init__(self, topics: Mapping[str, TopicT]) -> None:
        self.topics = dict(topics)

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[object]:
        sent: Awaitable[object] = await self.topics[topic].send(key=key, value=value)
        return sent
