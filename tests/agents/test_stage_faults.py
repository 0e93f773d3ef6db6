"""Agent tier: what every stage (enrich, story, index, alert) does when its output topic, the
dead-letter topic or Elasticsearch fails, transiently, for good or fatally.

Each stage runs under the product's batch runner (`streams.core.batches.run_batch`, what the
agent calls), or under its Faust agent with in-memory channels; the producer is a
`RecordingSender` whose broker answers from a script, Elasticsearch is a fake, the enrichment
runs for real in a thread. Backoffs take no time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import errors as aiokafka_errors
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, BadRequestError
from elasticsearch import ConnectionError as ESConnectionError

from processors.models import EnrichedArticle
from processors.rules import rule_document
from streams.app import Worker
from streams.clients.elastic import BulkWriter
from streams.core import batches
from streams.core import retry as retry_module
from streams.core.batches import run_batch
from streams.operations.rule_files import load_rule_file
from streams.settings import Settings
from streams.stages.alerts import AlertStage
from streams.stages.base import Stage
from streams.stages.enrich import EnrichStage
from streams.stages.stories import StoryStage
from streams.topology import stages, topics
from tests.agents.test_alert_agents import RULE_FILE, FakeElasticsearch
from tests.agents.test_alert_agents import _seed as seed_record
from tests.doubles import FakeBulkElasticsearch, RecordingSender, app_for_agent_tests

STAGES = ["enrich", "story", "index", "alert"]
IDS = ("w1", "w2", "w3")
"""The articles of every batch; `w2` is the one a fault is aimed at."""
RULE_ID = "north-korea-sanctions"
RUN_SECONDS = 30.0
TRANSIENT_KAFKA = [aiokafka_errors.KafkaConnectionError, aiokafka_errors.RequestTimedOutError]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every retry of the product (sends, bulk writes, searches, the batch runner) goes
    through `streams.core.retry.backoff`: no waiting in these tests."""
    monkeypatch.setattr(retry_module, "backoff", lambda *a, **kw: 0.0)


class Stopped(Exception):
    """Stands in for the fail-stop (`os._exit(70)`), which would end the test run."""


@pytest.fixture(autouse=True)
def stops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any], str]]:
    """The batch runner's fail-stops, as (stage, events, why); each raises `Stopped` (in
    every test: an unexpected fail-stop fails the test instead of ending the run)."""
    seen: list[tuple[str, list[Any], str]] = []

    def fake_fail_stop(stage: str, events: Sequence[Any], why: str) -> None:
        seen.append((stage, list(events), why))
        raise Stopped(why)

    monkeypatch.setattr(batches, "fail_stop", fake_fail_stop)
    monkeypatch.setattr(batches, "SHUTDOWN_GRACE_SECONDS", 1.0)
    return seen


# ---------------------------------------------------------------------- doubles


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "localhost", 9200),
    )


