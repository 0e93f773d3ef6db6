"""processors.places: a shared place name goes to the place the article means."""

from __future__ import annotations

import spacy
from spacy.tokens import Span

from processors.gazetteer import load_gazetteer
from processors.places import settle
from processors.spans import Link


def _countries(text: str, places: list[str]) -> list[str | None]:
    """Link each listed place (in text order, label GPE) to the gazetteer's best entry and
    settle them; returns their countries."""
    gaz = load_gazetteer()
    doc = spacy.blank("en")(text)
    spans: list[Span] = []
    at = 0
    for name in places:
        start = text.index(name, at)
        at = start + len(name)
        span = doc.char_span(start, at, label="GPE")
        assert span is not None, name
        spans.append(span)
    links = []
    for span in spans:
        entry = gaz.lookup(span.text)
        assert entry is not None, span.text
        links.append(Link(entry.canonical, entry.id, entry.country))
    return [link.country for link in settle(spans, links, gaz)]


def test_a_place_and_its_region_across_a_comma() -> None:
    assert _countries("A rally in Atlanta, Georgia drew crowds.", ["Atlanta", "Georgia"]) == [
        "US", "US",
    ]  # fmt: skip
    assert _countries("Officials in San Jose, California said so.", ["San Jose", "California"]) == [
        "US", "US",
    ]  # fmt: skip


def test_the_country_keeps_its_name_without_a_pairing() -> None:
    got = _countries("Troops entered Georgia, Russia said. The US objected.", ["Georgia", "US"])
    assert got == ["GE", "US"]  # "Georgia, Russia" names two countries, not a region


def test_the_other_places_of_the_article_vote() -> None:
    got = _countries("Riots in Punjab followed protests in Lahore.", ["Punjab", "Lahore"])
    assert got == ["PK", "PK"]
    got = _countries("The Halifax said UK prices rose most in London.", ["Halifax", "UK", "London"])
    assert got == ["GB", "GB", "GB"]


def test_a_capital_or_a_big_city_is_not_moved_by_votes() -> None:
    got = _countries("Talks in Paris ended; Texas and Ohio voted.", ["Paris", "Texas", "Ohio"])
    assert got == ["FR", "US", "US"]
    got = _countries("Punjab voted while Delhi waited.", ["Punjab", "Delhi"])
    assert got == ["IN", "IN"]


def test_a_place_that_names_a_treaty_is_no_country() -> None:
    text = "Russia ratified the Kyoto pact. Talks in Oslo began."
    assert _countries(text, ["Kyoto", "Oslo"]) == [None, "NO"]


def test_a_war_named_after_a_country_is_about_it() -> None:
    gaz = load_gazetteer()
    doc = spacy.blank("en")("Blair defended the Iraq war and the Gulf war .")
    spans = [Span(doc, 3, 5, label="EVENT"), Span(doc, 7, 9, label="EVENT")]
    links = [Link(s.text, f"event:{s.text}", None) for s in spans]
    assert [lk.country for lk in settle(spans, links, gaz)] == ["IQ", None]


def test_an_unknown_place_named_with_a_nationality_is_in_its_country() -> None:
    gaz = load_gazetteer()
    doc = spacy.blank("en")("He swam to the French Coast .")
    spans = [Span(doc, 4, 6, label="LOC")]
    assert [lk.country for lk in settle(spans, [Link("French Coast", "x", None)], gaz)] == ["FR"]
