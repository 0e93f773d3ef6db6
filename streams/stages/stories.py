"""The story stage: gives every enriched record a story id before it is indexed.

    enrich -> articles.stories (1 partition) -> [wirewatch.stories] -> articles.enriched -> index

Why a separate stage on a one-partition topic: near-duplicate detection needs every earlier
article of the window, whichever partition or worker enriched it. Faust tables are
partitioned like their source topic, so a table on the two-partition enriched topic would
let a rewrite on partition 1 miss the original on partition 0. With one partition, exactly
one worker at a time runs this agent and holds the whole state; the others stand by and take
over (recovering the table from its changelog) if it goes away. The work per article is a
MinHash signature and an LSH lookup (well under a millisecond of CPU next to spaCy's tens of
milliseconds), so one partition is not the bottleneck.

State: the Faust table `stories` (article id -> story id, signature, time), changelog-backed,
so it survives restarts (`memory://` rebuilds it from the changelog at start; `rocksdb://`
keeps it on disk). The LSH index (`processors.stories.StoryIndex`) is in memory and is
rebuilt from the table after every recovery.

Error policy: a record that does not parse -> dead letter (stage `story`); anything else
that escapes a batch -> the batch runner (`streams.core.batches.run_batch`) isolates the record at
fault (dead letter `processing_failed`) or fail-stops for a process-wide error; the outputs are
sent with acks=all and awaited before the batch returns, so offsets are acked only after the
record is durable on the enriched topic. A redelivered article finds itself in the table and
keeps its story id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping, Sequence
from typing import Any, cast

import faust
import structlog
from faust.streams import Stream
from faust.types import EventT, StreamT
from prometheus_client import Counter
from pydantic import ValidationError

from processors.models import EnrichedArticle
from processors.stories import NUM_PERM, StoryIndex, signature, story_text
from streams import metrics
from streams.core.batches import run_batch
from streams.core.deadletter import event_value
from streams.settings import Settings

log = structlog.get_logger(__name__)

PRUNE_EVERY_SECONDS = 300.0
STORIES_CLUSTERED = Counter(
    "wirewatch_stories_total",
    "Articles given a story id, by outcome (new story, joined a story, redelivered)",
    ["outcome"],
    registry=metrics.REGISTRY,
)


class StoryStage:
    """Assigns story ids; holds the LSH index and the table it is rebuilt from."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Any,
        table: MutableMapping[str, Any],
        output: faust.TopicT,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.table = table
        self.output = output
        self.index = StoryIndex(threshold=settings.story_threshold, num_perm=NUM_PERM)
        self.stale = True
        """The index must be rebuilt from the table before the next batch."""
        self._last_prune = time.time()

    def mark_stale(self) -> None:
        self.stale = True

    def rebuild(self) -> None:
        entries = []
        for article_id, value in list(self.table.items()):
            try:
                entries.append((str(article_id), str(value["s"]), [int(v) for v in value["m"]]))
            except (KeyError, TypeError, ValueError):
                log.warning("stories.bad_table_entry", article_id=str(article_id)[:100])
        self.index.rebuild(entries)
        self.stale = False
        log.info("stories.index_rebuilt", articles=len(self.index))

    def prune(self, now: float) -> int:
        """Forget articles older than the story window (the table entry and the LSH entry)."""
        horizon = now - self.settings.story_ttl_hours * 3600
        old = [k for k, v in list(self.table.items()) if float(v.get("t", 0)) < horizon]
        for key in old:
            del self.table[key]
            self.index.remove(str(key))
        if old:
            log.info("stories.pruned", articles=len(old))
        return len(old)

    async def cluster_batch(self, events: Sequence[EventT[bytes]]) -> None:
        metrics.CONSUMED.labels(stage="story").inc(len(events))
        if self.stale or len(self.index) != len(self.table):
            self.rebuild()
        now = time.time()
        if now - self._last_prune > PRUNE_EVERY_SECONDS:
            self._last_prune = now
            self.prune(now)
        futures = []
        for event in events:
            try:
                record = EnrichedArticle.model_validate_json(event_value(event))
            except (ValidationError, ValueError) as exc:
                await self.pipeline.dead_letter(event, "story", "invalid_enriched", str(exc)[:500])
                continue
            sig = signature(story_text(record.title, record.body), NUM_PERM)
            found = self.index.assign(record.id, sig)
            if found.known:
                STORIES_CLUSTERED.labels(outcome="redelivered").inc()
            else:
                self.table[record.id] = {"s": found.story_id, "m": sig, "t": now}
                STORIES_CLUSTERED.labels(outcome="joined" if found.matched_article else "new").inc()
            if found.matched_article:
                log.info(
                    "stories.joined",
                    article_id=record.id,
                    story_id=found.story_id,
                    like=found.matched_article,
                    similarity=round(found.similarity, 3),
                )
            out = record.model_copy(update={"story_id": found.story_id})
            futures.append(
                await self.output.send(key=out.id.encode(), value=out.model_dump_json().encode())
            )
        await asyncio.gather(*futures)  # durable before the offsets are acked


def register_stories(
    app: faust.App, settings: Settings, pipeline: Any, enriched: faust.TopicT
) -> tuple[faust.TopicT, StoryStage]:
    """Add the story topic, table and agent; the enrich agent now writes to the story topic."""
    stories_topic = app.topic(
        settings.topic_stories, value_type=bytes, key_type=bytes, partitions=1
    )
    table = app.Table(
        "stories",
        partitions=1,
        use_partitioner=True,  # one partition: no per-event partition needed to write
        # JSON, not the app's raw bytes: keys are article ids, values small dicts of ints.
        schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
        help="article id -> story id, MinHash signature, time seen",
    )
    stage = StoryStage(settings, pipeline, table, enriched)

    @table.on_recover
    async def _recovered() -> None:
        stage.mark_stale()

    @app.agent(stories_topic, name="wirewatch.stories")
    async def cluster(stream: StreamT[bytes]) -> None:
        async for events in cast(Stream[bytes], stream).take_events(
            settings.index_batch_size, within=settings.story_batch_seconds
        ):
            await run_batch("story", stage.cluster_batch, events, pipeline.isolation)

    return stories_topic, stage
