"""The worker's Faust app, built from the topology (`streams.topology`): one topic object per
declared topic, one agent per declared stage, every agent running its batches through the
one batch runner (`streams.core.batches.run_batch`), and the web pages (/health, /live,
/metrics).

Offsets are acked only after a batch's effect is durable: `take_events` acks a batch after
the agent body returns, and a stage's `process` returns only after its records and dead
letters were delivered by Kafka (acks=all) or its documents accepted by Elasticsearch. A
crash before that means redelivery, and `_id` = article id makes redelivery overwrite.
Commits go through `streams.offsets.GuardedConsumer`, which commits only offsets whose
records a stage finished.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
import structlog
from faust.sensors import Monitor
from faust.streams import Stream
from faust.types import TP, EventT, StreamT, TopicT
from faust.types.transports import TransportT
from prometheus_client import generate_latest

from streams import metrics
from streams.clients.kafka import FaustSender
from streams.core.batches import Window, run_batch
from streams.core.deadletter import DeadLetters
from streams.core.send import Sender
from streams.offsets import DEFAULT_HOLE_SECONDS, GuardedTransport
from streams.settings import Settings
from streams.stages.base import Stage
from streams.stages.index import IndexStage
from streams.topology import StageDecl, stages, topics

log = structlog.get_logger(__name__)


class WirewatchApp(faust.App):
    """The Faust app class of the workers: Kafka brokers are read through `GuardedConsumer`."""

    def __init__(
        self, *args: Any, offset_hole_seconds: float = DEFAULT_HOLE_SECONDS, **kwargs: Any
    ) -> None:
        self.offset_hole_seconds = offset_hole_seconds
        """How long a hole in the acked offsets may last before the broker is asked."""
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        if self.conf.broker_consumer[0].scheme in {"kafka", "aiokafka"}:
            return GuardedTransport(self.conf.broker_consumer, self)
        return super()._new_transport()


class LagMonitor(Monitor):
    """Faust's monitor, publishing consumer lag per partition (end offset minus committed)
    to Prometheus from its own hooks, as Faust's Prometheus monitor does."""

    def on_tp_commit(self, tp_offsets: MutableMapping[TP, int]) -> None:
        super().on_tp_commit(tp_offsets)
        for tp in tp_offsets:
            self._report(tp)

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        super().track_tp_end_offset(tp, offset)
        self._report(tp)

    def _report(self, tp: TP) -> None:
        end = self.tp_end_offsets.get(tp)
        if end is None:
            return
        committed = self.tp_committed_offsets.get(tp) or 0
        lag = max(0, end - committed)
        metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)


@dataclass(frozen=True)
class Worker:
    """What `build_app` made: the Faust app and its stages, by stage name."""

    app: faust.App
    stages: dict[str, Stage]
    sender: Sender
    dead_letters: DeadLetters

    @property
    def index(self) -> IndexStage:
        return cast(IndexStage, self.stages["index"])


def broker_credentials(settings: Settings) -> Any:
    if settings.kafka_sasl_mechanism and settings.kafka_sasl_username:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else "",
            mechanism=settings.kafka_sasl_mechanism,
        )
    return None


def faust_app(settings: Settings) -> WirewatchApp:
    """The Faust app with the worker's configuration (no topics or agents yet)."""
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
        producer_linger=settings.kafka_linger_seconds,
        broker_session_timeout=settings.kafka_session_timeout,
        consumer_group_instance_id=settings.worker_instance_id,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout / 3),
        producer_max_request_size=2 * settings.kafka_max_message_bytes,
        consumer_auto_offset_reset="earliest",
        value_serializer="raw",
        key_serializer="raw",
        broker_commit_every=100,
        broker_commit_interval=1.0,
        monitor=LagMonitor(),
        offset_hole_seconds=settings.offset_hole_seconds,
    )
    return app


def build_app(settings: Settings, *, sender: Sender | None = None) -> Worker:
    """Create the worker from the topology: topics, stages, agents, pages (nothing at import
    time, nothing started). `sender` replaces the Faust producer (agent tests)."""
    app = faust_app(settings)
    declared = topics(settings)
    faust_topics: dict[str, TopicT] = {
        d.name: app.topic(d.name, value_type=bytes, key_type=bytes, partitions=d.partitions)
        for d in declared.values()
    }
    sender = sender or FaustSender(faust_topics)
    dead_letters = DeadLetters(sender, declared["deadletter"].name)
    built: dict[str, Stage] = {}
    for decl in stages(settings):
        outputs = {out: declared[role].name for out, role in decl.outputs.items()}
        stage = decl.kind(settings, sender, dead_letters, outputs)
        stage.declare(app)
        app.service(stage)  # type: ignore[arg-type]
        _add_agent(app, decl, faust_topics[declared[decl.source].name], stage)
        built[stage.name] = stage
    worker = Worker(app=app, stages=built, sender=sender, dead_letters=dead_letters)
    _add_pages(worker)
    return worker


def _add_agent(app: faust.App, decl: StageDecl, source: TopicT, stage: Stage) -> None:
    size, within = decl.batching.size, decl.batching.seconds

    def ack(event: EventT[bytes]) -> None:
        message = event.message
        if event.ack():  # the last reference: the offset may be committed
            app.sensors.on_message_out(message.tp, message.offset, message)

    async def agent(stream: StreamT[bytes]) -> None:
        # One copy takes the batches in partition order; the window runs up to `overlap`
        # of them at once, each acked by itself once durable, in the order taken.
        window = Window(stage.name, decl.batching.overlap, ack)

        async def run(events: Sequence[EventT[bytes]]) -> None:
            await run_batch(stage.name, stage.run, events, stage.isolation)
            log.debug("agent.batch_done", stage=stage.name, size=len(events))

        try:
            async for events in cast(Stream[bytes], stream).take_events(size, within=within):
                log.debug("agent.batch_taken", stage=stage.name, size=len(events))
                await window.hand(events, run)
        finally:
            await window.drain()

    app.agent(source, name=decl.agent)(agent)


def _add_pages(worker: Worker) -> None:
    app = worker.app

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        writer = worker.index.writer
        ok = writer is None or writer.healthy
        body = {
            "status": "ok" if ok else "unhealthy",
            "elasticsearch_error": None if ok or writer is None else writer.last_error,
        }
        return web.json(body, status=200 if ok else 503)

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
