"""The Faust app: topics, the enrich agent, the index agent, health and metrics pages.

Error policy (Faust acks a message whose agent raised and never retries it, so every agent
runs its batches through `streams.core.batches.run_batch`):
- enrich: invalid input -> dead letter (reason + original bytes); an article whose
  enrichment raises, or crashes the enrichment process, is isolated by the batch runner and
  dead-lettered as `processing_failed` after `poison_attempts` tries alone; a model that
  cannot load -> fail-stop at start, naming the model.
- index: a document Elasticsearch rejects (4xx) -> dead letter, and a request refused as a
  whole is split to find the documents at fault (`streams.clients.elastic.BulkWriter`); unreachable
  node, timeouts, 429 and 5xx -> retry with backoff while consumption waits (backpressure).
- Offsets are acked only after the batch's effect is durable: `take_events` acks a batch
  after the agent body returns, and the body returns only after the enriched records /
  dead letters were delivered by Kafka (acks=all) or the documents were accepted by
  Elasticsearch. A crash before that means redelivery, and `_id` = article id makes
  redelivery overwrite instead of duplicate.
- Commits: the app reads Kafka through `streams.offsets.GuardedConsumer`, which commits only
  offsets whose records an agent finished (Faust's own bookkeeping can commit records that
  never reached an agent; see that module).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, cast

import faust
import mode
import structlog
from faust.streams import Stream
from faust.types import EventT, StreamT
from prometheus_client import generate_latest
from pydantic import ValidationError

from processors.enrich import enrich_articles, load_pipeline, warm_up
from processors.errors import InvalidArticle
from processors.models import Article, EnrichedArticle
from processors.validate import parse_raw_article
from streams import metrics
from streams.clients.elastic import BulkWriter, IndexRequest, make_async_client
from streams.core.batches import EXIT_FAIL_STOP, Isolation, run_batch
from streams.core.deadletter import DeadLetter, article_id_hint, event_value
from streams.core.faults import FatalError
from streams.core.retry import backoff
from streams.logs import AUDIT_DELIVERY
from streams.offsets import WirewatchApp
from streams.settings import Settings
from streams.stages.alerts import forward_indexed, register_alerts

log = structlog.get_logger(__name__)


def broker_credentials(settings: Settings) -> Any:
    if settings.kafka_sasl_mechanism and settings.kafka_sasl_username:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else "",
            mechanism=settings.kafka_sasl_mechanism,
        )
    return None


def _key_text(key: object) -> str | None:
    """The message key as text (publishers key by article id), when it is text."""
    if isinstance(key, bytes):
        try:
            return key.decode("utf-8")[:512] or None
        except UnicodeDecodeError:
            return None
    return None


class EnrichmentCrashed(Exception):
    """The enrichment process died under a batch (a `bug` fault: isolate its articles)."""


class Pipeline(mode.Service):
    """Holds what the agents share: the enrichment process pool and the Elasticsearch writer."""

    def __init__(
        self,
        settings: Settings,
        app: faust.App,
        dlq: faust.TopicT,
        enriched: faust.TopicT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.app = app
        self.dlq = dlq
        self.enriched = enriched
        self.indexed: faust.TopicT | None = None
        """Where durably indexed records go for the alert agent (set by `register_alerts`)."""
        self.pool: ProcessPoolExecutor | None = None
        self.writer: BulkWriter | None = None
        self.ready = asyncio.Event()
        """Set when on_start has run: Faust resumes the streams after table recovery but
        starts services (this one) a moment later, so a batch can arrive before the pool."""

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: forking a process that runs an event loop and Kafka clients is unsafe.
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=load_pipeline,
            initargs=(self.settings.spacy_model,),
        )

    async def on_start(self) -> None:
        self.pool = self._new_pool()
        try:
            await self.check_model()  # fail at start, not by dead-lettering every article
        except FatalError as exc:
            log.critical("enrich.model_unavailable", error=str(exc))
            logging.shutdown()
            os._exit(EXIT_FAIL_STOP)
        self.writer = BulkWriter(make_async_client(self.settings), self.settings.es_alias)
        self.ready.set()

    @property
    def isolation(self) -> Isolation:
        """How every stage isolates a poison message (see streams.core.batches)."""
        return Isolation(dead_letter=self.dead_letter, attempts=self.settings.poison_attempts)

    async def on_stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.writer is not None:
            await self.writer.es.close()

    # ------------------------------------------------------------------ delivery

    async def deliver(self, topic: Any, messages: list[tuple[bytes, bytes]]) -> None:
        """Send, and return only when Kafka has every message (acks=all).

        A broker hiccup (leader change, restart, timeout) is retried with backoff for as long
        as it lasts; meanwhile this batch is not acked and nothing new is consumed.
        """
        pending = messages
        attempt = 0
        while pending:
            failed: list[tuple[bytes, bytes]] = []
            futures: list[tuple[tuple[bytes, bytes], Any]] = []
            for msg in pending:
                try:
                    futures.append((msg, await topic.send(key=msg[0], value=msg[1])))
                except Exception as exc:
                    failed.append(msg)
                    error = exc
            for msg, fut in futures:
                try:
                    await fut
                except Exception as exc:
                    failed.append(msg)
                    error = exc
            if not failed:
                return
            attempt += 1
            delay = backoff(attempt, base=0.5)
            metrics.RETRIED.labels(stage="produce").inc(len(failed))
            log.warning(
                "produce.retry",
                topic=getattr(topic, "get_topic_name", lambda: "?")(),
                messages=len(failed),
                attempt=attempt,
                delay=round(delay, 2),
                error=f"{type(error).__name__}: {error}",
            )
            await asyncio.sleep(delay)
            pending = failed

    # ------------------------------------------------------------------ dead letters

    async def dead_letter(
        self,
        event: EventT[bytes],
        stage: str,
        reason: str,
        detail: str,
        article_id: str | None = None,
    ) -> None:
        msg = event.message
        raw = event_value(event)
        letter = DeadLetter.make(
            reason=reason,
            detail=detail,
            stage=stage,
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            original=raw,
            article_id=article_id or article_id_hint(raw) or _key_text(msg.key),
        )
        key = (letter.article_id or f"{msg.topic}:{msg.partition}:{msg.offset}").encode()
        await self.deliver(self.dlq, [(key, letter.to_bytes())])
        metrics.DEAD_LETTERED.labels(stage=stage, reason=reason).inc()
        log.warning(
            "dead_letter",
            stage=stage,
            reason=reason,
            detail=detail[:200],
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
        )

    # ------------------------------------------------------------------ enrich

    async def _run_enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle]:
        loop = asyncio.get_running_loop()
        call = partial(
            enrich_articles,
            list(articles),
            model=self.settings.spacy_model,
            batch_size=self.settings.batch_size,
            max_chars=self.settings.max_enrich_chars,
        )
        assert self.pool is not None
        try:
            return await loop.run_in_executor(self.pool, call)
        except BrokenProcessPool as exc:
            # The process died under this batch: start a new one. If the new one cannot
            # load the model, nothing can be enriched (fatal); else one of these articles
            # may have killed it, which the batch runner finds out by running them alone.
            log.error("enrich.pool_broken", articles=len(articles))
            self.pool = self._new_pool()
            await self.check_model()
            raise EnrichmentCrashed(
                f"the enrichment process died under {len(articles)} article(s)"
            ) from exc

    async def check_model(self) -> None:
        """Load the spaCy model (and the language model) in the enrichment process;
        `FatalError` when it cannot."""
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.pool, partial(warm_up, self.settings.spacy_model))
        except Exception as exc:
            raise FatalError(
                f"the spaCy model {self.settings.spacy_model!r} cannot be loaded "
                f"({type(exc).__name__}: {str(exc)[:300]}); install it or set "
                "WIREWATCH_SPACY_MODEL to an installed pipeline"
            ) from exc

    async def enrich_batch(self, events: Sequence[EventT[bytes]]) -> None:
        if self.pool is None:
            await self.ready.wait()  # a batch before on_start (see `ready`)
        started = time.perf_counter()
        metrics.CONSUMED.labels(stage="enrich").inc(len(events))
        good: list[tuple[EventT[bytes], Article]] = []
        for event in events:
            raw = event_value(event)
            try:
                good.append(
                    (event, parse_raw_article(raw, max_bytes=self.settings.max_article_bytes))
                )
            except InvalidArticle as exc:
                await self.dead_letter(event, "enrich", exc.reason, exc.detail or exc.reason)
        if good:
            # An article that makes enrichment raise fails the batch; the batch runner then
            # isolates it (streams.core.batches) and the others go through.
            results = await self._run_enrich([a for _, a in good])
            pairs = list(zip(good, results, strict=True))
            await self.deliver(
                self.enriched,
                [(a.id.encode(), rec.model_dump_json().encode()) for (_, a), rec in pairs],
            )
            metrics.ENRICHED.inc(len(pairs))
        metrics.BATCH_SECONDS.labels(stage="enrich").observe(time.perf_counter() - started)

    # ------------------------------------------------------------------ index

    async def index_batch(self, events: Sequence[EventT[bytes]]) -> None:
        if self.writer is None:
            await self.ready.wait()  # a batch before on_start (see `ready`)
        started = time.perf_counter()
        metrics.CONSUMED.labels(stage="index").inc(len(events))
        requests: dict[str, IndexRequest] = {}
        for event in events:
            msg = event.message
            try:
                record = EnrichedArticle.model_validate_json(event_value(event))
            except (ValidationError, ValueError) as exc:
                await self.dead_letter(event, "index", "invalid_enriched", str(exc)[:500])
                continue
            # Within one batch the last message of an id wins (same order as Kafka).
            requests[record.id] = IndexRequest(
                doc_id=record.id,
                document=record.document(),
                version=record.version,
                raw=event_value(event),
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
            )
        if requests:
            assert self.writer is not None
            if self.settings.audit_deliveries:
                # One line per batch: which documents this write delivers, and from where.
                log.info(
                    AUDIT_DELIVERY,
                    ids=sorted(requests),
                    offsets=sorted({(r.partition, r.offset) for r in requests.values()}),
                )
            outcome = await self.writer.write(list(requests.values()))
            metrics.INDEXED.inc(outcome.indexed)
            metrics.STALE.inc(outcome.stale)
            metrics.RETRIED.labels(stage="index").inc(outcome.retries)
            by_offset = {(e.message.partition, e.message.offset): e for e in events}
            for req, error in outcome.rejected:
                await self.dead_letter(
                    by_offset[(req.partition, req.offset)],
                    "index",
                    "index_rejected",
                    error,
                    req.doc_id,
                )
            if self.indexed is not None:
                await forward_indexed(self.indexed, list(requests.values()), outcome)
        metrics.BATCH_SECONDS.labels(stage="index").observe(time.perf_counter() - started)


def build_app(settings: Settings) -> faust.App:
    """Create the Faust app with its topics, agents and web pages (nothing at import time)."""
    app = WirewatchApp(
        settings.app_id,
        broker=[f"kafka://{s}" for s in settings.kafka_servers],
        broker_credentials=broker_credentials(settings),
        store=settings.store,
        web_port=settings.worker_web_port,
        web_host="127.0.0.1",
        web_bind=settings.worker_web_bind,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        producer_acks=-1,
        broker_session_timeout=settings.kafka_session_timeout,
        consumer_group_instance_id=settings.worker_instance_id,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout / 3),
        producer_max_request_size=2 * settings.kafka_max_message_bytes,
        consumer_auto_offset_reset="earliest",
        value_serializer="raw",
        key_serializer="raw",
        broker_commit_every=100,
        broker_commit_interval=1.0,
    )
    app.offset_hole_seconds = settings.offset_hole_seconds
    raw = app.topic(
        settings.topic_raw, value_type=bytes, key_type=bytes, partitions=settings.topic_partitions
    )
    enriched = app.topic(
        settings.topic_enriched,
        value_type=bytes,
        key_type=bytes,
        partitions=settings.topic_partitions,
    )
    dlq = app.topic(
        settings.topic_dlq, value_type=bytes, key_type=bytes, partitions=settings.topic_partitions
    )
    pipeline = Pipeline(settings, app, dlq, enriched)
    app.service(pipeline)  # type: ignore[arg-type]
    register_alerts(app, settings, pipeline, enriched)  # stories + alerts

    @app.agent(raw, name="wirewatch.enrich")
    async def enrich(stream: StreamT[bytes]) -> None:
        async for events in cast(Stream[bytes], stream).take_events(
            settings.batch_size, within=settings.batch_seconds
        ):
            await run_batch("enrich", pipeline.enrich_batch, events, pipeline.isolation)

    @app.agent(enriched, name="wirewatch.index")
    async def index(stream: StreamT[bytes]) -> None:
        async for events in cast(Stream[bytes], stream).take_events(
            settings.index_batch_size, within=settings.index_batch_seconds
        ):
            await run_batch("index", pipeline.index_batch, events, pipeline.isolation)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        ok = pipeline.writer is None or pipeline.writer.healthy
        body = {
            "status": "ok" if ok else "unhealthy",
            "elasticsearch_error": None if ok else pipeline.writer and pipeline.writer.last_error,
        }
        return web.json(body, status=200 if ok else 503)

    @app.timer(interval=settings.lag_interval_seconds)  # type: ignore[untyped-decorator]
    async def report_lag() -> None:
        """Consumer lag per partition: the end of the partition minus the committed offset."""
        consumer = app.consumer
        try:
            assigned = consumer.assignment()
            ends = await consumer.highwaters(*assigned) if assigned else {}
        except Exception as exc:  # a metric must never stop the worker
            log.debug("lag.unavailable", error=str(exc))
            return
        for tp, end in ends.items():
            # Faust keeps the committed offsets but has no public accessor for them.
            committed = getattr(consumer, "_committed_offset", {}).get(tp)
            lag = max(0, end - (committed or 0)) if end is not None else 0
            metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)

    @app.page("/live")
    async def live(web: Any, request: Any) -> Any:
        # Liveness: the event loop answers. Not tied to Elasticsearch, so an outage (which
        # /health reports) does not get healthy workers restarted.
        return web.json({"status": "alive"})

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.bytes(
            generate_latest(metrics.REGISTRY), content_type="text/plain; version=0.0.4"
        )

    app.pipeline = pipeline  # type: ignore[attr-defined]
    return app
