"""The story stage: gives every enriched record a story id, and its people one value across
the stream, before it is indexed.

    articles.stories (1 partition) --[stories]--> articles.enriched

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

People. The same one partition sees every article, so it also holds the stream's knowledge
of full person names: the Faust table `people` (full name -> last-seen tick, changelog-backed)
behind a `processors.people.NameRegistry`. A record's lone surname ("Trump") becomes the one
full name the registry knows for it ("Donald Trump": seen in an earlier article, or in the
reviewed seed of public figures); an ambiguous surname is kept as it is.

Error policy:
- a record that does not parse -> dead letter `invalid_enriched` (stage `story`);
- Kafka send failures -> the one durable send; a record refused for good -> `undeliverable`;
- anything else that escapes a batch -> the batch runner isolates the record at fault
  (`processing_failed`) or fail-stops for a process-wide error;
- the outputs are on the enriched topic (acks=all) before the batch returns, so offsets are
  acked only after the record is durable. A redelivered article finds itself in the table
  and keeps its story id.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, ClassVar

import faust
import structlog
from faust.types import EventT
from pydantic import ValidationError

from processors.models import EnrichedArticle
from processors.people import NameRegistry
from processors.stories import NUM_PERM, StoryIndex, signature, story_text
from streams import metrics
from streams.core.deadletter import event_value
from streams.core.send import Record
from streams.stages.base import Stage

log = structlog.get_logger(__name__)

PRUNE_EVERY_SECONDS = 300.0


class StoryStage(Stage):
    """Assigns story ids; holds the LSH index and the table it is rebuilt from."""

    name: ClassVar[str] = "story"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table: MutableMapping[str, Any] = {}
        """The changelog-backed Faust table once `declare` has run (a dict in tests)."""
        self.index = StoryIndex(threshold=self.settings.story_threshold, num_perm=NUM_PERM)
        self.stale = True
        """The index must be rebuilt from the table before the next batch."""
        self._last_prune = time.time()
        self.people: MutableMapping[str, Any] = {}
        """Full person names seen (the changelog-backed table once `declare` has run)."""
        self.names = NameRegistry()
        self.names_stale = True
        """The registry must be rebuilt from `people` before the next batch."""
        self.prior: Mapping[str, str] = {}
        """Story ids known from elsewhere (a reindex passes those of the live index), kept
        as they are so alert de-duplication by (rule, story) still holds."""

    def declare(self, app: faust.App) -> None:
        people = app.Table(
            "people",
            partitions=1,
            use_partitioner=True,
            schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
            help="full person name -> last-seen tick (processors.people.NameRegistry)",
        )

        @people.on_recover
        async def _people_recovered() -> None:
            self.names_stale = True

        self.people = people
        table = app.Table(
            "stories",
            partitions=1,
            use_partitioner=True,  # one partition: no per-event partition needed to write
            # JSON, not the app's raw bytes: keys are article ids, values small dicts of ints.
            schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
            help="article id -> story id, MinHash signature, time seen",
        )

        @table.on_recover
        async def _recovered() -> None:
            self.mark_stale()

        self.table = table

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

    def _people(self, record: EnrichedArticle) -> EnrichedArticle:
        """One value per person: resolve lone surnames, then remember the full names."""
        resolved = self.names.resolve(record)
        self.names.observe(resolved)
        for name in resolved.persons:
            tick = self.names.last_seen(name)
            if tick is not None and self.people.get(name) != tick:
                self.people[name] = tick
        return resolved

    def _forget_names(self) -> None:
        """Drop table entries the registry evicted (it keeps the most recent names)."""
        state = self.names.state()
        for name in [n for n in list(self.people) if n not in state]:
            del self.people[name]

    async def process(self, events: Sequence[EventT[bytes]]) -> None:
        metrics.CONSUMED.labels(stage=self.name).inc(len(events))
        if self.stale or len(self.index) != len(self.table):
            self.rebuild()
        now = time.time()
        if self.names_stale:
            self.names = NameRegistry(dict(self.people.items()))
            self.names_stale = False
        if now - self._last_prune > PRUNE_EVERY_SECONDS:
            self._last_prune = now
            self.prune(now)
            self._forget_names()
        out: list[tuple[EventT[bytes], Record]] = []
        for event in events:
            try:
                record = EnrichedArticle.model_validate_json(event_value(event))
            except (ValidationError, ValueError) as exc:
                await self.dead_letter(event, self.name, "invalid_enriched", str(exc)[:500])
                continue
            record = self._people(record)
            sig = signature(story_text(record.title, record.body), NUM_PERM)
            prior = self.prior.get(record.id)
            if prior is not None and record.id not in self.index:
                self.table[record.id] = {"s": prior, "m": sig, "t": now}
                self.index.add(record.id, prior, sig)
            found = self.index.assign(record.id, sig)
            if found.known:
                metrics.STORIES_CLUSTERED.labels(outcome="redelivered").inc()
            else:
                self.table[record.id] = {"s": found.story_id, "m": sig, "t": now}
                outcome = "joined" if found.matched_article else "new"
                metrics.STORIES_CLUSTERED.labels(outcome=outcome).inc()
            if found.matched_article:
                log.info(
                    "stories.joined",
                    article_id=record.id,
                    story_id=found.story_id,
                    like=found.matched_article,
                    similarity=round(found.similarity, 3),
                )
            done = record.model_copy(update={"story_id": found.story_id})
            out.append((event, Record(done.id.encode(), done.model_dump_json().encode())))
        await self.send_or_dead_letter("next", out)  # durable before the offsets are acked
