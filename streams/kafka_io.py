"""Kafka outside Faust: topic creation and the article publisher (kafka-python)."""

from __future__ import annotations

import contextlib
import gzip
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from processors.articles import MAX_ARTICLE_BYTES
from processors.errors import InputFileError, WirewatchError
from processors.formats import read_document
from processors.formats.versioning import Seen, content_hash, decide
from processors.models import Article
from streams.publish_state import PublishState
from streams.settings import Settings

log = structlog.get_logger(__name__)


class BrokerUnavailable(WirewatchError):
    """The Kafka broker cannot be reached."""


def _security(settings: Settings) -> dict[str, Any]:
    conf: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_sasl_mechanism:
        conf["sasl_mechanism"] = settings.kafka_sasl_mechanism
        conf["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            conf["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return conf


def _max_bytes(settings: Settings, topic: str) -> int:
    # A dead letter carries the original bytes base64-encoded (4/3 larger) plus its reason.
    limit = settings.kafka_max_message_bytes
    return 2 * limit if topic == settings.topic_dlq else limit


TOPIC_METADATA_TIMEOUT = 30.0
"""Seconds a freshly created topic may take to show in the broker's metadata with leaders."""


def ensure_topics(
    settings: Settings,
    names: Iterable[str] | None = None,
    *,
    timeout: float = TOPIC_METADATA_TIMEOUT,
) -> dict[str, int]:
    """Create the pipeline's topics (idempotent), each with `topic_partitions` partitions.

    Returns only once every topic is visible in the metadata with a leader for each partition
    (a topic created a moment ago can show 0 partitions at first), as {name: partitions}.
    """
    wanted = list(names or (settings.topic_raw, settings.topic_enriched, settings.topic_dlq))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_servers,
            client_id="wirewatch-admin",
            request_timeout_ms=10000,
            **_security(settings),
        )
    except KafkaError as exc:
        raise BrokerUnavailable(f"no Kafka broker answers at {settings.kafka_bootstrap}") from exc
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                name,
                settings.topic_partitions,
                settings.topic_replication,
                topic_configs={"max.message.bytes": str(_max_bytes(settings, name))},
            )
            for name in wanted
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
            log.info("topics.created", topics=[t.name for t in new])
        created = {t.name for t in new}
        expected = {n: settings.topic_partitions if n in created else None for n in wanted}
        return wait_for_topics(admin.describe_topics, expected, timeout=timeout)
    finally:
        admin.close()


class TopicNotReady(WirewatchError):
    """A topic did not show in the broker's metadata, with leaders, within the timeout."""


def topic_layout(described: dict[str, Any]) -> tuple[int, bool]:
    """(partitions, every partition has a leader) of one `describe_topics` entry."""
    if described.get("error_code", 0) != 0:
        return 0, False
    parts = described.get("partitions") or []
    return len(parts), bool(parts) and all(p.get("leader_id", -1) >= 0 for p in parts)


def wait_for_topics(
    describe: Callable[[list[str]], list[dict[str, Any]]],
    expected: dict[str, int | None],
    *,
    timeout: float = TOPIC_METADATA_TIMEOUT,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Poll topic metadata until each topic has a leader for every partition and, where
    `expected` gives a count, exactly that many partitions. Returns {name: partitions}."""
    deadline = clock() + timeout
    seen: dict[str, tuple[int, bool]] = {}
    while True:
        try:
            seen = {str(d.get("name")): topic_layout(d) for d in describe(list(expected))}
        except KafkaError as exc:
            log.debug("topics.metadata_unavailable", error=str(exc))
        waiting = [
            name
            for name, count in expected.items()
            if not seen.get(name, (0, False))[1] or (count is not None and seen[name][0] != count)
        ]
        if not waiting:
            return {name: seen[name][0] for name in expected}
        if clock() >= deadline:
            what = ", ".join(
                f"{n!r} (wanted {expected[n] or 'any number of'} partitions with leaders, "
                f"metadata shows {seen.get(n, (0, False))[0]})"
                for n in waiting
            )
            raise TopicNotReady(
                f"Kafka metadata did not show topic(s) {what} within {timeout:.0f}s; "
                "is the broker overloaded or still starting? see its log (wirewatch stack status)"
            )
        sleep(interval)


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


@contextlib.contextmanager
def _quiet_kafka_logs() -> Iterator[None]:
    logger = logging.getLogger("kafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass
class _Pending:
    article: Article
    verdict: str
    future: Any


class Publisher:
    """Publishes articles to `articles.raw`, keyed by article id.

    Producer safety: `acks=all` (every in-sync replica has it), the idempotent producer (a
    retried batch is never written twice), bounded retries, gzip compression, and a flush
    before any result is reported or any state saved, including on Ctrl-C.
    """

    def __init__(
        self, settings: Settings, *, rate: float | None = None, connect_timeout: float = 15.0
    ) -> None:
        self.settings = settings
        self.rate = rate if rate and rate > 0 else None
        self._next_send = 0.0
        try:
            with _quiet_kafka_logs():  # one clear error below instead of a retry log per attempt
                self.producer = self._make_producer(settings, connect_timeout)
        except KafkaError as exc:
            raise BrokerUnavailable(
                f"no Kafka broker answers at {settings.kafka_bootstrap}; is it running "
                "(`wirewatch stack up`)?"
            ) from exc

    @staticmethod
    def _make_producer(settings: Settings, connect_timeout: float) -> KafkaProducer:
        return KafkaProducer(
            bootstrap_servers=settings.kafka_servers,
            acks="all",
            retries=5,
            enable_idempotence=True,
            max_in_flight_requests_per_connection=5,
            compression_type="gzip",
            linger_ms=5,
            max_request_size=settings.kafka_max_message_bytes,
            bootstrap_timeout_ms=int(connect_timeout * 1000),
            max_block_ms=30000,
            client_id="wirewatch-publisher",
            **_security(settings),
        )

    def send(self, article: Article, topic: str | None = None) -> Any:
        return self.producer.send(
            topic or self.settings.topic_raw,
            key=article.id.encode(),
            value=article.model_dump_json(exclude_none=True).encode(),
        )

    def send_raw(self, value: bytes, key: bytes | None = None, topic: str | None = None) -> Any:
        return self.producer.send(topic or self.settings.topic_raw, key=key, value=value)

    def _throttle(self) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        if self._next_send > now:
            time.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + 1.0 / self.rate

    def publish_items(
        self,
        items: Iterable[Article | InputFileError],
        *,
        state: PublishState | None = None,
        checkpoint_every: int = 500,
    ) -> PublishReport:
        """Publish articles, report errors; with a `state`, skip what was seen and version.

        Without a state every article is sent as it is (the walking skeleton's behaviour).
        With one, `processors.formats.versioning.decide` says whether an article is new, a
        new version, already seen or stale, and sets the version it travels with. Every
        `checkpoint_every` messages (and at the end, and on Ctrl-C) the producer is flushed,
        acknowledgements are collected and the state saved.
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
                self._throttle()
                pending.append(_Pending(article, verdict, self.send(article)))
                if len(pending) >= checkpoint_every:
                    self._settle(pending, state, report)
        finally:
            self._settle(pending, state, report)
        return report

    def _settle(
        self, pending: list[_Pending], state: PublishState | None, report: PublishReport
    ) -> None:
        self.producer.flush()
        for p in pending:
            try:
                p.future.get(timeout=30)
            except KafkaError as exc:
                report.errors.append(f"{p.article.id}: not published: {exc}")
                report.undelivered += 1
                log.error("publish.failed", id=p.article.id, error=str(exc))
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
