"""The enrich stage: raw articles -> spaCy enrichment -> the story topic.

    articles.raw --[enrich]--> articles.stories

Validation at the edge: each raw message is parsed by `processors.validate.parse_raw_article`
(depth-limited JSON, the Article model); then the batch runs through spaCy in a pool of
`spacy_pool_size` processes (`spawn`, each loading the model once), so the event loop keeps
heartbeating while the model works. The stage holds one batch more than there are processes
(`WIREWATCH_ENRICH_OVERLAP`, `streams.core.batches.Window`): while spaCy works on one batch,
the next is taken and decoded and the one before is sent, and batches still send and ack in
the order taken.

Error policy:
- invalid input -> dead letter with its reason and original bytes (stage `enrich`);
- an article whose enrichment raises, or kills the enrichment process, fails the batch; the
  batch runner reruns it one article at a time and dead-letters the one at fault as
  `processing_failed` after `poison_attempts` tries alone; a dead process is replaced;
- a spaCy model that cannot load -> fail-stop at start (exit 70), naming
  `WIREWATCH_SPACY_MODEL`, instead of dead-lettering every article;
- Kafka send failures -> the one durable send retries them; a record the topic refuses for
  good -> dead letter `undeliverable`;
- the batch returns only after its records and dead letters are on their topics (acks=all).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import ClassVar

import structlog
from faust.types import EventT

from processors.enrich import enrich_to_json, load_pipeline, warm_up
from processors.errors import InvalidArticle
from processors.models import Article
from processors.validate import parse_raw_article
from streams import metrics
from streams.core.batches import EXIT_FAIL_STOP
from streams.core.deadletter import event_value
from streams.core.faults import FatalError
from streams.core.send import Record
from streams.stages.base import Stage

log = structlog.get_logger(__name__)
SLOW_BATCH_SECONDS = 60.0
"""A spaCy batch still running after this long is logged (and again each time it passes)."""


class EnrichmentCrashed(Exception):
    """The enrichment process died under a batch (a `bug` fault: isolate its articles)."""


class EnrichStage(Stage):
    """Validates raw articles and enriches them in a spaCy process."""

    name: ClassVar[str] = "enrich"
    pool: Executor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: forking a process that runs an event loop and Kafka clients is unsafe.
        return ProcessPoolExecutor(
            max_workers=self.settings.spacy_pool_size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=load_pipeline,
            initargs=(self.settings.spacy_model,),
        )

    async def on_start(self) -> None:
        if self.pool is None:
            self.pool = self._new_pool()
        try:
            await self.check_model()  # fail at start, not by dead-lettering every article
        except FatalError as exc:
            log.critical("enrich.model_unavailable", error=str(exc))
            logging.shutdown()
            os._exit(EXIT_FAIL_STOP)
        await super().on_start()

    async def on_stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def check_model(self) -> None:
        """Load the spaCy model (and the language model) in the enrichment processes;
        `FatalError` when it cannot."""
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        warm = partial(warm_up, self.settings.spacy_model)
        try:
            # One call per process: the pool starts a process for each call it cannot give
            # to an idle one, and each loads the model before it answers.
            await asyncio.gather(
                *(
                    loop.run_in_executor(self.pool, warm)
                    for _ in range(self.settings.spacy_pool_size)
                )
            )
        except Exception as exc:
            raise FatalError(
                f"the spaCy model {self.settings.spacy_model!r} cannot be loaded "
                f"({type(exc).__name__}: {str(exc)[:300]}); install it or set "
                "WIREWATCH_SPACY_MODEL to an installed pipeline"
            ) from exc

    async def _enrich(self, articles: Sequence[Article]) -> list[tuple[str, bytes]]:
        """`(id, JSON bytes)` of each article's enriched record, in order."""
        loop = asyncio.get_running_loop()
        call = partial(
            enrich_to_json,
            list(articles),
            model=self.settings.spacy_model,
            batch_size=self.settings.batch_size,
            max_chars=self.settings.max_enrich_chars,
        )
        pool = self.pool
        assert pool is not None
        try:
            future = loop.run_in_executor(pool, call)
            waited = 0.0
            while True:  # a batch far slower than usual is logged, never cut short
                try:
                    return await asyncio.wait_for(asyncio.shield(future), SLOW_BATCH_SECONDS)
                except TimeoutError:
                    waited += SLOW_BATCH_SECONDS
                    log.warning("enrich.slow_batch", articles=len(articles), seconds=waited)
        except BrokenProcessPool as exc:
            # A process died under this batch: start a new pool (once, though every batch
            # in the broken pool fails). If it cannot load the model, nothing can be enriched
            # (fatal); else one of the articles may have killed it, which the batch runner
            # finds out by running them alone.
            log.error("enrich.pool_broken", articles=len(articles))
            if self.pool is pool:
                self.pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
                await self.check_model()
            raise EnrichmentCrashed(
                f"the enrichment process died under {len(articles)} article(s)"
            ) from exc

    async def process(self, events: Sequence[EventT[bytes]]) -> None:
        started = time.perf_counter()
        metrics.CONSUMED.labels(stage=self.name).inc(len(events))
        good: list[tuple[EventT[bytes], Article]] = []
        for event in events:
            try:
                article = parse_raw_article(
                    event_value(event), max_bytes=self.settings.max_article_bytes
                )
            except InvalidArticle as exc:
                await self.dead_letter(event, self.name, exc.reason, exc.detail or exc.reason)
                continue
            good.append((event, article))
        if good:
            results = await self._enrich([a for _, a in good])
            await self.send_or_dead_letter(
                "next",
                [
                    (event, Record(art_id.encode(), value))
                    for (event, _), (art_id, value) in zip(good, results, strict=True)
                ],
            )
            metrics.ENRICHED.inc(len(results))
        metrics.BATCH_SECONDS.labels(stage=self.name).observe(time.perf_counter() - started)
