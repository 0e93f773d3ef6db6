"""The publisher: articles from files, folders and feeds onto the raw topic, keyed by article
id, through the one durable send (`streams.core.send`).

Every `checkpoint_every` articles (and at the end, and on Ctrl-C) the publisher waits until
Kafka has each one (acks=all; a failed send is re-issued with the shared backoff), reports
what Kafka refused for good, and only then saves the publish state: a crash never marks an
article as published that Kafka does not have.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from kafka import KafkaProducer

from processors.articles import MAX_ARTICLE_BYTES
from processors.errors import InputFileError
from processors.formats import read_document
from processors.formats.versioning import Seen, content_hash, decide
from processors.models import Article
from streams.clients.kafka import ProducerSender, make_producer
from streams.core.send import Record, send_durably
from streams.publishing.state import PublishState
from streams.settings import Settings

log = structlog.get_logger(__name__)


ARTICLE_SUFFIXES = (".txt", ".jsonl", ".ndjson", ".json", ".xml", ".rss", ".atom")
"""File names a folder is read for (each also gzipped, `.gz`)."""


def is_article_file(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return not path.name.startswith(".") and name.endswith(ARTICLE_SUFFIXES)


def read_articles(
    path: Path, *, source: str | None = None, fmt: str = "auto", max_bytes: int = MAX_ARTICLE_BYTES
) -> Iterator[Article | InputFileError]:
    """Articles of one file in any supported format (`fmt="auto"` detects it; `.gz` is read)."""
    name = str(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as exc:
        yield InputFileError(f"{name}: cannot read: {exc}")
        return
    yield from read_document(data, name=name, fmt=fmt, source=source, max_bytes=max_bytes)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the article files inside folders named (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and is_article_file(f)))
        else:
            out.append(p)
    return out


@dataclass
class PublishReport:
    """What one publishing run did."""

    published: list[str] = field(default_factory=list)
    """Ids Kafka acknowledged (new articles and new versions)."""
    errors: list[str] = field(default_factory=list)
    """Rejected input (file and position, reason) and messages Kafka did not take."""
    updated: int = 0
    """How many of `published` were new versions of articles published before."""
    skipped_seen: int = 0
    """Already published with this content and version."""
    skipped_stale: int = 0
    """Older versions than the one already published."""
    undelivered: int = 0
    """Articles Kafka did not acknowledge (also listed in `errors`)."""

    def merge(self, other: PublishReport) -> None:
        self.published.extend(other.published)
        self.errors.extend(other.errors)
        self.updated += other.updated
        self.skipped_seen += other.skipped_seen
        self.skipped_stale += other.skipped_stale
        self.undelivered += other.undelivered

    def summary(self) -> str:
        return (
            f"published {len(self.published)} ({self.updated} new versions), "
            f"skipped {self.skipped_seen} already seen and {self.skipped_stale} stale, "
            f"rejected {len(self.errors)}"
        )


@dataclass
class _Pending:
    article: Article
    verdict: str


def article_record(article: Article) -> Record:
    """The raw-topic record of an article: keyed by its id, the JSON the worker validates."""
    return Record(article.id.encode(), article.model_dump_json(exclude_none=True).encode())


class Publisher:
    """Publishes articles to the raw topic (or raw records to any topic), durably."""

    def __init__(
        self,
        settings: Settings,
        *,
        rate: float | None = None,
        connect_timeout: float = 15.0,
        producer: KafkaProducer | None = None,
    ) -> None:
        self.settings = settings
        self.rate = rate if rate and rate > 0 else None
        self._next_send = 0.0
        self.producer = producer or make_producer(
            settings, client_id="wirewatch-publisher", connect_timeout=connect_timeout
        )
        self.sender = ProducerSender(self.producer, before_send=self._throttle)

    def _throttle(self) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        if self._next_send > now:
            time.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + 1.0 / self.rate

    def publish_records(
        self, records: Sequence[Record], topic: str | None = None
    ) -> list[tuple[Record, str]]:
        """Send records and wait until Kafka has them; returns those refused for good, with
        the broker's error."""
        if not records:
            return []
        refused = asyncio.run(
            send_durably(self.sender, topic or self.settings.topic_raw, records, stage="publish")
        )
        return [(u.record, f"{type(u.error).__name__}: {u.error}") for u in refused]

    def publish(self, articles: Iterable[Article]) -> PublishReport:
        """Publish these articles as they are (no publish state), durably."""
        return self.publish_items(articles)

    def publish_items(
        self,
        items: Iterable[Article | InputFileError],
        *,
        state: PublishState | None = None,
        checkpoint_every: int = 500,
    ) -> PublishReport:
        """Publish articles, report errors; with a `state`, skip what was seen and version.

        Without a state every article is sent as it is. With one,
        `processors.formats.versioning.decide` says whether an article is new, a new version,
        already seen or stale, and sets the version it travels with.
        """
        report = PublishReport()
        pending: list[_Pending] = []
        inflight: dict[str, Seen] = {}
        try:
            for item in items:
                if isinstance(item, InputFileError):
                    report.errors.append(str(item))
                    log.warning("publish.rejected", error=str(item))
                    continue
                article, verdict = item, "new"
                if state is not None:
                    previous = inflight.get(item.id) or state.seen(item.id)
                    verdict, article = decide(item, previous, now_ms=int(time.time() * 1000))
                    if verdict == "seen":
                        report.skipped_seen += 1
                        state.touch(item.id)
                        continue
                    if verdict == "stale":
                        report.skipped_stale += 1
                        continue
                    inflight[item.id] = Seen(content_hash(article), article.version)
                pending.append(_Pending(article, verdict))
                if len(pending) >= checkpoint_every:
                    self._settle(pending, state, report)
        finally:
            self._settle(pending, state, report)
        return report

    def _settle(
        self, pending: list[_Pending], state: PublishState | None, report: PublishReport
    ) -> None:
        refused = {
            record.key: error
            for record, error in self.publish_records([article_record(p.article) for p in pending])
        }
        for p in pending:
            error = refused.get(p.article.id.encode())
            if error is not None:
                report.errors.append(f"{p.article.id}: not published: {error}")
                report.undelivered += 1
                log.error("publish.failed", id=p.article.id, error=error)
                continue
            report.published.append(p.article.id)
            if p.verdict == "updated":
                report.updated += 1
            if state is not None:
                state.remember(p.article.id, Seen(content_hash(p.article), p.article.version))
        pending.clear()
        if state is not None:
            state.save()

    def publish_files(
        self,
        paths: Iterable[Path],
        *,
        source: str | None = None,
        fmt: str = "auto",
        state: PublishState | None = None,
        on_file: Callable[[Path, PublishReport], None] | None = None,
    ) -> PublishReport:
        """Publish every article of these files and folders; one bad file does not stop the rest."""
        report = PublishReport()
        for path in expand_paths(paths):
            items = read_articles(
                path, source=source, fmt=fmt, max_bytes=self.settings.max_article_bytes
            )
            part = self.publish_items(items, state=state)
            report.merge(part)
            if on_file is not None:
                on_file(path, report)
        return report

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()
