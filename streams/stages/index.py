"""The index stage: enriched records -> Elasticsearch -> the indexed topic.

    articles.enriched --[index]--> Elasticsearch (alias `articles`) --> articles.indexed

Documents are written through the alias with `_id` = article id and external versions, so a
redelivery overwrites and an older version is dropped as stale. Records go on to the
indexed topic (for the alert stage) only after Elasticsearch accepted them.

Error policy:
- a record that does not parse -> dead letter `invalid_enriched` (stage `index`);
- a document Elasticsearch rejects (4xx) -> dead letter `index_rejected`; a `_bulk` request
  refused as a whole is halved down to single documents, so only those at fault are
  rejected (`streams.clients.elastic.BulkWriter`);
- node unreachable, timeouts, 429 and 5xx -> the one retry loop, for as long as it takes,
  while consumption waits (backpressure); after two minutes `/health` says unhealthy;
- Kafka send failures -> the one durable send; a record refused for good -> `undeliverable`;
- the batch returns only after the documents are accepted and the records forwarded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

import structlog
from faust.types import EventT
from pydantic import ValidationError

from processors.models import EnrichedArticle
from streams import metrics
from streams.clients.elastic import BulkWriter, IndexRequest, make_async_client
from streams.core.deadletter import event_value
from streams.core.send import Record
from streams.logs import AUDIT_DELIVERY
from streams.stages.base import Stage

log = structlog.get_logger(__name__)


class IndexStage(Stage):
    """Writes enriched records to Elasticsearch and forwards what is durable."""

    name: ClassVar[str] = "index"
    writer: BulkWriter | None = None

    async def on_start(self) -> None:
        if self.writer is None:
            self.writer = BulkWriter(make_async_client(self.settings), self.settings.es_alias)
        await super().on_start()

    async def on_stop(self) -> None:
        if self.writer is not None:
            await self.writer.es.close()

    @property
    def healthy(self) -> bool:
        return self.writer is None or self.writer.healthy

    async def process(self, events: Sequence[EventT[bytes]]) -> None:
        started = time.perf_counter()
        metrics.CONSUMED.labels(stage=self.name).inc(len(events))
        requests: dict[str, tuple[EventT[bytes], IndexRequest]] = {}
        for event in events:
            msg = event.message
            raw = event_value(event)
            try:
                record = EnrichedArticle.model_validate_json(raw)
            except (ValidationError, ValueError) as exc:
                await self.dead_letter(event, self.name, "invalid_enriched", str(exc)[:500])
                continue
            # Within one batch the last message of an id wins (same order as Kafka).
            requests[record.id] = (
                event,
                IndexRequest(
                    doc_id=record.id,
                    document=record.document(),
                    version=record.version,
                    raw=raw,
                    topic=msg.topic,
                    partition=msg.partition,
                    offset=msg.offset,
                ),
            )
        if requests:
            await self._write(requests)
        metrics.BATCH_SECONDS.labels(stage=self.name).observe(time.perf_counter() - started)

    async def _write(self, requests: dict[str, tuple[EventT[bytes], IndexRequest]]) -> None:
        assert self.writer is not None
        if self.settings.audit_deliveries:
            # One line per batch: which documents this write delivers, and from where.
            log.info(
                AUDIT_DELIVERY,
                ids=sorted(requests),
                offsets=sorted({(r.partition, r.offset) for _, r in requests.values()}),
            )
        outcome = await self.writer.write([r for _, r in requests.values()])
        metrics.INDEXED.inc(outcome.indexed)
        metrics.STALE.inc(outcome.stale)
        rejected = set()
        for req, error in outcome.rejected:
            rejected.add(req.doc_id)
            event = requests[req.doc_id][0]
            await self.dead_letter(event, self.name, "index_rejected", error, req.doc_id)
        await self.send_or_dead_letter(
            "next",
            [
                (event, Record(req.doc_id.encode(), req.raw))
                for event, req in requests.values()
                if req.doc_id not in rejected
            ],
        )
