"""A fired alert: the record on the alerts topic and the document in the alerts index. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from processors.models import EnrichedArticle
from processors.rules.explain import Explanation
from processors.rules.schema import Channel, Rule, Severity

Delivery = Literal["not_requested", "pending", "delivered", "failed"]


class Alert(BaseModel):
    """One fired alert: the record on the alerts topic and the document in the alerts index."""

    model_config = ConfigDict(frozen=True)

    id: str
    """`<rule>/<story_id>`: one alert per rule and story."""
    rule: str
    rule_name: str
    severity: Severity
    article_id: str
    title: str
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    ingested_at: datetime | None = None
    fired_at: datetime
    story_id: str
    countries: list[str] = Field(default_factory=list)
    event_types: list[str] = Field(default_factory=list)
    matched_entities: list[str] = Field(default_factory=list)
    matched_entity_ids: list[str] = Field(default_factory=list)
    snippets: list[str] = Field(default_factory=list)
    reason: str
    channels: list[Channel] = Field(default_factory=list)
    delivered: bool
    """Delivered to every channel the rule lists (false while a webhook is pending or failed)."""
    delivery: Delivery
    """Webhook state: not_requested, pending, delivered, failed."""
    delivery_attempts: int = 0
    delivery_error: str | None = None
    delivered_at: datetime | None = None
    origin: str | None = None
    """`topic/partition/offset` of the indexed record that fired it: tells a redelivery of
    that record (send the stored alert again) from a later copy of the article (do not)."""

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def story_of(record: EnrichedArticle) -> str:
    """The story an article belongs to (an article without one is its own story)."""
    return record.story_id or f"article-{record.id}"


def alert_id(rule_id: str, story_id: str) -> str:
    return f"{rule_id}/{story_id}"


def make_alert(
    rule: Rule,
    record: EnrichedArticle,
    why: Explanation,
    *,
    fired_at: datetime,
    webhook: bool,
    origin: str | None = None,
) -> Alert:
    """The alert for `record` matching `rule`; `webhook` says whether one will be attempted."""
    story = story_of(record)
    pending = rule.webhook and webhook
    return Alert(
        id=alert_id(rule.id, story),
        rule=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        article_id=record.id,
        title=record.title,
        url=record.url,
        source=record.source,
        published_at=record.published_at,
        ingested_at=record.ingested_at,
        fired_at=fired_at,
        story_id=story,
        countries=why.countries,
        event_types=why.event_types,
        matched_entities=why.matched_entities,
        matched_entity_ids=why.matched_entity_ids,
        snippets=why.snippets,
        reason=why.reason,
        channels=rule.channels,
        delivered=not rule.webhook,
        delivery="pending" if pending else ("failed" if rule.webhook else "not_requested"),
        delivery_error=None if pending or not rule.webhook else "no webhook URL is configured",
        origin=origin,
    )