class AlertsElasticsearch(FakeElasticsearch):
    """The fake of the alert agent tests, with scripted failures: `fail[call]` is a list of
    exceptions raised by the next calls of that method; `msearch_statuses` answers the next
    `_msearch` calls with that status for every search; `bulk_statuses` answers the next
    bulk calls with {alert id: status} (others as usual); `reject` answers a status for an
    alert id on every bulk call; `refuse_request` refuses a whole request."""

    def __init__(self, rules_index: str, alerts_index: str) -> None:
        super().__init__(rules_index, alerts_index)
        self.fail: dict[str, list[BaseException]] = {}
        self.calls: Counter[str] = Counter()
        self.msearch_statuses: list[int] = []
        self.bulk_statuses: list[dict[str, int]] = []
        self.reject: dict[str, int] = {}
        self.refuse_request: str | None = None
        """A bulk request holding this alert id is refused as a whole with a 400."""

    def _step(self, call: str) -> None:
        self.calls[call] += 1
        errors = self.fail.get(call)
        if errors:
            raise errors.pop(0)

    async def search(self, *, index: str, query: dict[str, Any], **kw: Any) -> dict[str, Any]:
        self._step("rules" if index == self.rules_index else "search")
        return await super().search(index=index, query=query, **kw)

    async def msearch(self, *, searches: list[dict[str, Any]]) -> dict[str, Any]:
        self._step("msearch")
        if self.msearch_statuses:
            status = self.msearch_statuses.pop(0)
            answer = {"error": {"type": "es_rejected_execution_exception"}, "status": status}
            return {"responses": [answer for _ in searches[1::2]]}
        return await super().msearch(searches=searches)

    async def bulk(self, *, operations: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        self._step("bulk")
        if any(m["create"]["_id"] == self.refuse_request for m in operations[::2]):
            raise BadRequestError(
                "action_request_validation_exception", _meta(400), {"error": {"type": "x"}}
            )
        statuses = dict(self.reject)
        if self.bulk_statuses:
            statuses |= self.bulk_statuses.pop(0)
        items = []
        for meta, doc in zip(operations[::2], operations[1::2], strict=True):
            alert_id = meta["create"]["_id"]
            if alert_id in statuses:
                error = {"type": "document_parsing_exception", "reason": "scripted"}
                items.append(
                    {"create": {"_id": alert_id, "status": statuses[alert_id], "error": error}}
                )
            elif alert_id in self.alerts:
                items.append({"create": {"_id": alert_id, "status": 409}})
            else:
                self.alerts[alert_id] = doc
                items.append({"create": {"_id": alert_id, "status": 201}})
        return {"items": items}

    async def mget(self, *, index: str, ids: list[str]) -> dict[str, Any]:
        self._step("mget")
        return await super().mget(index=index, ids=ids)


def _seen(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()


class QuietSender(RecordingSender):
    """A `RecordingSender` whose failed acks count as seen even when nobody awaits them.

    A fatal send stops at the first failed ack and leaves the others unawaited, in reference
    cycles with the exception; the collector would report them later, at a random moment,
    and on CPython 3.11 that report running inside `ast.parse` (pytest formatting a failure
    or importing a plugin) fails it with `SystemError` and ends the session."""

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        fut = await super().enqueue(topic, key, value)
        fut.add_done_callback(_seen)
        return fut


class Broker:
    """The `fail(topic, key, value)` of a `RecordingSender`: per topic, errors for the first
    attempts (`down`), and for good for some keys (`refuse`), or for letters that still
    carry their original (`refuse_big_letters`)."""

    def __init__(self) -> None:
        self.down: dict[str, list[BaseException]] = {}
        self.refuse: dict[tuple[str, bytes], BaseException] = {}
        self.refuse_big_letters: str | None = None
        self.refuse_all: dict[str, BaseException] = {}
        self.tried: Counter[str] = Counter()

    def __call__(self, topic: str, key: bytes | None, value: bytes) -> BaseException | None:
        self.tried[topic] += 1
        if topic in self.refuse_all:
            return self.refuse_all[topic]
        if self.down.get(topic):
            return self.down[topic].pop(0)
        if key is not None and (topic, key) in self.refuse:
            return self.refuse[(topic, key)]
        if topic == self.refuse_big_letters and json.loads(value)["original"]:
            return aiokafka_errors.MessageSizeTooLargeError("letter larger than the topic allows")
        return None


# ---------------------------------------------------------------------- harness


@dataclass
class Harness:
    worker: Worker
    sender: RecordingSender
    broker: Broker
    stage: Stage
    source: str
    """The topic the stage consumes."""
    agent: str
    inputs: dict[str, bytes]
    """Article id -> the message value the stage consumes."""
    out_key: Callable[[str], bytes]
    """Article id -> the key of the stage's output record for it."""
    es: Any = None
    bulk: FakeBulkElasticsearch | None = None
    pool: ThreadPoolExecutor | None = None
    events: list[Any] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stage.outputs["next"]

    @property
    def dlq(self) -> str:
        return self.worker.dead_letters.topic

    def batch(self) -> list[Any]:
        """One batch of the inputs, as consumed events at offsets 100, 101, ..."""
        self.events = [
            SimpleNamespace(
                message=SimpleNamespace(
                    topic=self.source, partition=1, offset=100 + i, key=k.encode(), value=v
                )
            )
            for i, (k, v) in enumerate(self.inputs.items())
        ]
        return self.events

    async def run(self) -> None:
        """The batch through the batch runner, as the agent runs it (a batch that never
        becomes durable fails the test rather than hanging it)."""
        batch = run_batch(self.stage.name, self.stage.run, self.batch(), self.stage.isolation)
        await asyncio.wait_for(batch, timeout=RUN_SECONDS)

    def out_keys(self) -> Counter[bytes | None]:
        return Counter(k for k, _ in self.sender.to(self.output))

    def letters(self) -> list[dict[str, Any]]:
        return [json.loads(v) for _, v in self.sender.to(self.dlq)]

    def expected(self, *ids: str) -> Counter[bytes | None]:
        return Counter(self.out_key(i) for i in ids)


def _raw(art_id: str) -> bytes:
    body = "Japan held talks with the United States in Tokyo on Tuesday."
    return json.dumps({"id": art_id, "title": f"Talks {art_id}", "body": body}).encode()


def _enriched(art_id: str, **update: Any) -> EnrichedArticle:
    return seed_record().model_copy(update={"id": art_id, "story_id": f"story-{art_id}", **update})


def _build(name: str, **update: Any) -> Harness:
    settings = Settings(
        app_id=f"faults-{uuid.uuid4().hex[:8]}",
        store="memory://",
        batch_size=8,
        batch_seconds=0.05,
        story_batch_seconds=0.05,
        index_batch_seconds=0.05,
        alert_batch_seconds=0.05,
        rules_refresh_seconds=0.01,
        max_article_bytes=5000,
        **update,
    )
    broker = Broker()
    sender = QuietSender(fail=broker)
    worker = app_for_agent_tests(settings, sender)
    (decl,) = [d for d in stages(settings) if d.kind.name == name]
    stage = worker.stages[name]
    for s in worker.stages.values():
        s.ready.set()
    harness = Harness(
        worker=worker,
        sender=sender,
        broker=broker,
        stage=stage,
        source=topics(settings)[decl.source].name,
        agent=decl.agent,
        inputs={},
        out_key=lambda art_id: art_id.encode(),
    )
    if isinstance(stage, EnrichStage):
        harness.pool = stage.pool = ThreadPoolExecutor(max_workers=1)
        harness.inputs = {i: _raw(i) for i in IDS}
    elif isinstance(stage, StoryStage):
        stage.table = {}
        stage.people = {}
        harness.inputs = {i: _enriched(i, story_id=None).model_dump_json().encode() for i in IDS}
    elif name == "index":
        harness.bulk = FakeBulkElasticsearch()
        worker.index.writer = BulkWriter(harness.bulk, settings.es_alias)  # type: ignore[arg-type]
        harness.inputs = {i: _enriched(i).model_dump_json().encode() for i in IDS}
    else:
        assert isinstance(stage, AlertStage)
        es = AlertsElasticsearch(settings.rules_index_name, settings.alerts_index_name)
        rule = load_rule_file(RULE_FILE)
        assert rule.id == RULE_ID
        es.rules[rule.id] = json.loads(
            json.dumps(rule_document(rule, source_file="x", synced_at=datetime.now(UTC)))
        )
        stage.attach(es)  # type: ignore[arg-type]
        harness.es = es
        records = {i: _enriched(i) for i in IDS}
        for art_id, rec in records.items():
            es.articles[art_id] = rec.document()
        harness.inputs = {i: rec.model_dump_json().encode() for i, rec in records.items()}
        harness.out_key = lambda art_id: f"{RULE_ID}/story-{art_id}".encode()
    return harness


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Harness]]:
    built: list[Harness] = []

    def _make(name: str, **update: Any) -> Harness:
        harness = _build(name, **update)
        built.append(harness)
        return harness

    yield _make
    for harness in built:
        if harness.pool is not None:
            harness.pool.shutdown()


