"""`wirewatch reindex`: rebuild the articles index from the raw topic through the pipeline's
own stages, then switch the alias atomically.

Like yente's indexer: take a lock (one reindex at a time), build `articles-v<N+1>`, switch
the alias when caught up, delete indices beyond the `es_keep_indices` kept for rollback,
and delete the half-built index if anything fails before the switch.

The same stages as live ingest. The raw messages run through the enrich, story and index
stages of `streams.topology` in this process; only the transport differs: records pass from
stage to stage in memory instead of through Kafka, the index stage writes to the new index
instead of the alias, and nothing reaches the indexed topic, so no alert fires again. The
story stage starts from the story ids of the live index, so a re-indexed article keeps its
story and alert de-duplication by (rule, story) still holds; articles the live index lacks
get story ids the usual way. Messages the live pipeline dead-lettered fail the same way here
and are counted, not dead-lettered again.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch
from elasticsearch.helpers import scan
from faust.types import EventT
from kafka import TopicPartition

from processors.errors import WirewatchError
from streams.clients import indices
from streams.clients.elastic import BulkWriter, make_async_client
from streams.clients.indices import create_index, index_name, switch_alias, write_index
from streams.core.batches import Isolation, run_batch
from streams.core.faults import FatalError
from streams.core.send import Record
from streams.operations.ops import Progress, _consumer, _read_range, start_offsets
from streams.settings import Settings
from streams.stages.base import Stage
from streams.stages.enrich import EnrichStage
from streams.stages.index import IndexStage
from streams.stages.stories import StoryStage
from streams.topology import stages, topics

log = structlog.get_logger(__name__)

CHUNK = 64
"""Raw messages per round through the stages."""


class ReindexLocked(WirewatchError):
    """Another reindex of this alias holds the lock."""


@dataclass
class ReindexReport:
    new_index: str
    old_indices: list[str]
    indexed: int = 0
    invalid: int = 0
    """Messages a stage refused (the live pipeline dead-lettered them already), by count."""
    kept_story: int = 0
    """Articles that kept the story id of the live index."""
    passes: int = 0
    switched: bool = False
    deleted: list[str] = field(default_factory=list)
    """Old indices removed beyond the ones kept for rollback."""


# ---------------------------------------------------------------------- the lock


LOCK_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {"token": {"type": "keyword"}, "started_at": {"type": "date"}},
}


def lock_index(settings: Settings) -> str:
    return f"{settings.es_alias}-locks"


def acquire_lock(es: Elasticsearch, settings: Settings, *, force: bool = False) -> str:
    """Create the reindex lock document (atomically: `op_type=create`); returns its token."""
    token = f"{socket.gethostname()}:{os.getpid()}:{datetime.now(UTC).isoformat()}"
    if not es.indices.exists(index=lock_index(settings)):
        es.options(ignore_status=400).indices.create(
            index=lock_index(settings),
            settings={"number_of_shards": 1, "auto_expand_replicas": "0-1"},
            mappings=LOCK_MAPPING,
        )
    if force:
        es.options(ignore_status=404).delete(index=lock_index(settings), id="reindex")
    try:
        es.index(
            index=lock_index(settings),
            id="reindex",
            document={"token": token, "started_at": datetime.now(UTC).isoformat()},
            op_type="create",
            refresh=True,
        )
    except ApiError as exc:
        if exc.status_code != 409:
            raise
        held = es.get(index=lock_index(settings), id="reindex")["_source"]
        raise ReindexLocked(
            f"another reindex of {settings.es_alias!r} holds the lock ({held.get('token')}); "
            "if it died, run `wirewatch reindex --force`"
        ) from exc
    return token


def release_lock(es: Elasticsearch, settings: Settings, token: str) -> None:
    doc = es.options(ignore_status=404).get(index=lock_index(settings), id="reindex")
    if doc.get("found") and doc["_source"].get("token") == token:
        es.delete(index=lock_index(settings), id="reindex", refresh=True)


# ---------------------------------------------------------------------- in-memory transport


@dataclass(frozen=True)
class LocalMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class LocalEvent:
    """A record handed from one stage to the next without Kafka (what a stage reads of an
    event: its message)."""

    message: LocalMessage


class LocalSender:
    """The stages' `Sender` during a reindex: records wait in memory for the next stage."""

    def __init__(self) -> None:
        self.buffers: dict[str, list[Record]] = {}

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        self.buffers.setdefault(topic, []).append(Record(key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def take(self, topic: str) -> list[EventT[bytes]]:
        records = self.buffers.pop(topic, [])
        return [
            cast(EventT[bytes], LocalEvent(LocalMessage(topic, 0, i, r.key, r.value)))
            for i, r in enumerate(records)
        ]


class CountingLetters:
    """Dead letters during a reindex are counted and logged, not sent again."""

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}

    async def __call__(
        self,
        event: EventT[bytes],
        stage: str,
        reason: str,
        detail: str,
        article_id: str | None = None,
    ) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        log.info("reindex.refused", stage=stage, reason=reason, detail=detail[:200])


def _key(event: EventT[bytes]) -> str:
    key = event.message.key
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else ""


def _raise_fatal(stage: str, events: Sequence[EventT[bytes]], why: str) -> None:
    raise FatalError(f"reindex stopped in the {stage} stage: {why}")


class Chain:
    """The enrich, story and index stages of the topology, wired in memory."""

    def __init__(
        self, settings: Settings, new_index: str, es: AsyncElasticsearch, prior: dict[str, str]
    ) -> None:
        self.sender = LocalSender()
        self.letters = CountingLetters()
        declared = topics(settings)
        self.order: list[tuple[Stage, str]] = []
        """Each stage with the topic it reads."""
        for decl in stages(settings):
            if decl.kind not in (EnrichStage, StoryStage, IndexStage):
                continue  # alerts: a reindex must not fire again
            outputs = {out: declared[role].name for out, role in decl.outputs.items()}
            stage = decl.kind(settings, self.sender, self.letters, outputs)  # type: ignore[arg-type]
            self.order.append((stage, declared[decl.source].name))
        self.enrich = cast(EnrichStage, self.order[0][0])
        story = cast(StoryStage, self.order[1][0])
        story.prior = prior
        index = cast(IndexStage, self.order[2][0])
        index.writer = BulkWriter(es, new_index)
        self.indexed_topic = index.outputs["next"]
        self.kept = 0
        """Articles that kept the story id of the live index."""
        self.isolation = Isolation(
            dead_letter=self.letters, attempts=settings.poison_attempts, stop=_raise_fatal
        )

    async def start(self) -> None:
        self.enrich.pool = self.enrich._new_pool()
        await self.enrich.check_model()

    def stop(self) -> None:
        if self.enrich.pool is not None:
            self.enrich.pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, events: Sequence[EventT[bytes]]) -> int:
        """Run raw events through every stage; returns how many documents were written."""
        first, *rest = self.order
        await run_batch(first[0].name, first[0].process, events, self.isolation)
        for stage, source in rest:
            batch = self.sender.take(source)
            if isinstance(stage, StoryStage):
                self.kept += sum(1 for e in batch if _key(e) in stage.prior)
            if batch:
                await run_batch(stage.name, stage.process, batch, self.isolation)
        return len(self.sender.take(self.indexed_topic))


