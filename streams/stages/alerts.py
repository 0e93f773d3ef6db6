"""Alerts: the rules index, the alert agent, the alerts topic and index, the webhook.

    index agent --(after a durable bulk write)--> articles.indexed --> [wirewatch.alert]
        --> alerts index (create, `_id` = <rule>/<story>) --> alerts topic --> webhook (async)

Matching. Elasticsearch's percolator is not used: the local node (Elasticsearch 8.19 from
Maven Central) has no percolator module, and a production-only code path would never be
tested. Instead the synced rules live as documents in the rules index (`<alias>-rules`),
and the alert agent runs them against the batch just indexed: one `_msearch` per batch, one
search per rule = the rule's query AND an `ids` filter on the batch, with highlights. So
Elasticsearch's own query semantics (analysis, nested, ranges) decide every match. Rules
that cannot match an article (their required canonical terms are absent, see
`processors.rules.required_terms`) are skipped before the request, as the percolator skips
queries by their extracted terms.

Searchable before matched. The index agent forwards records to `articles.indexed` only after
Elasticsearch accepted them; they become searchable at the next scheduled refresh. The alert
agent waits for that (an `ids` search, polled) rather than forcing refreshes, and forces one
only after `alert_visibility_seconds`.

Once per (rule, story). The alert's `_id` is `<rule>/<story_id>` and it is written with
`op_type=create`: Elasticsearch refuses a second one (409), atomically across workers and
restarts. A 409 whose stored alert has the same article id is our own redelivery (a crash
after the write, before the offset commit): the alert is sent to the topic again, never
re-created.

Error policy (as in streams/app.py):
- a record that does not parse -> dead letter (stage `alert`);
- Elasticsearch unreachable, timeouts, 429, 5xx, Kafka send failures -> retry with backoff,
  forever, while consumption waits; nothing is dropped;
- an alert Elasticsearch rejects for good (400) -> dead letter of the article;
- a rule whose query fails at search time -> logged and counted (`wirewatch_rule_errors_total`),
  the other rules still run (sync validates queries, so this means a mapping change);
- anything unexpected (a bug) -> the batch runner (`streams.core.batches.run_batch`) runs the
  batch's records one at a time and dead-letters the one at fault as `processing_failed`;
  a process-wide error fail-stops before the ack, so the
  batch is redelivered after the restart;
- offsets are acked when the batch returns, i.e. after every alert is in the index and on the
  topic (acks=all). The webhook runs after that, in the background, with retries and
  backoff: a failing webhook neither blocks the pipeline nor loses the alert, which stays in
  the topic and the index with `delivered: false`, `delivery: failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import aiohttp
import faust
import mode
import structlog
from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    Elasticsearch,
)
from faust.streams import Stream
from faust.types import EventT, StreamT
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from processors.errors import WirewatchError
from processors.models import EnrichedArticle
from processors.rules import (
    Alert,
    Requirement,
    Rule,
    RuleError,
    explain,
    is_candidate,
    load_rules_dir,
    make_alert,
    mapping_fields,
    match_request,
    record_terms,
    required_terms,
    rule_document,
    rule_from_document,
    to_es_query,
)
from streams import metrics
from streams.clients import resources
from streams.clients.elastic import (
    BulkOutcome,
    IndexRequest,
    make_async_client,
    template_body,
    wait_for_index,
)
from streams.core.batches import run_batch
from streams.core.deadletter import event_value
from streams.core.faults import TRANSIENT_STATUS, is_transient
from streams.core.retry import backoff
from streams.settings import Settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

MSEARCH_CHUNK = 500
"""Searches per `_msearch` request (1,000 rules make at most two requests per batch)."""
WEBHOOK_QUEUE = 10_000
WEBHOOK_CONCURRENCY = 4

ALERTS_FIRED = Counter(
    "wirewatch_alerts_fired_total", "Alerts fired", ["rule"], registry=metrics.REGISTRY
)
ALERTS_SUPPRESSED = Counter(
    "wirewatch_alerts_suppressed_total",
    "Matches not fired because the rule already fired for the story",
    ["rule"],
    registry=metrics.REGISTRY,
)
ARTICLES_CHECKED = Counter(
    "wirewatch_alert_checked_total",
    "Indexed articles the alert agent has finished with (matched or not)",
    registry=metrics.REGISTRY,
)
RULE_ERRORS = Counter(
    "wirewatch_rule_errors_total",
    "Rule searches Elasticsearch refused",
    ["rule"],
    registry=metrics.REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "wirewatch_webhook_deliveries_total",
    "Webhook deliveries by outcome",
    ["outcome"],
    registry=metrics.REGISTRY,
)
MATCH_SECONDS = Histogram(
    "wirewatch_rule_match_seconds",
    "Time to run the rules against one batch (the _msearch)",
    registry=metrics.REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
WAIT_SEARCHABLE_SECONDS = Histogram(
    "wirewatch_wait_searchable_seconds",
    "Time the alert agent waited for a batch to become searchable",
    registry=metrics.REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)


class DeadLetterer(Protocol):
    async def dead_letter(
        self,
        event: EventT[bytes],
        stage: str,
        reason: str,
        detail: str,
        article_id: str | None = None,
    ) -> None: ...


# ---------------------------------------------------------------------- retries


async def retry_forever(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run `call` until it succeeds, backing off on transient errors; others propagate."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            attempt += 1
            delay = backoff(attempt)
            metrics.RETRIED.labels(stage="alert").inc()
            log.warning(
                "alerts.retry",
                what=what,
                attempt=attempt,
                delay=round(delay, 2),
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
            )
            await asyncio.sleep(delay)


# ---------------------------------------------------------------------- indices


def _template(body: dict[str, Any], index: str) -> dict[str, Any]:
    body["index_patterns"] = [index]
    return body


def ensure_alert_indices(es: Elasticsearch, settings: Settings) -> None:
    """Install the rules and alerts templates and create both indices (idempotent)."""
    for template, index in (
        (resources.rules_template(), settings.rules_index_name),
        (resources.alerts_template(), settings.alerts_index_name),
    ):
        body = _template(template, index)
        es.indices.put_index_template(name=f"{index}-template", **body)
        if not es.indices.exists(index=index):
            try:
                es.indices.create(index=index)
            except ApiError as exc:
                if exc.status_code != 400 or "resource_already_exists" not in str(exc):
                    raise
        else:
            mappings = body["template"]["mappings"]
            es.indices.put_mapping(index=index, properties=mappings["properties"])
        wait_for_index(es, index)


class TopicLayoutError(WirewatchError):
    """A topic exists with a layout the pipeline cannot be correct with."""


def ensure_alert_topics(settings: Settings) -> None:
    """Create the story, indexed and alerts topics (idempotent) before a worker subscribes.

    The story topic must have exactly one partition (see streams/stages/stories.py): one that was
    created with more is refused with a clear error instead of splitting the story state.
    """
    from streams.clients.kafka import ensure_topics

    single = settings.model_copy(update={"topic_partitions": 1})
    partitions = ensure_topics(single, [settings.topic_stories])[settings.topic_stories]
    ensure_topics(settings, [settings.topic_indexed, settings.topic_alerts])
    if partitions != 1:
        raise TopicLayoutError(
            f"topic {settings.topic_stories!r} has {partitions} partitions; story clustering "
            "needs exactly 1 (delete it or set WIREWATCH_TOPIC_STORIES to a new name)"
        )


async def forward_indexed(
    topic: faust.TopicT, requests: Sequence[IndexRequest], outcome: BulkOutcome
) -> None:
    """Send the records of a durable bulk write to the indexed topic (not the rejected ones)
    and wait until Kafka has them."""
    rejected = {req.doc_id for req, _ in outcome.rejected}
    futures = [
        await topic.send(key=req.doc_id.encode(), value=req.raw)
        for req in requests
        if req.doc_id not in rejected
    ]
    await asyncio.gather(*futures)


# ---------------------------------------------------------------------- rules


@dataclass(frozen=True)
class ActiveRule:
    """A synced rule, ready to run: its query and its candidate requirements."""

    rule: Rule
    query: dict[str, Any]
    required: list[Requirement]

    @classmethod
    def of(cls, rule: Rule) -> ActiveRule:
        query = to_es_query(rule)
        return cls(rule=rule, query=query, required=required_terms(query))


async def load_active_rules(es: AsyncElasticsearch, index: str) -> list[ActiveRule]:
    """The enabled rules of the rules index (none if it does not exist yet)."""
    resp = await es.options(ignore_status=404).search(
        index=index, size=10_000, query={"term": {"enabled": True}}, sort=["id"]
    )
    rules = []
    for hit in resp.get("hits", {}).get("hits", []):
        try:
            rules.append(ActiveRule.of(rule_from_document(hit["_source"])))
        except (ValidationError, KeyError) as exc:
            log.error("alerts.bad_rule_document", rule=hit.get("_id"), error=str(exc)[:300])
    return rules


class RuleCache:
    """The active rules, re-read from the rules index every `ttl` seconds."""

    def __init__(self, es: AsyncElasticsearch, index: str, ttl: float) -> None:
        self.es = es
        self.index = index
        self.ttl = ttl
        self._rules: list[ActiveRule] | None = None
        self._at = 0.0

    async def get(self) -> list[ActiveRule]:
        if self._rules is None or time.monotonic() - self._at >= self.ttl:
            rules = await retry_forever(
                "load_rules", lambda: load_active_rules(self.es, self.index)
            )
            if self._rules is None or [r.rule for r in rules] != [r.rule for r in self._rules]:
                log.info("alerts.rules_loaded", rules=[r.rule.id for r in rules][:50])
            self._rules = rules
            self._at = time.monotonic()
        return self._rules


# ---------------------------------------------------------------------- matching


@dataclass(frozen=True)
class RuleHit:
    """One article matched by one rule, with what Elasticsearch said about the match."""

    rule: ActiveRule
    article_id: str
    highlight: dict[str, list[str]]
    matched_queries: list[str]


@dataclass
class MatchStats:
    searches: int = 0
    requests: int = 0
    skipped: int = 0
    """(rule, article) pairs not searched because the article lacks a required term."""
    failed_rules: list[str] = field(default_factory=list)


async def match_rules(
    es: AsyncElasticsearch,
    index: str,
    rules: Sequence[ActiveRule],
    records: Mapping[str, EnrichedArticle],
    *,
    candidates: bool = True,
    chunk: int = MSEARCH_CHUNK,
) -> tuple[list[RuleHit], MatchStats]:
    """Run every rule on these (searchable) documents: one search per rule that could match
    one of them, in `_msearch` requests of `chunk` searches."""
    stats = MatchStats()
    terms = {art_id: record_terms(rec) for art_id, rec in records.items()}
    pending: list[tuple[ActiveRule, list[str]]] = []
    for active in rules:
        ids = [
            art_id
            for art_id in records
            if not candidates or is_candidate(active.required, terms[art_id])
        ]
        stats.skipped += len(records) - len(ids)
        if ids:
            pending.append((active, ids))
    hits: list[RuleHit] = []
    attempt = 0
    while pending:
        retry: list[tuple[ActiveRule, list[str]]] = []
        for start in range(0, len(pending), chunk):
            part = pending[start : start + chunk]
            body: list[dict[str, Any]] = []
            for active, ids in part:
                body += [{"index": index}, match_request(active.query, ids)]
            resp = await retry_forever("msearch", partial(es.msearch, searches=body))
            stats.requests += 1
            stats.searches += len(part)
            for (active, ids), answer in zip(part, resp["responses"], strict=True):
                if "error" in answer:
                    status = answer.get("status")
                    if isinstance(status, int) and status in TRANSIENT_STATUS:
                        retry.append((active, ids))
                        continue
                    RULE_ERRORS.labels(rule=active.rule.id).inc()
                    stats.failed_rules.append(active.rule.id)
                    log.error(
                        "alerts.rule_failed",
                        rule=active.rule.id,
                        status=status,
                        error=json.dumps(answer["error"])[:500],
                    )
                    continue
                for hit in answer["hits"]["hits"]:
                    named = hit.get("matched_queries") or []
                    hits.append(
                        RuleHit(
                            rule=active,
                            article_id=str(hit["_id"]),
                            highlight=dict(hit.get("highlight") or {}),
                            matched_queries=list(named),
                        )
                    )
        if retry:
            attempt += 1
            await asyncio.sleep(backoff(attempt))
        pending = retry
    return hits, stats


async def wait_searchable(
    es: AsyncElasticsearch, index: str, ids: Sequence[str], timeout: float
) -> set[str]:
    """Wait until these documents are searchable (the next scheduled refresh); after
    `timeout` force a refresh once. Returns the ids that are searchable."""
    wanted = set(ids)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.02
    forced = False
    while True:
        resp = await retry_forever(
            "wait_searchable",
            lambda: es.search(
                index=index,
                query={"ids": {"values": list(wanted)}},
                size=len(wanted),
                source=False,
                track_total_hits=False,
            ),
        )
        seen = {str(h["_id"]) for h in resp["hits"]["hits"]}
        if seen >= wanted:
            return seen
        if loop.time() >= deadline:
            if forced:
                return seen
            log.warning("alerts.forcing_refresh", missing=len(wanted - seen), index=index)
            await retry_forever("refresh", lambda: es.indices.refresh(index=index))
            forced = True
            continue
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.2)


# ---------------------------------------------------------------------- storing alerts


@dataclass
class StoreOutcome:
    created: list[Alert] = field(default_factory=list)
    resend: list[Alert] = field(default_factory=list)
    """Alerts stored by an earlier, interrupted attempt on this same record (same origin):
    send them again (the topic may then hold one twice, under one key and id)."""
    duplicates: list[Alert] = field(default_factory=list)
    """The rule already fired for the story (another article): not fired again."""
    rejected: list[tuple[Alert, str]] = field(default_factory=list)


async def store_alerts(es: AsyncElasticsearch, index: str, alerts: Sequence[Alert]) -> StoreOutcome:
    """Create the alerts in the alerts index; a second alert for a (rule, story) is refused."""
    out = StoreOutcome()
    pending = list(alerts)
    attempt = 0
    conflicts: list[Alert] = []
    while pending:
        operations: list[dict[str, Any]] = []
        for alert in pending:
            operations += [
                {"create": {"_index": index, "_id": alert.id}},
                alert.model_dump(mode="json", exclude={"id"}) | {"id": alert.id},
            ]
        resp = await retry_forever("store_alerts", partial(es.bulk, operations=operations))
        retry = []
        for alert, item in zip(pending, resp["items"], strict=True):
            info = item.get("create", {})
            status = info.get("status")
            if status in (200, 201):
                out.created.append(alert)
            elif status == 409:
                conflicts.append(alert)
            elif isinstance(status, int) and status in TRANSIENT_STATUS:
                retry.append(alert)
            else:
                out.rejected.append((alert, json.dumps(info.get("error"))[:2000]))
        if retry:
            attempt += 1
            await asyncio.sleep(backoff(attempt))
        pending = retry
    if conflicts:
        resp = await retry_forever(
            "get_alerts", lambda: es.mget(index=index, ids=[a.id for a in conflicts])
        )
        for alert, doc in zip(conflicts, resp["docs"], strict=True):
            stored = doc.get("_source") if doc.get("found") else None
            if stored and alert.origin is not None and stored.get("origin") == alert.origin:
                out.resend.append(Alert.model_validate(stored))
            else:
                out.duplicates.append(alert)
    return out


# ---------------------------------------------------------------------- webhook


class WebhookSender:
    """POSTs alerts as JSON to the configured URL, retrying with backoff; records the outcome
    on the alert document. Never logs the URL (a secret: it often embeds a token)."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, index: str) -> None:
        assert settings.alert_webhook_url is not None
        self.url = settings.alert_webhook_url
        self.token = settings.alert_webhook_token
        self.attempts = settings.alert_webhook_attempts
        self.timeout = settings.alert_webhook_timeout
        self.base = settings.alert_webhook_backoff
        self.es = es
        self.index = index
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=WEBHOOK_QUEUE)
        self.session: aiohttp.ClientSession | None = None

    def submit(self, alert: Alert) -> bool:
        try:
            self.queue.put_nowait(alert)
        except asyncio.QueueFull:
            return False
        return True

    async def run(self) -> None:
        self.session = aiohttp.ClientSession()
        sem = asyncio.Semaphore(WEBHOOK_CONCURRENCY)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                alert = await self.queue.get()
                await sem.acquire()
                task = asyncio.create_task(self._deliver_and_release(alert, sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()
            await self.session.close()

    async def _deliver_and_release(self, alert: Alert, sem: asyncio.Semaphore) -> None:
        try:
            await self.deliver(alert)
        except Exception:
            log.exception("webhook.crashed", alert=alert.id)
        finally:
            sem.release()

    async def post(self, alert: Alert) -> tuple[bool, bool, str | None]:
        """One attempt: (delivered, worth retrying, error)."""
        assert self.session is not None
        headers = {"Content-Type": "application/json", "X-Wirewatch-Alert": alert.id}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        try:
            async with self.session.post(
                self.url.get_secret_value(),
                data=alert.to_bytes(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                if 200 <= resp.status < 300:
                    return True, False, None
                retry = resp.status in {408, 425, 429} or resp.status >= 500
                return False, retry, f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The class only: aiohttp's messages name the host and port of the secret URL.
            return False, True, type(exc).__name__

    async def deliver(self, alert: Alert) -> Alert:
        delivered, error, attempts = False, None, 0
        for attempt in range(1, self.attempts + 1):
            attempts = attempt
            delivered, retry, error = await self.post(alert)
            if delivered or not retry:
                break
            if attempt < self.attempts:
                await asyncio.sleep(backoff(attempt - 1, base=self.base, cap=60.0))
        WEBHOOK_DELIVERIES.labels(outcome="delivered" if delivered else "failed").inc()
        delivered_at = datetime.now(UTC) if delivered else None
        update: dict[str, Any] = {
            "delivered": delivered,
            "delivery": "delivered" if delivered else "failed",
            "delivery_attempts": attempts,
            "delivery_error": error,
            "delivered_at": delivered_at.isoformat() if delivered_at else None,
        }
        if not delivered:
            log.warning("webhook.failed", alert=alert.id, attempts=attempts, error=error)
        await retry_forever(
            "webhook_status",
            partial(self.es.update, index=self.index, id=alert.id, doc=update),
        )
        return alert.model_copy(update=update | {"delivered_at": delivered_at})


# ---------------------------------------------------------------------- the alert stage


class AlertStage(mode.Service):
    """The alert agent's collaborators: Elasticsearch, the rules, the topic, the webhook."""

    def __init__(
        self,
        settings: Settings,
        pipeline: DeadLetterer,
        alerts_topic: faust.TopicT,
        declare: Sequence[faust.TopicT] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.pipeline = pipeline
        self.alerts_topic = alerts_topic
        self.declare = list(declare)
        self.es: AsyncElasticsearch | None = None
        self.rules: RuleCache | None = None
        self.webhook: WebhookSender | None = None
        self.ready = asyncio.Event()
        """Set by `attach`: Faust resumes the streams before it starts services, so a batch
        can arrive before on_start has run."""

    def attach(self, es: AsyncElasticsearch) -> None:
        self.es = es
        self.rules = RuleCache(
            es, self.settings.rules_index_name, self.settings.rules_refresh_seconds
        )
        if self.settings.alert_webhook_url is not None:
            self.webhook = WebhookSender(self.settings, es, self.settings.alerts_index_name)
        self.ready.set()

    async def on_start(self) -> None:
        from streams.clients.elastic import make_client

        def _ensure() -> None:
            es = make_client(self.settings)
            try:
                ensure_alert_indices(es, self.settings)
            finally:
                es.close()

        await retry_forever("ensure_alert_indices", lambda: asyncio.to_thread(_ensure))
        for topic in self.declare:
            await topic.maybe_declare()
        self.attach(make_async_client(self.settings))
        if self.webhook is not None:
            self.add_future(self.webhook.run())

    async def on_stop(self) -> None:
        if self.es is not None:
            await self.es.close()

    async def alert_batch(self, events: Sequence[EventT[bytes]]) -> None:
        """One batch of indexed records. An unexpected error (a bug, not bad data or an
        outage) propagates to `streams.core.batches.run_batch`, which isolates the record
        at fault."""
        await self.ready.wait()
        await self._alert_batch(events)
        ARTICLES_CHECKED.inc(len(events))

    async def _alert_batch(self, events: Sequence[EventT[bytes]]) -> None:
        assert self.es is not None and self.rules is not None
        metrics.CONSUMED.labels(stage="alert").inc(len(events))
        records: dict[str, tuple[EventT[bytes], EnrichedArticle]] = {}
        for event in events:
            try:
                record = EnrichedArticle.model_validate_json(event_value(event))
            except (ValidationError, ValueError) as exc:
                await self.pipeline.dead_letter(event, "alert", "invalid_enriched", str(exc)[:500])
                continue
            records[record.id] = (event, record)  # the last version of an id wins
        if not records:
            return
        rules = await self.rules.get()
        if not rules:
            return
        alias = self.settings.es_alias
        started = time.perf_counter()
        visible = await wait_searchable(
            self.es, alias, list(records), self.settings.alert_visibility_seconds
        )
        WAIT_SEARCHABLE_SECONDS.observe(time.perf_counter() - started)
        for art_id in set(records) - visible:
            # Accepted by Elasticsearch but not found after a forced refresh: deleted since.
            log.warning("alerts.not_searchable", article_id=art_id)
            del records[art_id]
        started = time.perf_counter()
        hits, _ = await match_rules(self.es, alias, rules, {k: v[1] for k, v in records.items()})
        MATCH_SECONDS.observe(time.perf_counter() - started)
        if not hits:
            return
        fired_at = datetime.now(UTC)
        alerts: dict[str, Alert] = {}
        for hit in hits:
            event, record = records[hit.article_id]
            msg = event.message
            why = explain(hit.rule.rule, record, hit.highlight, hit.matched_queries)
            alert = make_alert(
                hit.rule.rule,
                record,
                why,
                fired_at=fired_at,
                webhook=self.webhook is not None,
                origin=f"{msg.topic}/{msg.partition}/{msg.offset}",
            )
            if alert.id in alerts:  # two articles of one story in one batch: the first fires
                ALERTS_SUPPRESSED.labels(rule=alert.rule).inc()
                continue
            alerts[alert.id] = alert
        outcome = await store_alerts(
            self.es, self.settings.alerts_index_name, list(alerts.values())
        )
        for alert, error in outcome.rejected:
            await self.pipeline.dead_letter(
                records[alert.article_id][0], "alert", "alert_rejected", error, alert.article_id
            )
        for alert in outcome.duplicates:
            ALERTS_SUPPRESSED.labels(rule=alert.rule).inc()
        to_send = outcome.created + outcome.resend
        futures = []
        for alert in to_send:
            futures.append(
                await retry_forever(
                    "send_alert",
                    partial(self.alerts_topic.send, key=alert.id.encode(), value=alert.to_bytes()),
                )
            )
        await retry_forever("send_alert", lambda: asyncio.gather(*futures))
        for alert in to_send:
            if alert in outcome.created:
                ALERTS_FIRED.labels(rule=alert.rule).inc()
                log.info(
                    "alert.fired",
                    alert=alert.id,
                    rule=alert.rule,
                    article_id=alert.article_id,
                    story_id=alert.story_id,
                    severity=alert.severity,
                )
            pending = alert.delivery == "pending" and self.webhook is not None
            if pending and self.webhook is not None and not self.webhook.submit(alert):
                log.error("webhook.queue_full", alert=alert.id)
                await retry_forever("webhook_status", partial(self._mark, alert, "queue full"))

    async def _mark(self, alert: Alert, error: str) -> None:
        assert self.es is not None
        await self.es.update(
            index=self.settings.alerts_index_name,
            id=alert.id,
            doc={"delivered": False, "delivery": "failed", "delivery_error": error},
        )


def register_alerts(app: faust.App, settings: Settings, pipeline: Any, enriched: Any) -> None:
    """Add the story stage and the alert stage to the app (called from `build_app`).

    Afterwards: enrich -> stories topic -> story agent -> `enriched` -> index agent ->
    indexed topic -> alert agent -> alerts index + alerts topic (+ webhook).
    """
    from streams.stages.stories import register_stories

    stories_topic, story_stage = register_stories(app, settings, pipeline, enriched)
    pipeline.enriched = stories_topic  # the enrich agent's output now goes through stories
    indexed = app.topic(
        settings.topic_indexed,
        value_type=bytes,
        key_type=bytes,
        partitions=settings.topic_partitions,
    )
    alerts_topic = app.topic(
        settings.topic_alerts,
        value_type=bytes,
        key_type=bytes,
        partitions=settings.topic_partitions,
    )
    pipeline.indexed = indexed
    stage = AlertStage(
        settings, pipeline, alerts_topic, declare=[stories_topic, indexed, alerts_topic]
    )
    app.service(stage)  # type: ignore[arg-type]

    @app.agent(indexed, name="wirewatch.alert")
    async def alert(stream: StreamT[bytes]) -> None:
        async for events in cast(Stream[bytes], stream).take_events(
            settings.alert_batch_size, within=settings.alert_batch_seconds
        ):
            await run_batch("alert", stage.alert_batch, events, pipeline.isolation)

    app.alerts = stage  # type: ignore[attr-defined]
    app.stories = story_stage  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- rules sync and test


@dataclass
class SyncReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)


def articles_fields(es: Elasticsearch, settings: Settings) -> set[str]:
    """Field paths of the articles index (live mapping; the template if there is no index)."""
    resp = es.options(ignore_status=404).indices.get_mapping(index=settings.es_alias)
    body = dict(resp.body) if hasattr(resp, "body") else dict(resp)
    if body and "error" not in body:
        fields: set[str] = set()
        for spec in body.values():
            fields |= mapping_fields(spec["mappings"])
        return fields
    return mapping_fields(template_body(settings.es_alias)["template"]["mappings"])


def validate_with_elasticsearch(es: Elasticsearch, settings: Settings, rule: Rule) -> str | None:
    """Elasticsearch's own verdict on the rule's query (`_validate/query`); None if valid."""
    resp = es.indices.validate_query(index=settings.es_alias, query=to_es_query(rule), explain=True)
    if resp.get("valid"):
        return None
    problems = [str(e.get("error")) for e in resp.get("explanations", []) if e.get("error")]
    return "; ".join(problems) or str(resp.get("error") or "invalid query")


def sync_rules(es: Elasticsearch, settings: Settings, directory: Path) -> SyncReport:
    """Validate every rule file of `directory` and load the valid ones into the rules index.

    A rule removed from the folder is removed from the index; a rule whose file is now
    invalid keeps its previous version (a typo must not silently switch an alert off).
    """
    report = SyncReport()
    if not directory.is_dir():
        report.errors.append(RuleError(str(directory), "not a folder"))
        return report
    rules, errors = load_rules_dir(directory, articles_fields(es, settings))
    report.errors.extend(errors)
    index = settings.rules_index_name
    existing = {
        h["_id"]: h["_source"].get("digest")
        for h in es.options(ignore_status=404)
        .search(index=index, size=10_000, source_includes=["digest"])
        .get("hits", {})
        .get("hits", [])
    }
    now = datetime.now(UTC)
    operations: list[dict[str, Any]] = []
    for rule in rules:
        source = str(directory / f"{rule.id}.yaml")
        problem = validate_with_elasticsearch(es, settings, rule)
        if problem:
            report.errors.append(RuleError(source, f"Elasticsearch refuses the query: {problem}"))
            continue
        if existing.get(rule.id) == rule.digest():
            report.unchanged.append(rule.id)
            continue
        operations += [
            {"index": {"_index": index, "_id": rule.id}},
            rule_document(rule, source_file=source, synced_at=now),
        ]
        report.loaded.append(rule.id)
    keep = {r.id for r in rules} | {Path(e.source).stem for e in report.errors}
    for rule_id in sorted(set(existing) - keep):
        operations.append({"delete": {"_index": index, "_id": rule_id}})
        report.removed.append(rule_id)
    if operations:
        resp = es.bulk(operations=operations, refresh="wait_for")
        for item in resp["items"]:
            ((op, info),) = item.items()
            if info.get("status", 500) >= 300 and not (op == "delete" and info["status"] == 404):
                raise RuntimeError(f"rules index refused {info.get('_id')}: {info.get('error')}")
    return report


@dataclass(frozen=True)
class RuleTestResult:
    matched: bool
    alert: Alert | None
    """The alert the rule would fire (its explanation), when it matches."""
    query: dict[str, Any]


async def _test_rule(
    settings: Settings, rule: Rule, record: EnrichedArticle, index: str
) -> RuleTestResult:
    es = make_async_client(settings)
    try:
        hits, stats = await match_rules(
            es, index, [ActiveRule.of(rule)], {record.id: record}, candidates=False
        )
    finally:
        await es.close()
    if stats.failed_rules:
        raise RuleError(rule.id, "Elasticsearch refused the rule's query (see the log)")
    if not hits:
        return RuleTestResult(matched=False, alert=None, query=to_es_query(rule))
    hit = hits[0]
    why = explain(rule, record, hit.highlight, hit.matched_queries)
    alert = make_alert(rule, record, why, fired_at=datetime.now(UTC), webhook=True)
    return RuleTestResult(matched=True, alert=alert, query=to_es_query(rule))


def test_rule(
    es: Elasticsearch, settings: Settings, rule: Rule, record: EnrichedArticle
) -> RuleTestResult:
    """Whether `rule` matches `record`, decided by Elasticsearch exactly as the worker does:
    the record is indexed into a scratch index with the articles mapping, the rule runs on it
    through the same `_msearch` request, then the scratch index is deleted."""
    scratch = f"{settings.es_alias}-ruletest-{uuid.uuid4().hex[:8]}"
    template = template_body(settings.es_alias)["template"]
    es.indices.create(index=scratch, settings=template["settings"], mappings=template["mappings"])
    try:
        es.index(index=scratch, id=record.id, document=record.document(), refresh=True)
        return asyncio.run(_test_rule(settings, rule, record, scratch))
    finally:
        with contextlib.suppress(ApiError):
            es.indices.delete(index=scratch)


def iter_alerts(values: Iterable[bytes]) -> Iterable[Alert]:
    """Alerts from raw topic values (values that are not alerts are skipped)."""
    for value in values:
        try:
            yield Alert.model_validate_json(value)
        except ValidationError:
            log.warning("alerts.not_an_alert", size=len(value))
