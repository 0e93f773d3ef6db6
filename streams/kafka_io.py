"""Kafka outside Faust: topic creation and the article publisher (kafka-python)."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from processors.errors import InputFileError, WirewatchError
from processors.ingest import iter_jsonl_articles, parse_text_article
from processors.models import Article
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


def ensure_topics(settings: Settings, names: Iterable[str] | None = None) -> None:
    """Create the pipeline's topics (idempotent), each with `topic_partitions` partitions."""
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
    finally:
        admin.close()


def read_articles(path: Path, *, source: str | None = None) -> Iterator[Article | InputFileError]:
    """Articles of one file: seed text (`.txt`), JSON Lines (`.jsonl`, `.jsonl.gz`)."""
    name = str(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                text = fh.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        yield InputFileError(f"{name}: cannot read: {exc}")
        return
    if path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        yield from iter_jsonl_articles(text, name=name, default_source=source)
    else:
        try:
            yield parse_text_article(text, name=name, source=source)
        except InputFileError as exc:
            yield exc


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the article files inside folders named (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(
                    f
                    for f in p.iterdir()
                    if f.is_file() and f.name.endswith((".txt", ".jsonl", ".jsonl.gz", ".ndjson"))
                )
            )
        else:
            out.append(p)
    return out


@dataclass
class PublishReport:
    published: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Publisher:
    """Publishes articles to `articles.raw`, keyed by article id, with acks=all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:
            self.producer = KafkaProducer(
                bootstrap_servers=settings.kafka_servers,
                acks="all",
                retries=5,
                enable_idempotence=True,
                compression_type="gzip",
                linger_ms=5,
                max_request_size=settings.kafka_max_message_bytes,
                client_id="wirewatch-publisher",
                **_security(settings),
            )
        except KafkaError as exc:
            raise BrokerUnavailable(
                f"no Kafka broker answers at {settings.kafka_bootstrap}; is it running "
                "(`wirewatch stack up`)?"
            ) from exc

    def send(self, article: Article, topic: str | None = None) -> Any:
        return self.producer.send(
            topic or self.settings.topic_raw,
            key=article.id.encode(),
            value=article.model_dump_json(exclude_none=True).encode(),
        )

    def send_raw(self, value: bytes, key: bytes | None = None, topic: str | None = None) -> Any:
        return self.producer.send(topic or self.settings.topic_raw, key=key, value=value)

    def publish_files(self, paths: Iterable[Path], *, source: str | None = None) -> PublishReport:
        report = PublishReport()
        futures = []
        for path in expand_paths(paths):
            for item in read_articles(path, source=source):
                if isinstance(item, InputFileError):
                    report.errors.append(str(item))
                    log.error("publish.bad_input", error=str(item))
                    continue
                futures.append((item.id, self.send(item)))
        self.producer.flush()
        for art_id, fut in futures:
            try:
                fut.get(timeout=30)
                report.published.append(art_id)
            except KafkaError as exc:
                report.errors.append(f"{art_id}: not published: {exc}")
        return report

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()