# ---------------------------------------------------------------------- reindex


def live_story_ids(es: Elasticsearch, alias: str) -> dict[str, str]:
    """Article id -> story id of every document behind the alias now."""
    if not es.indices.exists_alias(name=alias):
        return {}
    out: dict[str, str] = {}
    for hit in scan(es, index=alias, query={"query": {"match_all": {}}}, _source=["story_id"]):
        story = (hit.get("_source") or {}).get("story_id")
        if story:
            out[str(hit["_id"])] = str(story)
    return out


def reindex(
    es: Elasticsearch,
    settings: Settings,
    *,
    from_offset: int | None = None,
    since: datetime | None = None,
    new_version: int | None = None,
    progress: Progress | None = None,
    switch: bool = True,
    force: bool = False,
) -> ReindexReport:
    """Re-enrich the raw topic into a new versioned index, then switch the alias to it.

    Reads up to the end offsets seen at the start, then repeats for what arrived meanwhile
    until a pass finds little new; switches the alias; then makes one last pass so nothing
    the live workers wrote to the old index between the last pass and the switch is missing.
    """
    alias = settings.es_alias
    token = acquire_lock(es, settings, force=force)
    new_index = ""
    report: ReindexReport | None = None
    try:
        current = write_index(es, alias)
        new_index = index_name(alias, new_version or _next_version(es, alias))
        if es.indices.exists(index=new_index):
            raise WirewatchError(f"index {new_index!r} exists already; pick another --version")
        create_index(es, new_index)
        indices.pause_refresh(es, new_index)  # behind no alias until the switch (resume_refresh)
        report = ReindexReport(new_index=new_index, old_indices=[current] if current else [])
        prior = live_story_ids(es, alias)
        asyncio.run(_build(settings, report, prior, from_offset, since, progress, switch, es))
        if switch:
            report.deleted = drop_old_indices(es, alias, keep=settings.es_keep_indices)
    except BaseException:
        if new_index and (report is None or not report.switched):
            log.error("reindex.failed_cleaning_up", index=new_index)
            es.options(ignore_status=404).indices.delete(index=new_index)
        raise
    finally:
        release_lock(es, settings, token)
    es.indices.refresh(index=new_index)
    log.info(
        "reindex.done",
        index=new_index,
        indexed=report.indexed,
        invalid=report.invalid,
        kept_story=report.kept_story,
        switched=report.switched,
        deleted=report.deleted,
    )
    return report


