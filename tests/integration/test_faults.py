"""Effectively-once under faults, on a private Kafka broker and Elasticsearch node.

Each test publishes a few hundred real articles, injects one fault mid-stream, and then
proves: every published id is indexed or dead-lettered (with a reason), nothing else is
indexed, and no document was indexed more often than it was delivered to the index agent.
The private stack (its own ports and data) lets these tests stop and restart servers
without disturbing anything else.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from processors.ingest import article_from_mapping
from processors.models import Article
from streams.logs import delivery_counts, retries
from streams.operations.ops import read_topic
from streams.publishing.publisher import Publisher, PublishReport
from streams.settings import Settings
from streams.stack import local as stack
from tests.integration.conftest import Isolated, isolation, stop_process

# Real articles shipped with the tests (Reuters, AG News, BBC; see tests/fixtures/search_slice.md).
SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "search_slice.jsonl"
PRIVATE = {
    "WIREWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "WIREWATCH_ES_URL": "http://127.0.0.1:19200",
}
N_ARTICLES = 140


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(
        stack_dir=tmp_path_factory.mktemp("stack"),
        kafka_bootstrap=PRIVATE["WIREWATCH_KAFKA_BOOTSTRAP"],
        es_url=PRIVATE["WIREWATCH_ES_URL"],
        es_heap="512m",
        kafka_heap="384m",
    )
    stack.up(settings)
    yield settings
    stack.down(settings)


@pytest.fixture
def iso(private_stack: Settings, tmp_path: Path) -> Iterator[Isolated]:
    with isolation(dict(PRIVATE), tmp_path) as isolated:
        yield isolated


def articles(n: int) -> list[Article]:
    out = []
    with SLICE.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            out.append(article_from_mapping(json.loads(line), name=f"{SLICE.name}:{i + 1}"))
            if len(out) == n:
                break
    return out


def run_with_fault(
    iso: Isolated,
    fault: Callable[..., None],
    worker_env: dict[str, str] | None = None,
    during_fault: int = 0,
) -> dict[str, int]:
    """Publish, let the worker start indexing, inject the fault, wait, check the invariants.
    With `during_fault`, the fault is also given a function that publishes the last
    `during_fault` articles, to call once it is under way.

    Returns how many index-agent deliveries each fault may have repeated (for the bound).
    """
    batch = articles(N_ARTICLES)
    published = {a.id for a in batch}
    assert len(published) == N_ARTICLES
    before, later = batch[: N_ARTICLES - during_fault], batch[N_ARTICLES - during_fault :]
    audit = {"WIREWATCH_AUDIT_DELIVERIES": "true", "WIREWATCH_LOG_JSON": "true"}
    iso.env.update(audit)  # every worker of this test, restarted ones too
    workers = [iso.start_worker(env=worker_env)]
    try:
        pub = Publisher(iso.settings)
        assert not pub.publish(before).errors
        iso.wait_for(lambda: len(iso.indexed_ids()) >= 30, 180, "indexing to start")
        assert len(iso.indexed_ids()) < N_ARTICLES, "the fault must come mid-stream"
        reports: list[PublishReport] = []
        if later:
            # The fault publishes these once it is under way (e.g. the node is down), so
            # the pipeline meets the fault however fast it went before.
            fault(iso, workers, lambda: reports.append(pub.publish(later)))
            assert reports and not reports[0].errors
        else:
            fault(iso, workers)
        pub.close()

        def settled() -> bool:
            dead = {
                json.loads(v)["article_id"]
                for _, v in read_topic(iso.settings, iso.settings.topic_dlq)
            }
            return iso.indexed_ids() | dead >= published

        iso.wait_for(settled, 300, "every article indexed or dead-lettered")
    finally:
        for w in workers:
            stop_process(w)

    letters = [json.loads(v) for _, v in read_topic(iso.settings, iso.settings.topic_dlq)]
    dead = {d["article_id"] for d in letters}
    assert all(d["reason"] and d["original"] for d in letters)
    indexed = iso.indexed_ids()
    assert indexed | dead == published  # nothing lost, nothing invented
    assert dead == set(), f"valid articles were dead-lettered: {letters[:3]}"
    # No document indexed more often than the index agent received it: every worker logs each
    # batch it writes (WIREWATCH_AUDIT_DELIVERIES), so deliveries are counted, not assumed.
    deliveries = delivery_counts(
        "\n".join(f.read_text(errors="replace") for f in iso.logs.glob("*.log"))
    )
    iso.es.indices.refresh(index=iso.settings.es_alias)
    hits = iso.es.search(
        index=iso.settings.es_alias,
        size=N_ARTICLES,
        version=True,
        source=False,
        query={"match_all": {}},
    )["hits"]["hits"]
    versions = {h["_id"]: h["_version"] for h in hits}
    assert set(deliveries) >= set(versions)
    too_many = {i: (v, deliveries[i]) for i, v in versions.items() if v > deliveries[i]}
    assert not too_many, f"indexed more often than delivered: {dict(list(too_many.items())[:5])}"
    restarts = len(workers) - 1
    return {"restarts": restarts, "max_version": max(versions.values())}


def test_worker_killed_with_sigkill_mid_stream_then_restarted(iso: Isolated) -> None:
    def kill(iso: Isolated, workers: list) -> None:
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=30)
        workers.append(iso.start_worker("worker2", env=static))

    # The deployment's set-up: a restarted worker keeps its group member id (static
    # membership), so it takes its partitions back without a rebalance.
    static = {"WIREWATCH_WORKER_INSTANCE_ID": "fault-worker-1"}
    result = run_with_fault(iso, kill, worker_env=static)
    assert result["restarts"] == 1


def test_worker_killed_then_restarted_with_dynamic_membership(iso: Isolated) -> None:
    # Without a stable instance id the restarted worker is a new group member: the group
    # rebalances when it joins and again when the killed member's session expires. Records
    # that Faust fetches and drops across those rebalances must come again, not be committed
    # over (streams/offsets.py).
    def kill(iso: Isolated, workers: list) -> None:
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=30)
        workers.append(iso.start_worker("worker2"))

    result = run_with_fault(iso, kill)
    assert result["restarts"] == 1


def test_elasticsearch_stopped_for_20_seconds_mid_stream(
    iso: Isolated, private_stack: Settings
) -> None:
    def outage(iso: Isolated, workers: list, publish_rest: Callable[[], None]) -> None:
        stack._stop(stack.es_service(private_stack))
        publish_rest()  # these reach the index stage while the node is down
        time.sleep(22)
        assert workers[0].poll() is None, "the worker must ride out the outage"
        stack.es_up(private_stack)

    run_with_fault(
        iso,
        outage,
        worker_env={"WIREWATCH_WORKER_INSTANCE_ID": "fault-worker-2"},
        during_fault=60,
    )
    assert retries(iso.worker_log(), stage="index") > 0  # the bulk writer waited it out


def test_kafka_broker_restarted_mid_stream(iso: Isolated, private_stack: Settings) -> None:
    def restart(iso: Isolated, workers: list) -> None:
        stack._stop(stack.kafka_service(private_stack))
        time.sleep(5)
        stack.kafka_up(private_stack)

    run_with_fault(iso, restart, worker_env={"WIREWATCH_WORKER_INSTANCE_ID": "fault-worker-3"})
