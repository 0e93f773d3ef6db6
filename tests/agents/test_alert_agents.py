"""Agent tier: the story agent and the alert agent with in-memory channels (no broker, no node).

Collaborators doing I/O are doubles: the producer records what is sent, the story table is a dict,
and a small fake Elasticsearch answers the few requests the alert agent makes (rules search,
`ids` visibility search, `_msearch` with term filters, bulk create, mget, update).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ConnectionError as ESConnectionError

from processors.models import EnrichedArticle
from processors.rules import rule_document
from streams.app import Worker
from streams.operations.rule_files import load_rule_file
from streams.settings import Settings
from streams.stages.alerts import AlertStage
from streams.stages.base import Stage
from streams.stages.stories import StoryStage
from tests.doubles import RecordingSender, app_for_agent_tests

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "alerts"
RULE_FILE = REPO / "streams" / "resources" / "alerts" / "north-korea-sanctions.yaml"


def _matches(query: dict[str, Any], doc: dict[str, Any], doc_id: str) -> bool:
    """Enough of Elasticsearch's query semantics for the rules these tests use."""
    ((kind, body),) = query.items()
    if kind == "bool":
        clauses = [*body.get("filter", []), *body.get("must", [])]
        return all(_matches(c, doc, doc_id) for c in clauses)
    if kind == "ids":
        return doc_id in body["values"]
    if kind == "terms":
        ((fname, values),) = ((k, v) for k, v in body.items() if k != "_name")
        return bool(set(doc.get(fname) or []) & set(values))
    if kind == "match_all":
        return True
    raise AssertionError(f"the fake does not know {kind}")


