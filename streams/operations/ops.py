"""Operations outside the worker: reading topics by offset range, listing and replaying dead
letters, dropping a namespace. Re-indexing is `streams.operations.reindex`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition

from processors.errors import WirewatchError
from streams.clients.kafka import security_config
from streams.core.deadletter import DeadLetter
from streams.core.send import Record
from streams.publishing.publisher import Publisher
from streams.settings import Settings

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
"""Called with (done, total) as work proceeds."""


def _consumer(settings: Settings, **kwargs: Any) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=2 * settings.kafka_max_message_bytes,
        fetch_max_bytes=4 * settings.kafka_max_message_bytes,
        **security_config(settings),
        **kwargs,
    )


def _read_range(
    consumer: KafkaConsumer, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> Iterator[Any]:
    """Messages from `start` (inclusive) to `end` (exclusive) per partition."""
    todo = {tp for tp in end if start.get(tp, 0) < end[tp]}
    if not todo:
        return
    consumer.assign(sorted(todo, key=lambda tp: tp.partition))
    for tp in todo:
        consumer.seek(tp, start.get(tp, 0))
    idle_since = time.monotonic()
    while todo:
        batch = consumer.poll(timeout_ms=1000, max_records=500)
        if not batch:
            if time.monotonic() - idle_since > 30:
                raise TimeoutError(
                    f"no messages for 30 s; still expected: {sorted(map(str, todo))}"
                )
            continue
        idle_since = time.monotonic()
        for tp, messages in batch.items():
            for msg in messages:
                if msg.offset >= end[tp]:
                    todo.discard(tp)
                    break
                yield msg
            if consumer.position(tp) >= end[tp]:
                todo.discard(tp)
        consumer.pause(*[tp for tp in consumer.assignment() if tp not in todo])


# --------------------------------------------------------------------------- dead letters


def list_dead_letters(settings: Settings, *, limit: int | None = None) -> list[DeadLetter]:
    """Every dead letter now on the dead-letter topic (oldest first)."""
    consumer = _consumer(settings)
    try:
        parts = consumer.partitions_for_topic(settings.topic_dlq) or set()
        tps = [TopicPartition(settings.topic_dlq, p) for p in sorted(parts)]
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        letters = [
            DeadLetter.model_validate_json(m.value) for m in _read_range(consumer, begin, end)
        ]
    finally:
        consumer.close()
    letters.sort(key=lambda d: d.failed_at)
    return letters[-limit:] if limit else letters


class ReplayFailed(WirewatchError):
    """Kafka refused a replayed letter for good; nothing of this replay is committed."""


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


def replay_dead_letters(
    settings: Settings, *, reason: str | None = None, dry_run: bool = False
) -> ReplayReport:
    """Re-publish dead letters' original bytes to the topic they failed on.

    Replay progress is kept as the offsets of a consumer group on the dead-letter topic, so a
    letter is replayed once; a letter that fails again comes back as a new dead letter.
    """
    report = ReplayReport()
    replays: dict[str, list[Record]] = {}
    consumer = _consumer(settings, group_id=f"{settings.app_id}-dlq-replay")
    publisher = None if dry_run else Publisher(settings)
    try:
        parts = consumer.partitions_for_topic(settings.topic_dlq) or set()
        tps = [TopicPartition(settings.topic_dlq, p) for p in sorted(parts)]
        end = consumer.end_offsets(tps)
        start = {tp: consumer.committed(tp) or 0 for tp in tps}
        begin = consumer.beginning_offsets(tps)
        start = {tp: max(start[tp], begin[tp]) for tp in tps}
        for msg in _read_range(consumer, start, end):
            letter = DeadLetter.model_validate_json(msg.value)
            if reason and letter.reason != reason:
                report.skipped += 1
                continue
            report.replayed += 1
            report.by_topic[letter.topic] = report.by_topic.get(letter.topic, 0) + 1
            if publisher is not None:
                key = letter.article_id.encode() if letter.article_id else None
                replays.setdefault(letter.topic, []).append(Record(key, letter.original_bytes()))
        if publisher is not None:
            for topic, records in replays.items():
                refused = publisher.publish_records(records, topic=topic)
                if refused:
                    raise ReplayFailed(
                        f"Kafka refused {len(refused)} replayed letter(s) for {topic!r}: "
                        f"{refused[0][1]}"
                    )
            from kafka.structs import OffsetAndMetadata

            consumer.commit({tp: OffsetAndMetadata(end[tp], "", -1) for tp in tps})
    finally:
        if publisher is not None:
            publisher.close()
        consumer.close()
    return report


# --------------------------------------------------------------------------- offsets


def start_offsets(
    consumer: KafkaConsumer,
    tps: list[TopicPartition],
    from_offset: int | None,
    since: datetime | None,
) -> dict[TopicPartition, int]:
    begin = consumer.beginning_offsets(tps)
    if since is not None:
        found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
        end = consumer.end_offsets(tps)
        return {tp: (found[tp].offset if found.get(tp) else end[tp]) for tp in tps}
    if from_offset is not None:
        return {tp: max(begin[tp], from_offset) for tp in tps}
    return dict(begin)


# --------------------------------------------------------------------------- namespaces


def drop_namespace(es: Elasticsearch, settings: Settings, prefix: str) -> None:
    """Delete what a namespaced pipeline (`namespace_env(prefix)`) created: its versioned
    indices, templates, rules and alerts indices, and its topics (Faust's internal ones too)."""
    from kafka import KafkaAdminClient

    names = list(es.indices.get(index=f"{prefix}-v*", expand_wildcards="all"))
    if names:  # deleting needs concrete names (action.destructive_requires_name)
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-template")
    locks = f"{settings.es_alias}-locks"  # streams.operations.reindex.lock_index
    es.options(ignore_status=404).indices.delete(index=locks)
    for name in (settings.rules_index_name, settings.alerts_index_name):
        es.options(ignore_status=404).indices.delete(index=name)
        es.options(ignore_status=404).indices.delete_index_template(name=f"{name}-template")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers, **security_config(settings))
    try:
        ours = [t for t in admin.list_topics() if t.startswith(prefix)]
        if ours:
            admin.delete_topics(ours)
    finally:
        admin.close()


def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) now on a topic, all partitions, oldest first per partition."""
    consumer = _consumer(settings)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        return [(m.key, m.value) for m in _read_range(consumer, begin, end)]
    finally:
        consumer.close()