async def _settle(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the agent did not finish in time")
        await asyncio.sleep(0.02)


def _assert_letter(h: Harness, letter: dict[str, Any], art_id: str, reason: str) -> None:
    """A dead letter for the input of `art_id`: its reason, the stage, the position and the
    original bytes."""
    event = h.events[list(h.inputs).index(art_id)]
    assert letter["reason"] == reason
    assert letter["stage"] == h.stage.name
    assert (letter["topic"], letter["partition"], letter["offset"]) == (
        h.source,
        1,
        event.message.offset,
    )
    assert letter["article_id"] == art_id
    assert base64.b64decode(letter["original"]) == h.inputs[art_id]


# ---------------------------------------------------------------------- 1. transient sends


@pytest.mark.parametrize("error", TRANSIENT_KAFKA, ids=lambda e: e.__name__)
@pytest.mark.parametrize("name", STAGES)
async def test_a_send_failing_transiently_is_retried_until_every_record_arrives(
    make: Callable[..., Harness], name: str, error: type[Exception]
) -> None:
    h = make(name)
    h.broker.down[h.output] = [error() for _ in range(4)]  # 3 records, then 1 of the retry
    await h.run()

    assert h.out_keys() == h.expected(*IDS)  # every record, once (only failures re-issued)
    assert h.letters() == []
    # All 3 fail, then the 3 are re-issued and the first fails, then that one: 7 attempts.
    assert h.sender.attempts == 7
    assert h.broker.tried[h.output] == 7


@pytest.mark.parametrize("name", STAGES)
async def test_the_agent_waits_out_a_failing_output_topic_and_loses_nothing(
    make: Callable[..., Harness], name: str
) -> None:
    """The same through the stage's Faust agent: a broker away for a while."""
    h = make(name)
    h.broker.down[h.output] = [aiokafka_errors.KafkaConnectionError() for _ in range(10)]
    agent = h.worker.app.agents[h.agent]
    async with agent.test_context() as ctx:
        for art_id, value in h.inputs.items():
            await ctx.put(key=art_id.encode(), value=value, wait=False)
        await _settle(lambda: sum(h.out_keys().values()) >= len(IDS))
        await asyncio.sleep(0.1)  # let a duplicate or a dead letter show up

    assert h.out_keys() == h.expected(*IDS)
    assert h.letters() == []
    assert h.broker.tried[h.output] >= 10 + len(IDS)


# ---------------------------------------------------------------------- 2. refused for good


@pytest.mark.parametrize("name", STAGES)
async def test_a_record_the_output_topic_refuses_for_good_is_dead_lettered_alone(
    make: Callable[..., Harness], name: str
) -> None:
    h = make(name)
    h.broker.refuse[(h.output, h.out_key("w2"))] = aiokafka_errors.MessageSizeTooLargeError()
    await h.run()

    assert h.out_keys() == h.expected("w1", "w3")
    (letter,) = h.letters()
    _assert_letter(h, letter, "w2", "undeliverable")
    assert "MessageSizeTooLargeError" in letter["detail"] and h.output in letter["detail"]
    (key,) = [k for k, _ in h.sender.to(h.dlq)]
    assert key == b"w2"
    if name == "alert":  # the alert stays in the alerts index
        assert f"{RULE_ID}/story-w2" in h.es.alerts


# ---------------------------------------------------------------------- 3. fatal sends


@pytest.mark.parametrize(
    "error",
    [
        aiokafka_errors.TopicAuthorizationFailedError,
        aiokafka_errors.ClusterAuthorizationFailedError,
    ],
    ids=lambda e: e.__name__,
)
@pytest.mark.parametrize("name", STAGES)
async def test_a_fatal_send_fail_stops_before_the_ack_and_dead_letters_nothing(
    make: Callable[..., Harness],
    stops: list[tuple[str, list[Any], str]],
    name: str,
    error: type[Exception],
) -> None:
    h = make(name)
    h.broker.refuse_all[h.output] = error()
    with pytest.raises(Stopped):
        await h.run()

    assert h.letters() == [] and h.broker.tried[h.dlq] == 0
    assert h.out_keys() == Counter()
    ((stage, events, why),) = stops
    assert stage == name and events == h.events
    assert error.__name__ in why
    assert h.broker.tried[h.output] == len(IDS)  # not retried


# ---------------------------------------------------------------------- 4. the dead-letter topic


@pytest.mark.parametrize("name", STAGES)
async def test_a_letter_too_large_for_the_dead_letter_topic_is_sent_without_its_original(
    make: Callable[..., Harness], name: str
) -> None:
    h = make(name)
    h.broker.refuse[(h.output, h.out_key("w2"))] = aiokafka_errors.MessageSizeTooLargeError()
    h.broker.refuse_big_letters = h.dlq
    await h.run()

    assert h.out_keys() == h.expected("w1", "w3")
    (letter,) = h.letters()
    assert letter["reason"] == "undeliverable" and letter["stage"] == name
    assert letter["article_id"] == "w2" and letter["offset"] == 101 and letter["topic"] == h.source
    assert letter["original"] == ""
    assert f"[original of {len(h.inputs['w2'])} bytes dropped" in letter["detail"]
    assert "MessageSizeTooLargeError" in letter["detail"]
    assert h.broker.tried[h.dlq] == 2  # the full letter, then the bare one


@pytest.mark.parametrize("name", STAGES)
async def test_a_dead_letter_topic_refusing_even_the_bare_letter_fail_stops(
    make: Callable[..., Harness], stops: list[tuple[str, list[Any], str]], name: str
) -> None:
    h = make(name)
    h.broker.refuse[(h.output, h.out_key("w2"))] = aiokafka_errors.MessageSizeTooLargeError()
    h.broker.refuse_all[h.dlq] = aiokafka_errors.MessageSizeTooLargeError()
    with pytest.raises(Stopped):
        await h.run()

    assert h.letters() == []
    ((stage, _, why),) = stops
    assert stage == name and "refuses letters" in why


@pytest.mark.parametrize("name", STAGES)
async def test_a_dead_letter_topic_failing_transiently_gets_the_letter_once(
    make: Callable[..., Harness], name: str
) -> None:
    h = make(name)
    h.broker.refuse[(h.output, h.out_key("w2"))] = aiokafka_errors.MessageSizeTooLargeError()
    h.broker.down[h.dlq] = [aiokafka_errors.RequestTimedOutError() for _ in range(3)]
    await h.run()

    assert h.out_keys() == h.expected("w1", "w3")
    (letter,) = h.letters()
    _assert_letter(h, letter, "w2", "undeliverable")
    assert h.broker.tried[h.dlq] == 4


# ---------------------------------------------------------------------- 5. Elasticsearch: index


@pytest.mark.parametrize(
    "script",
    [
        [429, 503],
        [ESConnectionError("node away"), ApiError("unavailable", _meta(503), {})],
        [ApiError("too many requests", _meta(429), {}), 502],
    ],
    ids=["items-429-503", "unreachable-then-503", "request-429-then-items-502"],
)
async def test_index_stage_waits_out_elasticsearch_and_forwards_every_document(
    make: Callable[..., Harness], script: list[Any]
) -> None:
    h = make("index")
    assert h.bulk is not None
    h.bulk.script = list(script)
    await h.run()

    assert set(h.bulk.indexed) == set(IDS) and h.bulk.calls == 3
    assert h.out_keys() == h.expected(*IDS)
    assert dict(h.sender.to(h.output)) == {i.encode(): h.inputs[i] for i in IDS}
    assert h.letters() == []
    assert h.worker.index.healthy


@pytest.mark.parametrize("title", ["reject me", "refuse me"], ids=["item-400", "request-400"])
async def test_index_stage_dead_letters_only_the_document_elasticsearch_rejects(
    make: Callable[..., Harness], title: str
) -> None:
    """A 400 for one document (`reject`), or for a whole request because of one document
    (`refuse`, found by halving): `index_rejected` for that document, not forwarded; the
    others indexed and forwarded."""
    h = make("index")
    assert h.bulk is not None
    h.inputs["w2"] = _enriched("w2", title=title).model_dump_json().encode()
    await h.run()

    assert set(h.bulk.indexed) == {"w1", "w3"}
    assert h.out_keys() == h.expected("w1", "w3")
    (letter,) = h.letters()
    _assert_letter(h, letter, "w2", "index_rejected")
    assert "exception" in letter["detail"]


async def test_index_stage_retries_a_transient_item_and_rejects_a_bad_one_in_one_batch(
    make: Callable[..., Harness],
) -> None:
    h = make("index")
    assert h.bulk is not None
    h.inputs["w2"] = _enriched("w2", title="reject me").model_dump_json().encode()
    h.bulk.script = [503]
    await h.run()

    assert set(h.bulk.indexed) == {"w1", "w3"}
    assert h.out_keys() == h.expected("w1", "w3")
    assert [(x["reason"], x["article_id"]) for x in h.letters()] == [("index_rejected", "w2")]


@pytest.mark.parametrize("layout", ["split", "chunks"])
async def test_index_stage_dead_letters_a_rejected_document_once_across_an_outage(
    make: Callable[..., Harness], layout: str
) -> None:
    """The node goes away in the middle of one write, after Elasticsearch already rejected
    `w2` in that same write: halving a request it refused as a whole (`split`), or the
    first of two `_bulk` chunks (`chunks`, a batch larger than the writer's chunk). The
    write is retried and `w2` rejected again; it must still be dead-lettered only once."""
    h = make("index")
    assert h.bulk is not None
    if layout == "split":
        # [w1 w2 w3] refused -> [w1] ok, [w2 w3] refused -> [w2] rejected, [w3]: node away.
        h.inputs["w2"] = _enriched("w2", title="refuse me").model_dump_json().encode()
        h.bulk.script = [None, None, None, None, ESConnectionError("node away")]
    else:
        # [w1 w2]: w2 rejected (400), [w3]: node away.
        h.worker.index.writer = BulkWriter(h.bulk, "articles", chunk_size=2)  # type: ignore[arg-type]
        h.inputs["w2"] = _enriched("w2", title="reject me").model_dump_json().encode()
        h.bulk.script = [None, ESConnectionError("node away")]
    await h.run()

    assert set(h.bulk.indexed) == {"w1", "w3"}
    assert h.out_keys() == h.expected("w1", "w3")
    assert [(x["reason"], x["article_id"]) for x in h.letters()] == [("index_rejected", "w2")]


# ---------------------------------------------------------------------- 5. Elasticsearch: alert
# (msearch raising ConnectionError twice is in test_alert_agents.py)


@pytest.mark.parametrize(
    ("call", "errors"),
    [
        ("rules", [ESConnectionError("away"), ApiError("unavailable", _meta(503), {})]),
        ("search", [ESConnectionError("away"), ESConnectionError("away")]),
        ("bulk", [ESConnectionError("away"), ApiError("too many", _meta(429), {})]),
    ],
    ids=["rules-search", "visibility-search", "bulk-create"],
)
async def test_alert_stage_waits_out_elasticsearch_and_fires_every_alert_once(
    make: Callable[..., Harness], call: str, errors: list[BaseException]
) -> None:
    h = make("alert")
    h.es.fail[call] = list(errors)
    await h.run()

    assert h.out_keys() == h.expected(*IDS)
    assert set(h.es.alerts) == {h.out_key(i).decode() for i in IDS}
    assert h.letters() == []
    assert h.es.calls[call] >= len(errors) + 1


@pytest.mark.parametrize("status", [429, 503])
async def test_alert_stage_retries_searches_answered_with_a_transient_status(
    make: Callable[..., Harness], status: int
) -> None:
    h = make("alert")
    h.es.msearch_statuses = [status, status]
    await h.run()

    assert h.out_keys() == h.expected(*IDS)
    assert h.letters() == [] and h.es.calls["msearch"] == 3


@pytest.mark.parametrize("status", [429, 503])
async def test_alert_stage_retries_an_alert_answered_with_a_transient_status(
    make: Callable[..., Harness], status: int
) -> None:
    h = make("alert")
    h.es.bulk_statuses = [{h.out_key("w2").decode(): status}]
    await h.run()

    assert h.out_keys() == h.expected(*IDS)
    assert set(h.es.alerts) == {h.out_key(i).decode() for i in IDS}
    assert h.letters() == [] and h.es.calls["bulk"] == 2
    assert h.es.calls["mget"] == 0  # not mistaken for a duplicate


async def test_alert_stage_dead_letters_an_alert_elasticsearch_rejects(
    make: Callable[..., Harness],
) -> None:
    h = make("alert")
    h.es.reject[h.out_key("w2").decode()] = 400
    await h.run()

    assert h.out_keys() == h.expected("w1", "w3")  # the rejected alert is not sent
    assert set(h.es.alerts) == {h.out_key("w1").decode(), h.out_key("w3").decode()}
    (letter,) = h.letters()
    _assert_letter(h, letter, "w2", "alert_rejected")
    assert "document_parsing_exception" in letter["detail"]
    assert h.es.calls["bulk"] == 1  # a 400 is not retried


async def test_alert_stage_isolates_an_alert_whose_whole_bulk_request_is_refused(
    make: Callable[..., Harness],
) -> None:
    """A 400 for the whole bulk request (not per item) because of one alert: the batch
    runner runs the records alone, the others' alerts fire, and the record at fault is
    dead-lettered with its original bytes (as `processing_failed`: the stage has no split
    like the index stage's)."""
    h = make("alert")
    h.es.refuse_request = h.out_key("w2").decode()
    await h.run()

    assert h.out_keys() == h.expected("w1", "w3")
    assert set(h.es.alerts) == {h.out_key("w1").decode(), h.out_key("w3").decode()}
    (letter,) = h.letters()
    _assert_letter(h, letter, "w2", "processing_failed")
    assert letter["detail"].startswith("BadRequestError")
