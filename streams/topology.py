"""The pipeline in one place: every topic and every stage, and which stage reads and writes
which topic. `streams.app.build_app` builds the Faust app from this and nothing else.

    publisher ──> articles.raw
                    │
                 [enrich]  spaCy in its own process; invalid input -> dead letters
                    │
                  articles.stories  (1 partition: one holder of the near-duplicate state)
                    │
                 [stories]  story id (MinHash LSH over a changelog-backed table)
                    │
                  articles.enriched
                    │
                 [index]  Elasticsearch bulk through the alias
                    │
                  articles.indexed  (only what Elasticsearch accepted)
                    │
                 [alerts]  rules on the batch -> alerts index (once per rule and story)
                    │
                  alerts ──> webhook (background)

    every stage ──> articles.dlq  (reason, stage, position, original bytes)

Each stage is one module of `streams.stages` and opens with its error policy. To add a
stage: write a `streams.stages.base.Stage` subclass, declare its topics and batching here,
and nothing else changes. Imports run one way: settings -> core -> clients -> stages ->
topology -> app -> operations -> CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.errors import WirewatchError
from streams.clients.kafka import ensure_topics
from streams.settings import Settings
from streams.stages.alerts import AlertStage
from streams.stages.base import Batching, Stage
from streams.stages.enrich import EnrichStage
from streams.stages.index import IndexStage
from streams.stages.stories import StoryStage


@dataclass(frozen=True)
class TopicDecl:
    """One topic of the pipeline."""

    role: str
    """How stages and the topology refer to it (`raw`, `stories`, ...)."""
    name: str
    """The Kafka topic name (from settings)."""
    partitions: int
    exact: bool = False
    """The stage on it is correct only with exactly `partitions` (the story topic)."""


@dataclass(frozen=True)
class StageDecl:
    """One stage: its class, the topic it consumes, the topics it writes, its batching."""

    kind: type[Stage]
    agent: str
    """The Faust agent's name (its consumer group member and changelog prefix)."""
    source: str
    outputs: dict[str, str]
    """Output name in the stage (`next`) -> topic role."""
    batching: Batching


def topics(settings: Settings) -> dict[str, TopicDecl]:
    """Every topic of the pipeline, by role."""
    n = settings.topic_partitions
    decls = [
        TopicDecl("raw", settings.topic_raw, n),
        TopicDecl("stories", settings.topic_stories, 1, exact=True),
        TopicDecl("enriched", settings.topic_enriched, n),
        TopicDecl("indexed", settings.topic_indexed, n),
        TopicDecl("alerts", settings.topic_alerts, n),
        TopicDecl("deadletter", settings.topic_dlq, n),
    ]
    return {d.role: d for d in decls}


def stages(settings: Settings) -> list[StageDecl]:
    """Every stage of the pipeline, in the order records flow."""
    s = settings
    return [
        StageDecl(
            EnrichStage,
            "wirewatch.enrich",
            source="raw",
            outputs={"next": "stories"},
            # batches in hand: spaCy does not wait while one is taken, sent and acked
            batching=Batching(s.batch_size, s.batch_seconds, overlap=s.enrich_batches),
        ),
        StageDecl(
            StoryStage,
            "wirewatch.stories",
            source="stories",
            outputs={"next": "enriched"},
            batching=Batching(s.story_batch_size, s.story_batch_seconds),
        ),
        StageDecl(
            IndexStage,
            "wirewatch.index",
            source="enriched",
            outputs={"next": "indexed"},
            batching=Batching(s.index_batch_size, s.index_batch_seconds),
        ),
        StageDecl(
            AlertStage,
            "wirewatch.alert",
            source="indexed",
            outputs={"next": "alerts"},
            batching=Batching(s.alert_batch_size, s.alert_batch_seconds),
        ),
    ]


class TopicLayoutError(WirewatchError):
    """A topic exists with a layout the pipeline cannot be correct with."""


def ensure_pipeline_topics(settings: Settings) -> dict[str, int]:
    """Create every topic of the topology (idempotent), wait until the metadata shows them
    with leaders, and refuse a layout a stage cannot be correct with. {name: partitions}."""
    decls = topics(settings).values()
    counts: dict[str, int] = {}
    for partitions in sorted({d.partitions for d in decls}):
        group = [d.name for d in decls if d.partitions == partitions]
        sized = settings.model_copy(update={"topic_partitions": partitions})
        counts |= ensure_topics(sized, group)
    for decl in decls:
        if decl.exact and counts[decl.name] != decl.partitions:
            raise TopicLayoutError(
                f"topic {decl.name!r} has {counts[decl.name]} partitions; the {decl.role} "
                f"stage needs exactly {decl.partitions} (delete the topic or set its "
                "WIREWATCH_TOPIC_* setting to a new name)"
            )
    return counts
