"""Agent tier: the Faust agents with in-memory channels (no broker, no Elasticsearch).

The agents' collaborators that do I/O (the enriched and dead-letter topics, the Elasticsearch
client) are replaced by recording doubles; the enrichment runs for real in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import pytest

from streams.clients.elastic import BulkWriter
from streams.settings import Settings
from tests.doubles import FakeBulkElasticsearch, RecordingTopic, app_for_agent_tests


@pytest.fixture
async def app() -> AsyncIterator[faust.App]:
    settings = Settings(
        app_id=f"agents-{uuid.uuid4().hex[:8]}",
        store="memory://",
        batch_size=4,
        batch_seconds=0.05,
        index_batch_seconds=0.05,
        max_article_bytes=5000,
    )
    fapp = app_for_agent_tests(settings)
    pipeline = fapp.pipeline  # type: ignore[attr-defined]
    pipeline.enriched = RecordingTopic()
    pipeline.dlq = RecordingTopic()
    pipeline.pool = ThreadPoolExecutor(max_workers=1)
    pipeline.writer = BulkWriter(FakeBulkElasticsearch(), "articles")  # type: ignore[arg-type]
    yield fapp
    pipeline.pool.shutdown()


async def _settle(condition: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the agent did not finish in time")
        await asyncio.sleep(0.05)


async def test_enrich_agent_enriches_valid_articles_and_dead_letters_the_rest(
    app: faust.App,
) -> None:
    pipeline = app.pipeline  # type: ignore[attr-defined]
    good = json.dumps(
        {
            "id": "a1",
            "title": "Japan and U.S. hold talks",
            "body": "Japan held talks with the United States in Tokyo on Tuesday.",
        }
    ).encode()
    bad = b'{"id": "a2", "title": '
    agent = app.agents["wirewatch.enrich"]
    async with agent.test_context() as ctx:
        await ctx.put(key=b"a1", value=good, wait=False)
        await ctx.put(key=b"a2", value=bad, wait=False)
        await _settle(lambda: len(pipeline.enriched.sent) + len(pipeline.dlq.sent) >= 2)

    assert [k for k, _ in pipeline.enriched.sent] == [b"a1"]
    record = json.loads(pipeline.enriched.sent[0][1])
    assert record["id"] == "a1" and {"JP", "US"} <= set(record["countries"])
    assert len(pipeline.dlq.sent) == 1
    letter = json.loads(pipeline.dlq.sent[0][1])
    assert letter["reason"] == "invalid_json" and letter["stage"] == "enrich"
    assert base64.b64decode(letter["original"]) == bad


async def test_index_agent_writes_documents_and_dead_letters_rejected_ones(app: faust.App) -> None:
    pipeline = app.pipeline  # type: ignore[attr-defined]
    es = pipeline.writer.es

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

    agent = app.agents["wirewatch.index"]
    async with agent.test_context() as ctx:
        await ctx.put(key=b"d1", value=record("d1", "fine"), wait=False)
        await ctx.put(key=b"d2", value=record("d2", "reject me"), wait=False)
        await ctx.put(key=b"d3", value=b"not an enriched record", wait=False)
        await _settle(lambda: len(pipeline.dlq.sent) >= 2)

    assert set(es.indexed) == {"d1"}
    reasons = sorted(json.loads(v)["reason"] for _, v in pipeline.dlq.sent)
    assert reasons == ["index_rejected", "invalid_enriched"]


async def test_an_article_that_breaks_enrichment_is_isolated_and_the_batch_goes_on(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One article makes the enrichment raise an error that is neither data nor transient:
    the batch runner retries the batch one message at a time, dead-letters that article as
    `processing_failed` (type, traceback, original bytes), and enriches the others."""
    import processors.enrich

    real = processors.enrich.enrich_articles

    def enrich(articles: list[Any], **kwargs: Any) -> Any:
        if any(a.id == "poison" for a in articles):
            raise RecursionError("maximum recursion depth exceeded")
        return real(articles, **kwargs)

    monkeypatch.setattr("streams.app.enrich_articles", enrich)
    pipeline = app.pipeline  # type: ignore[attr-defined]

    def article(art_id: str) -> bytes:
        body = "Japan held talks with the United States in Tokyo on Tuesday."
        return json.dumps({"id": art_id, "title": "Talks", "body": body}).encode()

    agent = app.agents["wirewatch.enrich"]
    async with agent.test_context() as ctx:
        for art_id in ("a1", "poison", "a2"):
            await ctx.put(key=art_id.encode(), value=article(art_id), wait=False)
        await _settle(lambda: len(pipeline.enriched.sent) >= 2 and len(pipeline.dlq.sent) >= 1)

    assert sorted(k for k, _ in pipeline.enriched.sent) == [b"a1", b"a2"]
    (letter,) = [json.loads(v) for _, v in pipeline.dlq.sent]
    assert letter["reason"] == "processing_failed" and letter["stage"] == "enrich"
    assert letter["detail"].startswith("RecursionError") and "test_agents.py" in letter["detail"]
    assert base64.b64decode(letter["original"]) == article("poison")
