"""Prometheus metrics of the worker, served at /metrics on its web port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

CONSUMED = Counter("wirewatch_consumed_total", "Messages consumed", ["stage"], registry=REGISTRY)
ENRICHED = Counter("wirewatch_enriched_total", "Articles enriched", registry=REGISTRY)
INDEXED = Counter("wirewatch_indexed_total", "Documents indexed", registry=REGISTRY)
STALE = Counter(
    "wirewatch_stale_total", "Older versions not indexed (a newer one was)", registry=REGISTRY
)
DEAD_LETTERED = Counter(
    "wirewatch_dead_lettered_total",
    "Messages sent to the dead-letter topic",
    ["stage", "reason"],
    registry=REGISTRY,
)
RETRIED = Counter(
    "wirewatch_retried_total",
    "Documents retried after a transient error",
    ["stage"],
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "wirewatch_batch_seconds",
    "Time to process one batch",
    ["stage"],
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "wirewatch_consumer_lag",
    "Messages behind the end of the partition",
    ["topic", "partition"],
    registry=REGISTRY,
)
OFFSET_HOLES = Counter(
    "wirewatch_offset_holes_total",
    "Records skipped by the consumer and fetched again instead of being committed over",
    ["topic"],
    registry=REGISTRY,
)
STALE_ACKS = Counter(
    "wirewatch_stale_acks_total",
    "Acks of messages fetched before a rebalance, not counted (the records are fetched again)",
    ["topic"],
    registry=REGISTRY,
)
ISOLATED_BATCHES = Counter(
    "wirewatch_isolated_batches_total",
    "Batches that failed with an unclassified error and were run again one message at a time",
    ["stage"],
    registry=REGISTRY,
)
POISONED = Counter(
    "wirewatch_poison_messages_total",
    "Messages that failed alone every attempt and were dead-lettered as processing_failed",
    ["stage"],
    registry=REGISTRY,
)
ALERTS_FIRED = Counter("wirewatch_alerts_fired_total", "Alerts fired", ["rule"], registry=REGISTRY)
ALERTS_SUPPRESSED = Counter(
    "wirewatch_alerts_suppressed_total",
    "Matches not fired because the rule already fired for the story",
    ["rule"],
    registry=REGISTRY,
)
ARTICLES_CHECKED = Counter(
    "wirewatch_alert_checked_total",
    "Indexed articles the alert agent has finished with (matched or not)",
    registry=REGISTRY,
)
RULE_ERRORS = Counter(
    "wirewatch_rule_errors_total",
    "Rule searches Elasticsearch refused",
    ["rule"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "wirewatch_webhook_deliveries_total",
    "Webhook deliveries by outcome",
    ["outcome"],
    registry=REGISTRY,
)
MATCH_SECONDS = Histogram(
    "wirewatch_rule_match_seconds",
    "Time to run the rules against one batch (the _msearch)",
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
WAIT_SEARCHABLE_SECONDS = Histogram(
    "wirewatch_wait_searchable_seconds",
    "Time the alert agent waited for a batch to become searchable",
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
STORIES_CLUSTERED = Counter(
    "wirewatch_stories_total",
    "Articles given a story id, by outcome (new story, joined a story, redelivered)",
    ["outcome"],
    registry=REGISTRY,
)
