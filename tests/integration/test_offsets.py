"""The guarded consumer's broker probe on the real broker (streams/offsets.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import aiokafka  # type: ignore[import-untyped]
import pytest
from faust.types import TP
from kafka.admin import KafkaAdminClient, NewTopic

from streams.app import WirewatchApp
from streams.offsets import GuardedConsumer, missing_ranges, next_commit
from streams.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(base_settings: Settings) -> Iterator[str]:
    name = f"it-offsets-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=base_settings.kafka_servers)
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    try:
        yield name
    finally:
        admin.delete_topics([name])
        admin.close()


async def test_the_probe_tells_missing_offsets_from_skipped_records(
    base_settings: Settings, topic: str
) -> None:
    servers = ",".join(base_settings.kafka_servers)
    # A transaction leaves a control record (a marker) after its records: an offset that
    # holds no record, which a consumer never receives.
    producer = aiokafka.AIOKafkaProducer(
        bootstrap_servers=servers, transactional_id=f"{topic}-tx", enable_idempotence=True
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"a")  # offset 0
            await producer.send_and_wait(topic, b"b")  # offset 1
        # marker at offset 2
        async with producer.transaction():
            await producer.send_and_wait(topic, b"c")  # offset 3
        # marker at offset 4
    finally:
        await producer.stop()

    app = WirewatchApp(f"it-offsets-{uuid.uuid4().hex[:6]}", broker=f"kafka://{servers}")
    consumer = app.consumer
    assert isinstance(consumer, GuardedConsumer)
    tp = TP(topic, 0)
    existing = await consumer.offsets_between(tp, 0, 5)
    assert existing == {0, 1, 3}
    assert missing_ranges(0, 5, existing) == [(2, 3), (4, 5)]

    # Records 0 and 1 were done, 3 was fetched and dropped: the marker at 2 is credited,
    # 3 holds the commit back until it is done.
    gaps = missing_ranges(0, 5, existing)
    assert next_commit(0, [0, 1], gaps).offset == 3
    assert next_commit(3, [], gaps).offset is None
    assert next_commit(3, [3], gaps).offset == 5
