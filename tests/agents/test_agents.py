"""Agent tier: the Faust agents with in-memory channels (no broker, no Elasticsearch).

The worker's producer and Elasticsearch client are replaced by recording doubles; the
enrichment runs for real in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from streams.app import Worker
from streams.clients.elastic import BulkWriter
from streams.settings import Settings
from streams.stages.enrich import EnrichStage
from tests.doubles import FakeBulkElasticsearch, RecordingSender, app_for_agent_tests


@pytest.fixture
async def app() -> AsyncIterator[Worker]:
    settings = Settings(
        app_id=f"agents-{uuid.uuid4().hex[:8]}",
        store="memory://",
        batch_size=4,
        batch_seconds=0.05,
        index_batch_seconds=0.05,
        max_article_bytes=5000,
    )
    worker = app_for_agent_tests(settings)
    enrich = worker.stages["enrich"]
    assert isinstance(enrich, EnrichStage)
    enrich.pool = ThreadPoolExecutor(max_workers=1)
    worker.index.writer = BulkWriter(FakeBulkElasticsearch(), "articles")  # type: ignore[arg-type]
    for stage in worker.stages.values():
        stage.ready.set()
    yield worker
    enrich.pool.shutdown()


def sent(worker: Worker, topic: str) -> list[tuple[bytes | None, bytes]]:
    sender = worker.sender
    assert isinstance(sender, RecordingSender)
    return sender.to(topic)


def stories(worker: Worker) -> list[tuple[bytes | None, bytes]]:
    return sent(worker, worker.stages["enrich"].outputs["next"])


def letters(worker: Worker) -> list[tuple[bytes | None, bytes]]:
    return sent(worker, worker.dead_letters.topic)


async def _settle(condition: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the agent did not finish in time")
        await asyncio.sleep(0.05)


async def test_enrich_agent_enriches_valid_articles_and_dead_letters_the_rest(
    app: Worker,
) -> None:
    good = json.dumps(
        {
            "id": "a1",
            "title": "Japan and U.S. hold talks",
            "body": "Japan held talks with the United States in Tokyo on Tuesday.",
        }
    ).encode()
    bad = b'{"id": "a2", "title": '
    agent = app.app.agents["wirewatch.enrich"]
    async with agent.test_context() as ctx:
        await ctx.put(key=b"a1", value=good, wait=False)
        await ctx.put(key=b"a2", value=bad, wait=False)
        await _settle(lambda: len(stories(app)) + len(letters(app)) >= 2)

    assert [k for k, _ in stories(app)] == [b"a1"]
    record = json.loads(stories(app)[0][1])
    assert record["id"] == "a1" and {"JP", "US"} <= set(record["countries"])
    assert len(letters(app)) == 1
    letter = json.loads(letters(app)[0][1])
    assert letter["reason"] == "invalid_json" and letter["stage"] == "enrich"
    assert base64.b64decode(letter["original"]) == bad


async def test_index_agent_writes_documents_and_dead_letters_rejected_ones(app: Worker) -> None:
    assert app.index.writer is not None
    es = app.index.writer.es

    def record(art_id: str, title: str) -> bytes:
        return json.dumps(
            {
                "id": art_id,
                "title": title,
                "body": "b",
                "ingested_at": "2026-01-01T00:00:00Z",
                "enrichment_version": "test",
            }
        ).encode()

    agent = app.app.agents["wirewatch.index"]
    async with agent.test_context() as ctx:
        await ctx.put(key=b"d1", value=record("d1", "fine"), wait=False)
        await ctx.put(key=b"d2", value=record("d2", "reject me"), wait=False)
        await ctx.put(key=b"d3", value=b"not an enriched record", wait=False)
        await _settle(lambda: len(letters(app)) >= 2)

    assert set(es.indexed) == {"d1"}
    reasons = sorted(json.loads(v)["reason"] for _, v in letters(app))
    assert reasons == ["index_rejected", "invalid_enriched"]


async def test_an_article_that_breaks_enrichment_is_isolated_and_the_batch_goes_on(
    app: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One article makes the enrichment raise an error that is neither data nor transient:
    the batch runner retries the batch one message at a time, dead-letters that article as
    `processing_failed` (type, traceback, original bytes), and enriches the others."""
    import processors.enrich

    real = processors.enrich.enrich_to_json

    def enrich(articles: list[Any], **kwargs: Any) -> Any:
        if any(a.id == "poison" for a in articles):
            raise RecursionError("maximum recursion depth exceeded")
        return real(articles, **kwargs)

    monkeypatch.setattr("streams.stages.enrich.enrich_to_json", enrich)

    def article(art_id: str) -> bytes:
        body = "Japan held talks with the United States in Tokyo on Tuesday."
        return json.dumps({"id": art_id, "title": "Talks", "body": body}).encode()

    agent = app.app.agents["wirewatch.enrich"]
    async with agent.test_context() as ctx:
        for art_id in ("a1", "poison", "a2"):
            await ctx.put(key=art_id.encode(), value=article(art_id), wait=False)
        await _settle(lambda: len(stories(app)) >= 2 and len(letters(app)) >= 1)

    assert sorted(k for k, _ in stories(app)) == [b"a1", b"a2"]
    (letter,) = [json.loads(v) for _, v in letters(app)]
    assert letter["reason"] == "processing_failed" and letter["stage"] == "enrich"
    assert letter["detail"].startswith("RecursionError") and "test_agents.py" in letter["detail"]
    assert base64.b64decode(letter["original"]) == article("poison")
