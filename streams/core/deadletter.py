"""Dead letters: what could not be processed, why, and the original bytes; and the one
sender every stage uses for them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import structlog
from faust.types import EventT
from pydantic import BaseModel, ConfigDict

from processors.safejson import JSONRejected, decode_json
from streams import metrics
from streams.core.faults import FatalError
from streams.core.send import Record, Sender, send_durably

log = structlog.get_logger(__name__)


class DeadLetter(BaseModel):
    """One record on the dead-letter topic. `original` is the untouched input, base64."""

    model_config = ConfigDict(frozen=True)

    reason: str
    """Short machine-friendly reason, e.g. `invalid_json`, `missing_text`, `index_rejected`."""
    detail: str = ""
    """Human-readable explanation."""
    stage: str
    """Which stage gave up on it: `enrich`, `story`, `index` or `alert`."""
    topic: str
    partition: int
    offset: int
    article_id: str | None = None
    original: str
    """The original message value, base64-encoded."""
    failed_at: datetime

    @classmethod
    def make(
        cls,
        *,
        reason: str,
        detail: str,
        stage: str,
        topic: str,
        partition: int,
        offset: int,
        original: bytes,
        article_id: str | None = None,
    ) -> DeadLetter:
        return cls(
            reason=reason,
            detail=detail[:2000],
            stage=stage,
            topic=topic,
            partition=partition,
            offset=offset,
            article_id=article_id,
            original=base64.b64encode(original).decode("ascii"),
            failed_at=datetime.now(UTC),
        )

    def original_bytes(self) -> bytes:
        return base64.b64decode(self.original)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def article_id_hint(raw: bytes) -> str | None:
    """Best-effort article id from undecodable input, for the dead letter's key."""
    try:
        data: Any = decode_json(raw.decode("utf-8"))
    except (JSONRejected, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return str(data["id"])[:512]
    return None


def event_value(event: EventT[bytes]) -> bytes:
    """The raw message value of a consumed event (a tombstone counts as empty input)."""
    value = event.message.value
    return value if isinstance(value, bytes) else b""


def _key_text(key: object) -> str | None:
    """The message key as text (publishers key by article id), when it is text."""
    if isinstance(key, bytes):
        try:
            return key.decode("utf-8")[:512] or None
        except UnicodeDecodeError:
            return None
    return None


class DeadLetters:
    """Sends dead letters durably (the one send), the same way for every stage.

    A letter the topic refuses for good (its original is larger than the topic allows) is
    sent again without the original, saying so: the reason and the position are never lost.
    """

    def __init__(self, sender: Sender, topic: str) -> None:
        self.sender = sender
        self.topic = topic

    async def __call__(
        self,
        event: EventT[bytes],
        stage: str,
        reason: str,
        detail: str,
        article_id: str | None = None,
    ) -> None:
        msg = event.message
        raw = event_value(event)
        letter = DeadLetter.make(
            reason=reason,
            detail=detail,
            stage=stage,
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            original=raw,
            article_id=article_id or article_id_hint(raw) or _key_text(msg.key),
        )
        key = (letter.article_id or f"{msg.topic}:{msg.partition}:{msg.offset}").encode()
        refused = await send_durably(
            self.sender, self.topic, [Record(key, letter.to_bytes())], stage=stage
        )
        if refused:
            note = f"{detail[:1500]}\n[original of {len(raw)} bytes dropped: {refused[0].error}]"
            bare = letter.model_copy(update={"original": "", "detail": note})
            if await send_durably(
                self.sender, self.topic, [Record(key, bare.to_bytes())], stage=stage
            ):
                raise FatalError(f"the dead-letter topic {self.topic!r} refuses letters")
        metrics.DEAD_LETTERED.labels(stage=stage, reason=reason).inc()
        log.warning(
            "dead_letter",
            stage=stage,
            reason=reason,
            detail=detail[:200],
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
        )