class FakeElasticsearch:
    def __init__(self, rules_index: str, alerts_index: str) -> None:
        self.rules_index = rules_index
        self.alerts_index = alerts_index
        self.rules: dict[str, dict[str, Any]] = {}
        self.articles: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.msearch_failures = 0
        self.msearch_calls = 0
        self.article_searches: list[list[str]] = []
        self.indices = self

    def options(self, **kwargs: Any) -> FakeElasticsearch:
        return self

    async def search(self, *, index: str, query: dict[str, Any], **kw: Any) -> dict[str, Any]:
        if index != self.rules_index:
            self.article_searches.append(list(query["ids"]["values"]))
        if index == self.rules_index:
            hits = [{"_id": k, "_source": v} for k, v in sorted(self.rules.items())]
        else:
            hits = [{"_id": i} for i in query["ids"]["values"] if i in self.articles]
        return {"hits": {"hits": hits}}

    async def refresh(self, **kw: Any) -> dict[str, Any]:
        return {}

    async def msearch(self, *, searches: list[dict[str, Any]]) -> dict[str, Any]:
        self.msearch_calls += 1
        if self.msearch_failures:
            self.msearch_failures -= 1
            raise ESConnectionError("node went away")
        responses = []
        for body in searches[1::2]:
            hits = [
                {"_id": i, "highlight": {}, "matched_queries": []}
                for i, doc in self.articles.items()
                if _matches(body["query"], doc, i)
            ]
            responses.append({"hits": {"hits": hits}})
        return {"responses": responses}

    async def bulk(self, *, operations: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        items = []
        for meta, doc in zip(operations[::2], operations[1::2], strict=True):
            alert_id = meta["create"]["_id"]
            if alert_id in self.alerts:
                items.append({"create": {"_id": alert_id, "status": 409}})
            else:
                self.alerts[alert_id] = doc
                items.append({"create": {"_id": alert_id, "status": 201}})
        return {"items": items}

    async def mget(self, *, index: str, ids: list[str]) -> dict[str, Any]:
        docs = [{"_id": i, "found": i in self.alerts, "_source": self.alerts.get(i)} for i in ids]
        return {"docs": docs}

    async def update(self, *, index: str, id: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.alerts[id].update(doc)
        return {}

    async def close(self) -> None:
        return None


def _seed() -> EnrichedArticle:
    return EnrichedArticle.model_validate_json((FIXTURES / "seed_enriched.json").read_text())


def _bytes(record: EnrichedArticle) -> bytes:
    return record.model_dump_json().encode()


@pytest.fixture
async def app() -> AsyncIterator[Worker]:
    settings = Settings(
        app_id=f"agents-{uuid.uuid4().hex[:8]}",
        store="memory://",
        story_batch_seconds=0.05,
        alert_batch_seconds=0.05,
        rules_refresh_seconds=0.01,
    )
    worker = app_for_agent_tests(settings)
    stories = worker.stages["story"]
    assert isinstance(stories, StoryStage)
    stories.table = {}
    stories.people = {}
    alerts = worker.stages["alert"]
    assert isinstance(alerts, AlertStage)
    es = FakeElasticsearch(settings.rules_index_name, settings.alerts_index_name)
    rule = load_rule_file(RULE_FILE)
    es.rules[rule.id] = json.loads(
        json.dumps(rule_document(rule, source_file="x", synced_at=datetime.now(UTC)))
    )
    alerts.attach(es)  # type: ignore[arg-type]
    for stage in worker.stages.values():
        stage.ready.set()
    yield worker


def out_of(worker: Worker, stage: Stage) -> list[tuple[bytes | None, bytes]]:
    """What `stage` sent to its output topic."""
    sender = worker.sender
    assert isinstance(sender, RecordingSender)
    return sender.to(stage.outputs["next"])


def letters(worker: Worker) -> list[tuple[bytes | None, bytes]]:
    sender = worker.sender
    assert isinstance(sender, RecordingSender)
    return sender.to(worker.dead_letters.topic)


async def _settle(condition: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the agent did not finish in time")
        await asyncio.sleep(0.05)


async def test_story_agent_gives_a_rewrite_the_story_of_the_original(app: Worker) -> None:
    stage = app.stages["story"]
    assert isinstance(stage, StoryStage)
    seed = _seed()
    rewrite = seed.model_copy(
        update={
            "id": "rewrite-1",
            "title": "Kishida seeks fresh U.N. sanctions",
            "body": "\n\n".join(reversed(seed.body.split("\n\n"))),
        }
    )
    other = seed.model_copy(
        update={"id": "other-1", "body": "An earthquake hit the coast of Chile on Monday night."}
    )
    agent = app.app.agents["wirewatch.stories"]
    async with agent.test_context() as ctx:
        for rec in (seed, rewrite, other):
            await ctx.put(key=rec.id.encode(), value=_bytes(rec), wait=False)
        await ctx.put(key=b"bad", value=b"{not json", wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 3 and letters(app))

    out = {k.decode(): json.loads(v)["story_id"] for k, v in out_of(app, stage)}
    assert out[seed.id] == out["rewrite-1"] != out["other-1"]
    assert set(stage.table) == {seed.id, "rewrite-1", "other-1"}
    entry = stage.table[seed.id]
    assert entry["s"] == out[seed.id] and all(type(v) is int for v in entry["m"])
    letter = json.loads(letters(app)[0][1])
    assert (letter["stage"], letter["reason"]) == ("story", "invalid_enriched")

    # A restarted worker rebuilds its LSH index from the (recovered) table.
    stage.index.rebuild([])
    stage.mark_stale()
    again = rewrite.model_copy(update={"id": "rewrite-2"})
    async with agent.test_context() as ctx:
        await ctx.put(key=b"rewrite-2", value=_bytes(again), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 4)
    assert json.loads(out_of(app, stage)[-1][1])["story_id"] == out[seed.id]


async def test_story_agent_gives_a_lone_surname_the_full_name_seen_in_an_earlier_article(
    app: Worker,
) -> None:
    stage = app.stages["story"]
    assert isinstance(stage, StoryStage)
    seed = _seed()
    first = seed.model_copy(update={"id": "p-1", "persons": ["Adaeze Okonkwo-Bell"]})
    later = seed.model_copy(
        update={"id": "p-2", "body": "Talks in Lagos went on.", "persons": ["Okonkwo-Bell"]}
    )
    agent = app.app.agents["wirewatch.stories"]
    async with agent.test_context() as ctx:
        await ctx.put(key=b"p-1", value=_bytes(first), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 1)
        await ctx.put(key=b"p-2", value=_bytes(later), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 2)
    persons = {k: json.loads(v)["persons"] for k, v in out_of(app, stage)}
    assert persons[b"p-2"] == ["Adaeze Okonkwo-Bell"]
    assert "Adaeze Okonkwo-Bell" in stage.people  # kept in the changelog-backed table
    # A worker taking over rebuilds the registry from the recovered table.
    stage.names_stale = True
    again = later.model_copy(update={"id": "p-3"})
    async with agent.test_context() as ctx:
        await ctx.put(key=b"p-3", value=_bytes(again), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 3)
    assert json.loads(out_of(app, stage)[-1][1])["persons"] == ["Adaeze Okonkwo-Bell"]


async def test_alert_agent_fires_once_per_story_and_explains(app: Worker) -> None:
    stage = app.stages["alert"]
    assert isinstance(stage, AlertStage)
    es: Any = stage.es
    seed = _seed().model_copy(update={"story_id": "story-a"})
    rewrite = seed.model_copy(update={"id": "rewrite-1", "title": "New headline"})
    other_story = seed.model_copy(update={"id": "nk-2", "story_id": "story-b"})
    za = seed.model_copy(
        update={"id": "za-1", "story_id": "story-c", "countries": ["ZA"], "entities": []}
    )
    for rec in (seed, rewrite, other_story, za):
        es.articles[rec.id] = rec.document()
    agent = app.app.agents["wirewatch.alert"]
    async with agent.test_context() as ctx:
        await ctx.put(key=seed.id.encode(), value=_bytes(seed), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 1)
        for rec in (rewrite, other_story, za):
            await ctx.put(key=rec.id.encode(), value=_bytes(rec), wait=False)
        await ctx.put(key=b"junk", value=b"junk", wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 2 and letters(app))
        await asyncio.sleep(0.3)  # let a wrongly fired third alert show up

    sent = [json.loads(v) for _, v in out_of(app, stage)]
    assert [a["id"] for a in sent] == [
        "north-korea-sanctions/story-a",
        "north-korea-sanctions/story-b",
    ]
    assert sent[0]["article_id"] == seed.id and sent[0]["matched_entities"] == [
        "North Korea",
        "Pyongyang",
    ]
    assert sent[0]["delivered"] is False and sent[0]["delivery"] == "failed"  # no webhook URL
    assert set(es.alerts) == {a["id"] for a in sent}
    letter = json.loads(letters(app)[0][1])
    assert (letter["stage"], letter["reason"]) == ("alert", "invalid_enriched")


async def test_articles_no_rule_could_match_cost_no_search(app: Worker) -> None:
    # The rule requires KP among the countries: an article without it is not waited for
    # nor searched; the North Korea article is.
    stage = app.stages["alert"]
    assert isinstance(stage, AlertStage)
    es: Any = stage.es
    seed = _seed().model_copy(update={"story_id": "story-a"})
    za = seed.model_copy(
        update={"id": "za-1", "story_id": "story-c", "countries": ["ZA"], "entities": []}
    )
    for rec in (seed, za):
        es.articles[rec.id] = rec.document()
    agent = app.app.agents["wirewatch.alert"]
    async with agent.test_context() as ctx:
        await ctx.put(key=za.id.encode(), value=_bytes(za), wait=False)
        await asyncio.sleep(0.3)
        assert es.article_searches == [] and es.msearch_calls == 0
        await ctx.put(key=seed.id.encode(), value=_bytes(seed), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 1)
    assert es.article_searches and all(ids == [seed.id] for ids in es.article_searches)


async def test_an_article_searchable_now_is_not_held_back_by_one_that_is_not_yet(
    app: Worker,
) -> None:
    stage = app.stages["alert"]
    assert isinstance(stage, AlertStage)
    es: Any = stage.es
    seed = _seed().model_copy(update={"story_id": "story-a"})
    later = seed.model_copy(update={"id": "nk-2", "story_id": "story-b"})
    es.articles[seed.id] = seed.document()  # `later` is indexed but not refreshed yet
    agent = app.app.agents["wirewatch.alert"]
    async with agent.test_context() as ctx:
        await ctx.put(key=seed.id.encode(), value=_bytes(seed), wait=False)
        await ctx.put(key=later.id.encode(), value=_bytes(later), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 1, timeout=3.0)  # visibility wait: 10 s
        es.articles[later.id] = later.document()  # the next refresh
        await _settle(lambda: len(out_of(app, stage)) >= 2, timeout=5.0)
    fired = [json.loads(v)["article_id"] for _, v in out_of(app, stage)]
    assert fired == [seed.id, later.id]


async def test_alert_agent_retries_elasticsearch_outages_and_resends_its_own_redelivery(
    app: Worker,
) -> None:
    stage = app.stages["alert"]
    assert isinstance(stage, AlertStage)
    es: Any = stage.es
    es.msearch_failures = 2
    seed = _seed().model_copy(update={"story_id": "story-a"})
    es.articles[seed.id] = seed.document()
    agent = app.app.agents["wirewatch.alert"]
    async with agent.test_context() as ctx:
        await ctx.put(key=seed.id.encode(), value=_bytes(seed), wait=False)
        await _settle(lambda: len(out_of(app, stage)) >= 1)
    assert es.msearch_calls == 3  # two failures, retried, not dropped
    stored = es.alerts["north-korea-sanctions/story-a"]

    # The same record again from the same offset (a crash before the commit): resent.
    # From another offset (the article published again): suppressed.
    from types import SimpleNamespace

    from processors.rules import Alert

    alert = Alert.model_validate(stored)
    topic, partition, offset = str(stored["origin"]).rsplit("/", 2)
    same = SimpleNamespace(
        message=SimpleNamespace(
            topic=topic, partition=int(partition), offset=int(offset), value=_bytes(seed)
        )
    )
    later = SimpleNamespace(
        message=SimpleNamespace(
            topic=topic, partition=int(partition), offset=99, value=_bytes(seed)
        )
    )
    await stage.process([same])
    assert [json.loads(v)["id"] for _, v in out_of(app, stage)] == [alert.id, alert.id]
    await stage.process([later])
    assert len(out_of(app, stage)) == 2 and len(es.alerts) == 1
