"""Operations outside the worker: reading and replaying dead letters, and reindexing.

`reindex` re-enriches from the raw topic into a new versioned index and switches the alias
atomically once it has caught up, so a new mapping or a new enrichment version reaches every
document without downtime. (It reads Kafka, not Elasticsearch: the raw topic is the source of
truth, and the local node has no `_reindex` module anyway.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk
from kafka import KafkaConsumer, TopicPartition

from processors.enrich import enrich_articles
from processors.errors import InvalidArticle, WirewatchError
from processors.models import Article
from processors.validate import parse_raw_article
from streams.clients.indices import create_index, index_name, switch_alias, write_index
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


# --------------------------------------------------------------------------- reindex


@dataclass
class ReindexReport:
    new_index: str
    old_indices: list[str]
    indexed: int = 0
    invalid: int = 0
    passes: int = 0
    switched: bool = False


def _start_offsets(
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


def reindex(
    es: Elasticsearch,
    settings: Settings,
    *,
    from_offset: int | None = None,
    since: datetime | None = None,
    new_version: int | None = None,
    progress: Progress | None = None,
    switch: bool = True,
) -> ReindexReport:
    """Re-enrich the raw topic into a new versioned index, then switch the alias to it.

    Reads up to the end offsets seen at the start, then repeats for what arrived meanwhile
    until a pass finds little new; switches the alias; then makes one last pass so nothing the
    live workers wrote to the old index between the last pass and the switch is missing.
    """
    alias = settings.es_alias
    current = write_index(es, alias)
    version = new_version or _next_version(es, alias)
    new_index = index_name(alias, version)
    create_index(es, new_index)
    report = ReindexReport(new_index=new_index, old_indices=[current] if current else [])
    consumer = _consumer(settings)
    try:
        parts = consumer.partitions_for_topic(settings.topic_raw) or set()
        tps = [TopicPartition(settings.topic_raw, p) for p in sorted(parts)]
        position = _start_offsets(consumer, tps, from_offset, since)
        total = 0
        while True:
            end = consumer.end_offsets(tps)
            pending = sum(max(0, end[tp] - position[tp]) for tp in tps)
            total += pending
            report.passes += 1
            _reindex_range(
                es, settings, consumer, position, end, new_index, report, progress, total
            )
            position = dict(end)
            if pending < 50 or report.passes >= 10:
                break
        if switch:
            report.old_indices = switch_alias(es, alias, new_index)
            report.switched = True
            end = consumer.end_offsets(tps)
            total += sum(max(0, end[tp] - position[tp]) for tp in tps)
            _reindex_range(
                es, settings, consumer, position, end, new_index, report, progress, total
            )
    finally:
        consumer.close()
    es.indices.refresh(index=new_index)
    log.info(
        "reindex.done",
        index=new_index,
        indexed=report.indexed,
        invalid=report.invalid,
        switched=report.switched,
    )
    return report


def _next_version(es: Elasticsearch, alias: str) -> int:
    existing = es.indices.get(index=f"{alias}-v*", expand_wildcards="all")
    versions = [int(n.rsplit("-v", 1)[1]) for n in existing if n.rsplit("-v", 1)[1].isdigit()]
    return max(versions, default=0) + 1


def _reindex_range(
    es: Elasticsearch,
    settings: Settings,
    consumer: KafkaConsumer,
    start: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
    index: str,
    report: ReindexReport,
    progress: Progress | None,
    total: int,
) -> None:
    batch: list[Article] = []

    def flush() -> None:
        if not batch:
            return
        records = enrich_articles(batch, model=settings.spacy_model, batch_size=settings.batch_size)
        actions = []
        for rec in records:
            action: dict[str, Any] = {"_index": index, "_id": rec.id, "_source": rec.document()}
            if rec.version is not None:
                action.update(version=rec.version, version_type="external_gte")
            actions.append(action)
        for ok, item in streaming_bulk(es, actions, raise_on_error=False, max_retries=5):
            info = item.get("index", {})
            if ok:
                report.indexed += 1
            elif info.get("status") != 409:  # 409: a newer version is already there
                raise RuntimeError(f"reindex: Elasticsearch refused {info.get('_id')}: {info}")
        batch.clear()

    done = report.indexed + report.invalid
    for msg in _read_range(consumer, start, end):
        try:
            batch.append(parse_raw_article(msg.value or b"", max_bytes=settings.max_article_bytes))
        except InvalidArticle:
            report.invalid += 1  # already dead-lettered by the live pipeline
        if len(batch) >= 64:
            flush()
        done += 1
        if progress is not None:
            progress(done, total)
    flush()
    if progress is not None:
        progress(done, total)


# --------------------------------------------------------------------------- namespaces


def drop_namespace(es: Elasticsearch, settings: Settings, prefix: str) -> None:
    """Delete what a namespaced pipeline (`namespace_env(prefix)`) created: its versioned
    indices, templates, rules and alerts indices, and its topics (Faust's internal ones too)."""
    from kafka import KafkaAdminClient

    names = list(es.indices.get(index=f"{prefix}-v*", expand_wildcards="all"))
    if names:  # deleting needs concrete names (action.destructive_requires_name)
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-template")
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
