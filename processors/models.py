"""Records that flow through the pipeline: the raw article and the enriched record.

Both are frozen pydantic models; their JSON form is the wire format on Kafka and the
enriched record's JSON is the Elasticsearch document (see streams/resources/elasticsearch/).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_VERSION = 2**63 - 1
"""Largest external version Elasticsearch accepts (a signed 64-bit long)."""


class Article(BaseModel):
    """One news article as published to `articles.raw`."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)

    id: str = Field(min_length=1, max_length=512)
    """Stable article id: the wire's own id, else derived from source+url, else title+body."""
    title: str = ""
    """Headline as the wire sent it (may carry wire casing such as "U.s.")."""
    body: str = ""
    """Article text; the first words may be the headline glued to the text."""
    published_at: datetime | None = None
    """Publication time when the wire gives one."""
    source: str | None = None
    """Publisher or wire service (Kyodo, Reuters, AP, ...)."""
    url: str | None = None
    """Canonical URL of the article, when known."""
    version: int | None = Field(default=None, ge=0, le=MAX_VERSION)
    """Version of this article at its source; a higher version replaces a lower one. Within
    Elasticsearch's external version range, which refuses any other value."""
    date_problem: str | None = None
    """Why `published_at` is empty although the input carried a date."""


class Entity(BaseModel):
    """A named entity mention group, made canonical."""

    model_config = ConfigDict(frozen=True)

    text: str
    """Surface text of the (first) mention."""
    label: str
    """Coarse type: PERSON, ORG, GPE (countries, cities), LOC, NORP, MISC, ..."""
    canonical: str
    """Canonical name (e.g. "North Korea" for "N. Korea", "Pyongyang", "DPRK")."""
    id: str
    """Stable id, e.g. "country:KP", "org:united-nations", "person:fumio-kishida"."""
    country: str | None = None
    """ISO 3166-1 alpha-2 code for places, nationalities and capitals."""
    count: int = 1
    """How many mentions of this entity the article has."""


class Event(BaseModel):
    """An event the article reports: who did what to whom."""

    model_config = ConfigDict(frozen=True)

    type: str
    """Event type, e.g. SANCTION, NUCLEAR_TEST, CONSULT (PLOVER-aligned)."""
    cameo: str | None = None
    """CAMEO root code of the type, where one exists."""
    source: str | None = None
    """Actor doing it: a canonical country code or entity id."""
    target: str | None = None
    """Actor it is done to: a canonical country code or entity id."""
    confidence: float = 0.0
    evidence: str = ""
    """The sentence that says so."""
    start: int = 0
    """Character offset of the evidence in the enriched body (or title, see `evidence_field`)."""
    end: int = 0
    evidence_field: str = "body"
    """Which enriched field the offsets point into: "body" or "title"."""
    trigger: str = ""
    """The word that signalled the event ("sanctions", "talks")."""


class EnrichedArticle(BaseModel):
    """The enriched record written to `articles.enriched` and indexed into Elasticsearch."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    """Headline, normalised (wire casing repaired)."""
    body: str
    """Body text, normalised (headline glued to the first sentence split off)."""
    published_at: datetime | None = None
    ingested_at: datetime
    source: str | None = None
    url: str | None = None
    version: int | None = None
    language: str | None = None
    entities: list[Entity] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    """ISO codes of every country the article names (directly or through a place)."""
    persons: list[str] = Field(default_factory=list)
    organizations: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    event_types: list[str] = Field(default_factory=list)
    entity_ids: list[str] = Field(default_factory=list)
    """Stable ids of every entity ("country:KP", "person:fumio-kishida"): the exact facet."""
    event_actors: list[str] = Field(default_factory=list)
    """Every source and target of the events (country codes and organisation ids)."""
    story_id: str | None = None
    enrichment_version: str
    date_problem: str | None = None
    truncated: list[str] = Field(default_factory=list)
    """Lists cut to their most-mentioned values because the article names too many
    ("entities", "persons", ...); empty when nothing was cut."""

    def document(self) -> dict[str, object]:
        """The Elasticsearch document for this record (JSON-safe)."""
        return self.model_dump(mode="json")
