"""Dead letters: what could not be processed, why, and the original bytes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT
from pydantic import BaseModel, ConfigDict

from processors.safejson import JSONRejected, decode_json


class DeadLetter(BaseModel):
    """One record on the dead-letter topic. `original` is the untouched input, base64."""

    model_config = ConfigDict(frozen=True)

    reason: str
    """Short machine-friendly reason, e.g. `invalid_json`, `missing_text`, `index_rejected`."""
    detail: str = ""
    """Human-readable explanation."""
    stage: str
    """Which agent gave up on it: `enrich` or `index`."""
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