async def _build(
    settings: Settings,
    report: ReindexReport,
    prior: dict[str, str],
    from_offset: int | None,
    since: datetime | None,
    progress: Progress | None,
    switch: bool,
    es_sync: Elasticsearch,
) -> None:
    es = make_async_client(settings)
    chain = Chain(settings, report.new_index, es, prior)
    consumer = _consumer(settings)
    try:
        await chain.start()
        parts = consumer.partitions_for_topic(settings.topic_raw) or set()
        tps = [TopicPartition(settings.topic_raw, p) for p in sorted(parts)]
        position = start_offsets(consumer, tps, from_offset, since)
        total = 0
        while True:
            end = consumer.end_offsets(tps)
            pending = sum(max(0, end[tp] - position[tp]) for tp in tps)
            total += pending
            report.passes += 1
            await _run_range(chain, consumer, position, end, report, progress, total)
            position = dict(end)
            if pending < 50 or report.passes >= 10:
                break
        indices.resume_refresh(es_sync, report.new_index)
        if switch:
            report.old_indices = switch_alias(es_sync, settings.es_alias, report.new_index)
            report.switched = True
            end = consumer.end_offsets(tps)
            total += sum(max(0, end[tp] - position[tp]) for tp in tps)
            await _run_range(chain, consumer, position, end, report, progress, total)
    finally:
        chain.stop()
        consumer.close()
        await es.close()
    report.kept_story = chain.kept
    report.invalid = sum(chain.letters.reasons.values())


async def _run_range(
    chain: Chain,
    consumer: Any,
    start: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
    report: ReindexReport,
    progress: Progress | None,
    total: int,
) -> None:
    done = report.indexed + sum(chain.letters.reasons.values())
    chunk: list[EventT[bytes]] = []
    for msg in _read_range(consumer, start, end):
        raw = LocalMessage(msg.topic, msg.partition, msg.offset, msg.key, msg.value or b"")
        chunk.append(cast(EventT[bytes], LocalEvent(raw)))
        if len(chunk) >= CHUNK:
            report.indexed += await chain.run(chunk)
            done += len(chunk)
            chunk = []
            if progress is not None:
                progress(done, total)
    if chunk:
        report.indexed += await chain.run(chunk)
        done += len(chunk)
    if progress is not None:
        progress(done, total)


def _next_version(es: Elasticsearch, alias: str) -> int:
    existing = es.indices.get(index=f"{alias}-v*", expand_wildcards="all")
    versions = [int(n.rsplit("-v", 1)[1]) for n in existing if n.rsplit("-v", 1)[1].isdigit()]
    return max(versions, default=0) + 1


def drop_old_indices(es: Elasticsearch, alias: str, *, keep: int) -> list[str]:
    """Delete versioned indices of `alias` that it does not point at, beyond the `keep`
    newest (kept for rollback: point the alias back at one). Returns the deleted names."""
    existing = es.indices.get(index=f"{alias}-v*", expand_wildcards="all")
    live = set(es.indices.get_alias(name=alias)) if es.indices.exists_alias(name=alias) else set()
    versioned = sorted(
        (int(n.rsplit("-v", 1)[1]), str(n))
        for n in existing
        if n.rsplit("-v", 1)[1].isdigit() and n not in live
    )
    doomed = [name for _, name in versioned[: max(0, len(versioned) - keep)]]
    if doomed:
        es.indices.delete(index=",".join(doomed))
        log.info("reindex.old_indices_deleted", indices=doomed)
    return doomed
