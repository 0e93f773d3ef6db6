"""The walking skeleton end to end: publish -> Faust worker -> Elasticsearch -> search."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from kafka import KafkaConsumer

from streams.clients.kafka import ensure_topics
from streams.core.send import Record
from streams.operations.search import search
from streams.publishing.publisher import Publisher
from tests.integration.conftest import Isolated, stop_process

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def read_dead_letters(
    iso: Isolated, expected: int | None = None, timeout_ms: int = 20000
) -> list[dict]:
    """The dead letters, from the start: `expected` of them, or (None) all there are until
    the topic has been quiet for `timeout_ms`."""
    consumer = KafkaConsumer(
        iso.settings.topic_dlq,
        bootstrap_servers=iso.settings.kafka_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=timeout_ms,
        group_id=None,
        max_partition_fetch_bytes=32 * 1024 * 1024,  # letters carry up to 1 MB of original
    )
    letters: list[dict] = []
    try:
        for msg in consumer:
            letters.append(json.loads(msg.value))
            if expected is not None and len(letters) >= expected:
                break
    finally:
        consumer.close()
    return letters


def test_seeds_are_searchable_with_their_entities(isolated: Isolated) -> None:
    worker = isolated.start_worker()
    try:
        pub = Publisher(isolated.settings)
        report = pub.publish_files([SEEDS / "000_6842bcb70202069f.txt", SEEDS / "samples.jsonl"])
        pub.close()
        assert report.errors == []
        assert len(report.published) == 6  # the seed + 5 samples
        isolated.wait_for(
            lambda: isolated.indexed_ids() >= set(report.published), 120, "all seeds indexed"
        )
    finally:
        stop_process(worker)

    result = search(isolated.es, isolated.settings.es_alias, "North Korea sanctions")
    titles = [h["title"] for h in result["hits"]]
    assert any("Japan Confirms With U.S., S. Korea" in t for t in titles), titles
    seed = next(h for h in result["hits"] if "Japan Confirms" in h["title"])
    assert any("«" in s for s in seed["snippets"]), seed["snippets"]  # highlighted
    doc = isolated.es.get(index=isolated.settings.es_alias, id=seed["id"])["_source"]
    assert {"Fumio Kishida", "John Kerry"} <= set(doc["persons"])
    assert {"JP", "KP", "US", "KR"} <= set(doc["countries"])
    assert "United Nations Security Council" in doc["organizations"]
    assert doc["enrichment_version"]
    # An unrelated story is not a hit for the query.
    assert all("Cardinal" not in t for t in titles)


def test_bad_input_goes_to_the_dead_letter_topic_and_the_pipeline_goes_on(
    isolated: Isolated,
) -> None:
    bad = {
        "malformed-json": b'{"id": "x1", "title": "broken',
        "wrong-type": json.dumps(
            {"id": "x2", "title": ["not", "a", "string"], "body": "b"}
        ).encode(),
        "missing-text": json.dumps({"id": "x3", "source": "AP"}).encode(),
        "empty-body": json.dumps({"id": "x4", "title": "Headline only", "body": "  "}).encode(),
        "invalid-utf8": b'{"id": "x5", "title": "caf\xe9", "body": "text"}',
        "binary": bytes(range(256)) * 4,
        "too-large": json.dumps({"id": "x7", "title": "big", "body": "word " * 240_000}).encode(),
    }
    good = [
        {
            "id": "good-1",
            "title": "Quake hits coast",
            "body": "An earthquake hit the coast of Chile.",
        },
        {
            "id": "good-2",
            "title": "Talks in Vienna",
            "body": "<p>Iran and the <b>IAEA</b> met in Vienna.</p><script>alert('x')</script>",
            "published_at": "not a date",
        },
    ]
    pub = Publisher(isolated.settings)
    records = [Record(key.encode(), value) for key, value in bad.items()]
    records += [Record(art["id"].encode(), json.dumps(art).encode()) for art in good]
    assert pub.publish_records(records) == []
    pub.close()

    worker = isolated.start_worker()
    try:
        isolated.wait_for(
            lambda: isolated.indexed_ids() >= {"good-1", "good-2"}, 120, "valid articles indexed"
        )
        letters = read_dead_letters(isolated, expected=len(bad))
    finally:
        stop_process(worker)

    reasons = {base64.b64decode(d["original"]): d["reason"] for d in letters}
    assert len(letters) == len(bad)
    for key, value in bad.items():
        assert value in reasons, f"{key} was not dead-lettered"
    assert reasons[bad["malformed-json"]] == "invalid_json"
    assert reasons[bad["wrong-type"]] == "invalid_field"
    assert reasons[bad["missing-text"]] == "missing_text"
    assert reasons[bad["empty-body"]] == "empty_body"
    assert reasons[bad["invalid-utf8"]] == "invalid_utf8"
    assert reasons[bad["binary"]] in {"binary", "invalid_utf8"}
    assert reasons[bad["too-large"]] == "too_large"
    for letter in letters:
        assert letter["topic"] == isolated.settings.topic_raw
        assert letter["offset"] >= 0 and letter["stage"] == "enrich" and letter["detail"]

    html_doc = isolated.es.get(index=isolated.settings.es_alias, id="good-2")["_source"]
    assert "<" not in html_doc["body"] and "alert(" not in html_doc["body"]
    assert "IAEA" in html_doc["body"]
    assert html_doc["published_at"] is None and "not a date" in html_doc["date_problem"]


def test_a_worker_whose_spacy_model_cannot_load_refuses_to_start(isolated: Isolated) -> None:
    """A wrong model name stops the worker at start, naming the setting, instead of sending
    every article to the dead-letter topic."""
    pub = Publisher(isolated.settings)
    value = json.dumps({"id": "m1", "title": "t", "body": "Talks in Tokyo."}).encode()
    assert pub.publish_records([Record(None, value)]) == []
    pub.close()
    worker = isolated.start_worker(env={"WIREWATCH_SPACY_MODEL": "no_such_spacy_model"})
    try:
        code = worker.wait(timeout=120)
    finally:
        stop_process(worker)
    assert code == 70
    log = isolated.worker_log()
    assert "no_such_spacy_model" in log and "WIREWATCH_SPACY_MODEL" in log
    assert read_dead_letters(isolated, expected=1, timeout_ms=3000) == []


def test_a_worker_refuses_a_story_topic_with_the_wrong_partition_count(
    isolated: Isolated,
) -> None:
    """Story clustering is correct only on one partition: a story topic created with two is
    refused at start, by `wirewatch init` and the worker alike, naming the topic."""
    name = f"{isolated.settings.topic_stories}-two"
    two = isolated.settings.model_copy(update={"topic_partitions": 2})
    assert ensure_topics(two, [name]) == {name: 2}
    env = {"WIREWATCH_TOPIC_STORIES": name}
    init = subprocess.run(
        [sys.executable, "-m", "streams", "init"],
        env={**isolated.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode != 0
    assert name in init.stdout + init.stderr and "exactly 1" in init.stdout + init.stderr
    worker = isolated.start_worker(env=env)
    try:
        code = worker.wait(timeout=120)
    finally:
        stop_process(worker)
    assert code != 0
    log = isolated.worker_log()
    assert name in log and "exactly 1" in log
