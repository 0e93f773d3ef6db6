"""Article -> EnrichedArticle: the one entry point the I/O shell calls.

`enrich_articles` is a plain module-level function so it can run in a worker process
(the spaCy pipeline is loaded once per process by `load_pipeline`). Steps per article:
normalise title and body (`processors.normalize`), detect the language, and for English
run the pipeline: the model, then `wirewatch_entity_ruler`, `wirewatch_linker` and
`wirewatch_events` (`processors.components`, `processors.events`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from processors import components, events
from processors.gazetteer import load_gazetteer
from processors.language import UNDETERMINED, detect_language
from processors.models import Article, EnrichedArticle, Entity, Event
from processors.normalize import NormalisedArticle, normalise_article
from processors.people import facet_person

ENRICHMENT_VERSION = "0.3.6"
"""0.3.6: a bare warning is no threat, an event warned of, called for ("Arrest Modi"), denied
("no arrests"), ahead ("is to meet", "expected to begin", "next week") or named as a cause
("due to hurricanes") is not reported; a headline's verb tagged as a noun keeps its frame;
a result phrase makes a club ("lost 2-1 to Liverpool"); a name the model calls an
organisation is a person after a role or with census given name and surname; "Tory" is the
Conservative Party; "the Iraq war" is IQ and "the Kyoto pact" no JP; titles alone are no person.
0.3.5: some 300 more reviewed organisations (state organs name their country), listed music acts
and products are no persons or organisations, a shared place name goes to the place the article
means ("Atlanta, Georgia"; "Delhi" is no longer Dili). 0.3.4: a lone surname nobody resolves
stays out of `persons`; a government body stands for its country; a warning, a meeting or a deal
needs more than its noun to be an event; will, going to, conditions and questions are
unrealised; "asked X to do" is a request. 0.3.3: an event its sentence leaves unrealised ("could
attack", "close to agreeing", "failed to reach a deal") stays out of `event_types`; a hyphenated
surname joins its full name. 0.3.2: films and bands dropped, a headline surname is its person,
names ending in an event word are events, small towns inside longer names are no place; trigger
particles and role nouns (0.3.1: entity kinds, one value per organisation, seeded lone
surnames)."""
LABELS = components.LABELS
# Languages the English pipeline enriches; "und" is mostly short English copy.
ENGLISH = frozenset({"en", UNDETERMINED})
_PLACE_LABELS = frozenset({"GPE", "LOC"})
MAX_MODEL_CHARS = 100_000
"""Characters of an article the model reads by default (setting `max_enrich_chars`)."""
MAX_ENTITIES = 300
"""Entities kept per article: a body of 20,000 capitalised words would otherwise give
thousands, each a nested Elasticsearch document. The most-mentioned are kept."""
MAX_FACET_VALUES = 100
"""Values kept per facet (persons, organizations, places), the most-mentioned first."""


@lru_cache(maxsize=4)
def load_pipeline(model: str) -> Language:
    """Load a spaCy pipeline by package name or path and add the wirewatch components."""
    nlp = spacy.load(model)
    if "parser" in nlp.pipe_names:
        nlp.add_pipe("wirewatch_paragraphs", before="parser")
    nlp.add_pipe("wirewatch_entity_ruler", after="ner")
    nlp.add_pipe("wirewatch_linker", after="wirewatch_entity_ruler")
    nlp.add_pipe("wirewatch_events", after="wirewatch_linker")
    return nlp


def warm_up(model: str) -> str:
    """Load everything enrichment needs (the spaCy pipeline, the language model), so the
    first batch does not pay for it; returns the enrichment version."""
    load_pipeline(model)
    detect_language("The model is loaded once per process, before the first article.")
    return enrichment_version(model)


@lru_cache(maxsize=4)
def enrichment_version(model: str) -> str:
    """Code, model, gazetteer and rule versions: "0.3.1+core_web_sm-3.8.0+gaz2026.2+ev2026.2"."""
    nlp = load_pipeline(model)
    meta = nlp.meta
    return (
        f"{ENRICHMENT_VERSION}+{meta.get('name', model)}-{meta.get('version', '?')}"
        f"+gaz{load_gazetteer().version}+ev{events.load_event_rules().version}"
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    article: Article
    norm: NormalisedArticle
    language: str

    @property
    def text(self) -> str:
        title, body = self.norm.title.text, self.norm.body.text
        return f"{title}\n\n{body}" if title else body

    @property
    def body_offset(self) -> int:
        return len(self.norm.title.text) + 2 if self.norm.title.text else 0


def prepare(article: Article) -> _Prepared:
    norm = normalise_article(article.title, article.body, load_gazetteer().headline_acronyms)
    language = detect_language(f"{norm.title.text}\n{norm.body.text}")
    return _Prepared(article, norm, language)


def model_text(text: str, max_chars: int) -> str:
    """The part of an article's text the model reads: all of it, or the first `max_chars`
    characters cut at a space (a hostile or runaway article must not hold the worker for
    minutes; a long news article has some 10,000 characters)."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", max_chars // 2, max_chars)
    return text[: cut if cut > 0 else max_chars]


def enrich_articles(
    articles: Sequence[Article],
    *,
    model: str,
    now: datetime | None = None,
    batch_size: int = 32,
    max_chars: int = MAX_MODEL_CHARS,
) -> list[EnrichedArticle]:
    """Enrich a batch of articles with one `nlp.pipe` pass over the English ones."""
    nlp = load_pipeline(model)
    version = enrichment_version(model)
    stamp = now or datetime.now(UTC)
    prepared = [prepare(a) for a in articles]
    english = [p for p in prepared if p.language in ENGLISH]
    docs = dict(
        zip(
            (id(p) for p in english),
            nlp.pipe((model_text(p.text, max_chars) for p in english), batch_size=batch_size),
            strict=True,
        )
    )
    return [build_record(p, docs.get(id(p)), version=version, stamp=stamp) for p in prepared]


def enrich_to_json(
    articles: Sequence[Article],
    *,
    model: str,
    batch_size: int = 32,
    max_chars: int = MAX_MODEL_CHARS,
) -> list[tuple[str, bytes]]:
    """`enrich_articles`, each record as `(id, JSON bytes)`: what a spaCy process hands back
    to the worker, which only forwards the bytes (no model objects cross the process pipe)."""
    records = enrich_articles(articles, model=model, batch_size=batch_size, max_chars=max_chars)
    return [(r.id, r.model_dump_json().encode()) for r in records]


def build_record(
    prep: _Prepared, doc: Doc | None, *, version: str, stamp: datetime
) -> EnrichedArticle:
    """The enriched record of one article (`doc` is None when no model ran on it)."""
    a = prep.article
    entities = doc_entities(doc) if doc is not None else []
    evs = doc_events(doc, prep.body_offset) if doc is not None else []
    truncated: list[str] = []
    if doc is not None and len(doc.text) < len(prep.text):
        truncated.append("text")  # the model read only the start (see `model_text`)
    entities = _ranked(entities, MAX_ENTITIES, "entities", truncated)

    def by(
        labels: set[str] | frozenset[str], facet: str, keep: Callable[[str], bool] | None = None
    ) -> list[str]:
        values = [e for e in entities if e.label in labels and (keep is None or keep(e.canonical))]
        ranked = _ranked(values, MAX_FACET_VALUES, facet, [])
        kept = {e.canonical for e in ranked}
        if len(kept) < len({e.canonical for e in values}):
            truncated.append(facet)
        return sorted(kept)

    return EnrichedArticle(
        id=a.id,
        title=prep.norm.title.text,
        body=prep.norm.body.text,
        published_at=a.published_at,
        ingested_at=stamp,
        source=a.source,
        url=a.url,
        version=a.version,
        language=prep.language,
        entities=entities,
        countries=sorted({e.country for e in entities if e.country}),
        persons=by({"PERSON"}, "persons", facet_person),
        organizations=by({"ORG"}, "organizations"),
        places=by(_PLACE_LABELS, "places"),
        events=evs,
        event_types=events.facet_types(evs),
        entity_ids=sorted({e.id for e in entities}),
        event_actors=sorted({x for e in evs for x in (e.source, e.target) if x}),
        enrichment_version=version,
        date_problem=a.date_problem,
        truncated=truncated,
    )


def _ranked(entities: list[Entity], limit: int, name: str, truncated: list[str]) -> list[Entity]:
    """The `limit` most-mentioned entities (ties: first mentioned first), in text order;
    notes `name` in `truncated` when some were cut."""
    if len(entities) <= limit:
        return entities
    truncated.append(name)
    order = {id(e): i for i, e in enumerate(entities)}
    keep = sorted(entities, key=lambda e: (-e.count, order[id(e)]))[:limit]
    return sorted(keep, key=lambda e: order[id(e)])


def doc_entities(doc: Doc) -> list[Entity]:
    """Entities of a processed doc, one per (label, id), with mention counts."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for span, link in components.entity_links(doc):
        label = LABELS.get(span.label_)
        if label is None:
            continue
        key = (label, link.entity_id)
        if key in grouped:
            grouped[key]["count"] += 1
            continue
        grouped[key] = {
            "text": components.span_text(span),
            "label": label,
            "canonical": link.canonical,
            "id": link.entity_id,
            "country": link.country,
            "count": 1,
        }
    return [Entity(**g) for g in grouped.values()]


def doc_events(doc: Doc, body_offset: int) -> list[Event]:
    """Events of a processed doc; offsets point into the enriched title or body."""
    out: list[Event] = []
    detected: list[events.DetectedEvent] = doc._.events or []
    for ev in detected:
        raw = doc.text[ev.sent_start : ev.sent_end]
        lead = len(raw) - len(raw.lstrip())
        evidence = raw.strip()
        start = ev.sent_start + lead
        in_title = body_offset and start < body_offset
        if not in_title:
            start -= body_offset
        out.append(
            Event(
                type=ev.type,
                cameo=ev.cameo,
                source=ev.source,
                target=ev.target,
                confidence=ev.confidence,
                evidence=evidence,
                start=start,
                end=start + len(evidence),
                evidence_field="title" if in_title else "body",
                trigger=ev.trigger,
            )
        )
    return out
