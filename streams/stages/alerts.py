"""The alert stage: indexed records -> the rules -> alerts, once per (rule, story).

    articles.indexed --[alerts]--> alerts index (create, `_id` = <rule>/<story>)
        --> articles.alerts --> webhook (in the background)

Searchable before matched. The index stage forwards records to `articles.indexed` only after
Elasticsearch accepted them; they become searchable at the next scheduled refresh. The alert
stage waits for that (an `ids` search, polled) rather than forcing refreshes, and forces one
only after `alert_visibility_seconds`. Matching itself is in `streams.stages.matching`.

Once per (rule, story). The alert's `_id` is `<rule>/<story_id>` and it is written with
`op_type=create`: Elasticsearch refuses a second one (409), atomically across workers and
restarts. A 409 whose stored alert has the same origin is our own redelivery (a crash after
the write, before the offset commit): the alert is sent to the topic again, never re-created.

Error policy:
- a record that does not parse -> dead letter `invalid_enriched` (stage `alert`);
- Elasticsearch unreachable, timeouts, 429, 5xx -> the one retry loop, forever, while
  consumption waits; nothing is dropped;
- an alert Elasticsearch rejects for good (a 400 for the item) -> dead letter `alert_rejected`;
  a `_bulk` request refused as a whole is not split here: the batch runner reruns the batch
  one record at a time and dead-letters the one at fault as `processing_failed`;
- Kafka send failures -> the one durable send; an alert the topic refuses for good ->
  dead letter `undeliverable` (the alert stays in the alerts index);
- a rule whose query fails at search time -> logged and counted (`wirewatch_rule_errors_total`),
  the other rules still run (sync validates queries, so this means a mapping change);
- anything unexpected -> the batch runner isolates the record at fault (`processing_failed`),
  a process-wide error fail-stops before the ack;
- offsets are acked when the batch returns, i.e. after every alert is in the index and on the
  topic (acks=all). The webhook runs after that, in the background, with retries: a failing
  webhook neither blocks the pipeline nor loses the alert, which stays in the topic and the
  index with `delivered: false`, `delivery: failed`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import ClassVar

import structlog
from elasticsearch import AsyncElasticsearch
from faust.types import EventT
from pydantic import ValidationError

from processors.models import EnrichedArticle
from processors.rules import Alert, explain, make_alert
from streams import metrics
from streams.clients.elastic import make_async_client, make_client
from streams.clients.indices import ensure_alert_indices
from streams.clients.webhook import WebhookSender
from streams.core.deadletter import event_value
from streams.core.retry import retry
from streams.core.send import Record
from streams.stages.base import Stage
from streams.stages.matching import (
    ActiveRule,
    RuleCache,
    candidate_ids,
    match_rules,
    store_alerts,
    wait_searchable,
)

log = structlog.get_logger(__name__)


class AlertStage(Stage):
    """Runs the synced rules on each batch of indexed records and fires alerts."""

    name: ClassVar[str] = "alert"
    es: AsyncElasticsearch | None = None
    rules: RuleCache | None = None
    webhook: WebhookSender | None = None

    def attach(self, es: AsyncElasticsearch) -> None:
        """Use this Elasticsearch client (the worker's, or a test double)."""
        self.es = es
        self.rules = RuleCache(
            es, self.settings.rules_index_name, self.settings.rules_refresh_seconds
        )
        if self.settings.alert_webhook_url is not None:
            self.webhook = WebhookSender(self.settings, es, self.settings.alerts_index_name)

    async def on_start(self) -> None:
        if self.es is None:

            def _ensure() -> None:
                es = make_client(self.settings)
                try:
                    ensure_alert_indices(es, self.settings)
                finally:
                    es.close()

            await retry("ensure_alert_indices", lambda: asyncio.to_thread(_ensure), stage=self.name)
            self.attach(make_async_client(self.settings))
        if self.webhook is not None:
            self.add_future(self.webhook.run())
        await super().on_start()

    async def on_stop(self) -> None:
        if self.es is not None:
            await self.es.close()

    async def process(self, events: Sequence[EventT[bytes]]) -> None:
        """One batch of indexed records. An unexpected error (a bug, not bad data or an
        outage) propagates to the batch runner, which isolates the record at fault."""
        await self._alert_batch(events)
        metrics.ARTICLES_CHECKED.inc(len(events))

    async def _alert_batch(self, events: Sequence[EventT[bytes]]) -> None:
        assert self.es is not None and self.rules is not None
        metrics.CONSUMED.labels(stage=self.name).inc(len(events))
        records: dict[str, tuple[EventT[bytes], EnrichedArticle]] = {}
        for event in events:
            try:
                record = EnrichedArticle.model_validate_json(event_value(event))
            except (ValidationError, ValueError) as exc:
                await self.dead_letter(event, self.name, "invalid_enriched", str(exc)[:500])
                continue
            records[record.id] = (event, record)  # the last version of an id wins
        if not records:
            return
        rules = await self.rules.get()
        if not rules:
            return
        # An article no rule could match needs no search: not even a wait to be searchable.
        possible = candidate_ids(rules, {k: v[1] for k, v in records.items()})
        records = {k: v for k, v in records.items() if k in possible}
        if not records:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.alert_visibility_seconds
        # Each article is matched as soon as a refresh makes it searchable: the articles one
        # refresh showed do not wait for another that only a later refresh shows.
        while records:
            started = time.perf_counter()
            visible = await wait_searchable(
                self.es,
                self.settings.es_alias,
                list(records),
                max(0.0, deadline - loop.time()),
                first=True,
            )
            metrics.WAIT_SEARCHABLE_SECONDS.observe(time.perf_counter() - started)
            if not visible:
                for art_id in records:
                    # Accepted by Elasticsearch, not found after a forced refresh: deleted.
                    log.warning("alerts.not_searchable", article_id=art_id)
                return
            await self._fire(rules, {k: v for k, v in records.items() if k in visible})
            records = {k: v for k, v in records.items() if k not in visible}

    async def _fire(
        self,
        rules: list[ActiveRule],
        records: dict[str, tuple[EventT[bytes], EnrichedArticle]],
    ) -> None:
        """Match the rules on these searchable records; store and send what fires."""
        assert self.es is not None
        alias = self.settings.es_alias
        started = time.perf_counter()
        hits, _ = await match_rules(self.es, alias, rules, {k: v[1] for k, v in records.items()})
        metrics.MATCH_SECONDS.observe(time.perf_counter() - started)
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
                metrics.ALERTS_SUPPRESSED.labels(rule=alert.rule).inc()
                continue
            alerts[alert.id] = alert
        outcome = await store_alerts(
            self.es, self.settings.alerts_index_name, list(alerts.values())
        )
        for alert, error in outcome.rejected:
            await self.dead_letter(
                records[alert.article_id][0], self.name, "alert_rejected", error, alert.article_id
            )
        for alert in outcome.duplicates:
            metrics.ALERTS_SUPPRESSED.labels(rule=alert.rule).inc()
        to_send = outcome.created + outcome.resend
        await self.send_or_dead_letter(
            "next",
            [(records[a.article_id][0], Record(a.id.encode(), a.to_bytes())) for a in to_send],
        )
        for alert in to_send:
            if alert in outcome.created:
                metrics.ALERTS_FIRED.labels(rule=alert.rule).inc()
                log.info(
                    "alert.fired",
                    alert=alert.id,
                    rule=alert.rule,
                    article_id=alert.article_id,
                    story_id=alert.story_id,
                    severity=alert.severity,
                )
            webhook = self.webhook
            if alert.delivery == "pending" and webhook is not None and not webhook.submit(alert):
                log.error("webhook.queue_full", alert=alert.id)
                await retry(
                    "webhook_status", partial(self._mark, alert, "queue full"), stage=self.name
                )

    async def _mark(self, alert: Alert, error: str) -> None:
        assert self.es is not None
        await self.es.update(
            index=self.settings.alerts_index_name,
            id=alert.id,
            doc={"delivered": False, "delivery": "failed", "delivery_error": error},
        )
