"""The enrich stage overlapping batches on the real broker: two spaCy processes and three
batches in hand, every article enriched and indexed once, every offset committed, and each
partition's records sent on in their order."""

from __future__ import annotations

import json
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from bench.common import process_tree
from processors.ingest import article_from_mapping
from streams.logs import delivery_counts
from streams.publishing.publisher import Publisher
from tests.integration.conftest import Isolated, stop_process

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "search_slice.jsonl"


def by_partition(iso: Isolated, topic: str) -> dict[int, list[str]]:
    """The keys on each partition of `topic`, oldest first."""
    consumer = KafkaConsumer(bootstrap_servers=iso.settings.kafka_servers, group_id=None)
    try:
        parts = sorted(consumer.partitions_for_topic(topic) or ())
        out: dict[int, list[str]] = {}
        for p in parts:
            tp = TopicPartition(topic, p)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            end = consumer.end_offsets([tp])[tp]
            keys: list[str] = []
            while consumer.position(tp) < end:
                for records in consumer.poll(timeout_ms=1000).values():
                    keys += [r.key.decode() for r in records]
            out[p] = keys
        return out
    finally:
        consumer.close()


def spacy_processes(worker_pid: int) -> int:
    """Descendants of the worker that run the model (multiprocessing spawn workers)."""
    count = 0
    for pid in process_tree(worker_pid)[1:]:
        try:
            count += b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
    return count


def test_two_spacy_processes_enrich_each_article_once_in_input_order(isolated: Isolated) -> None:
    lines = SLICE.read_text().splitlines()[:80]
    articles = [
        article_from_mapping(json.loads(line), name=f"slice:{i}") for i, line in enumerate(lines)
    ]
    worker = isolated.start_worker(
        env={
            "WIREWATCH_SPACY_PROCESSES": "2",
            "WIREWATCH_ENRICH_OVERLAP": "3",
            "WIREWATCH_BATCH_SIZE": "4",  # many small batches, so several are in hand at once
            "WIREWATCH_AUDIT_DELIVERIES": "true",
            "WIREWATCH_LOG_JSON": "true",
        }
    )
    try:
        pub = Publisher(isolated.settings)
        pub.publish(articles)
        pub.close()
        ids = {a.id for a in articles}
        isolated.wait_for(lambda: isolated.indexed_ids() >= ids, 240, "all articles indexed")
        assert spacy_processes(worker.pid) == 2
    finally:
        stop_process(worker)

    # Each article went through spaCy once: one record each on the story topic, one write.
    (stories,) = by_partition(isolated, isolated.settings.topic_stories).values()
    assert sorted(stories) == sorted(ids)
    counts = delivery_counts(isolated.worker_log())
    assert set(counts) == ids and set(counts.values()) == {1}
    # One agent takes the batches in partition order and they go out in the order taken:
    # each raw partition's records reach the story topic in their order.
    position = {key: i for i, key in enumerate(stories)}
    raw = by_partition(isolated, isolated.settings.topic_raw)
    for keys in raw.values():
        assert sorted(keys, key=position.__getitem__) == keys
    # Every raw offset was committed: no hole was left behind by the overlap.
    consumer = KafkaConsumer(
        bootstrap_servers=isolated.settings.kafka_servers,
        group_id=isolated.settings.app_id,
        enable_auto_commit=False,
    )
    try:
        tps = [TopicPartition(isolated.settings.topic_raw, p) for p in raw]
        ends = consumer.end_offsets(tps)
        assert {tp: consumer.committed(tp) for tp in tps} == ends
    finally:
        consumer.close()
