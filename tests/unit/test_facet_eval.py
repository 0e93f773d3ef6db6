"""Facet scoring rules of FACETS.md ("Scoring"), one table per rule."""

from __future__ import annotations

from typing import Any

import pytest

from processors.facet_eval import (
    GoldFacets,
    acronym,
    gold_from_mapping,
    match_values,
    normalise_name,
    organisations_match,
    score_facets,
)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Kim Jong - Un", "kim jong-un"),
        ("Kim Jong-un", "kim jong-un"),
        ("Chen Tan- sun", "chen tan-sun"),
        ("Slobodan Milošević", "slobodan milosevic"),
        ("Beyoncé", "beyonce"),
        ("George W. Bush", "george w bush"),
        ("U.N.", "un"),
        ("  Donald   Trump ", "donald trump"),
        ("", ""),
    ],
)
def test_normalise_name(raw: str, norm: str) -> None:
    assert normalise_name(raw) == norm


@pytest.mark.parametrize(
    ("gold", "pred", "facet", "matched", "false", "missed"),
    [
        # persons: exact after normalisation; a surname alone is a miss and a false value
        (["Kim Jong-un"], ["Kim Jong - un"], "persons", 1, 0, 0),
        (["Slobodan Milošević"], ["Slobodan Milosevic"], "persons", 1, 0, 0),
        (["George W. Bush"], ["george w bush"], "persons", 1, 0, 0),
        (["Donald Trump"], ["Trump"], "persons", 0, 1, 1),
        (["Kim Jong-un"], ["Kim Jong-un", "Kim Jong - un"], "persons", 1, 0, 0),
        # organizations: acronym both ways, containment, split facet penalised
        (["United Nations"], ["UN"], "organizations", 1, 0, 0),
        (["UN"], ["United Nations"], "organizations", 1, 0, 0),
        (["United Nations"], ["U.N."], "organizations", 1, 0, 0),
        (["National Aeronautics and Space Administration"], ["NASA"], "organizations", 1, 0, 0),
        (["Pixar Animation Studios"], ["Pixar"], "organizations", 1, 0, 0),
        (["Reuters"], ["Reuters News Agency"], "organizations", 1, 0, 0),
        (["United Nations"], ["United Nations", "UN"], "organizations", 1, 1, 0),
        (["United Nations"], ["UN", "United Nations"], "organizations", 1, 1, 0),
        (["European Union"], ["United Nations"], "organizations", 0, 1, 1),
        (["Apple"], ["Pineapple Express"], "organizations", 0, 1, 1),
        # persons do not match by containment or acronym
        (["Donald Trump"], ["DT"], "persons", 0, 1, 1),
        # countries and event types: exact
        (["US"], ["US", "GB"], "countries", 1, 1, 0),
        (["KP"], ["kp"], "countries", 1, 0, 0),
        (["ASSAULT"], ["TERROR_ATTACK"], "event_types", 0, 1, 1),
        # empty facets
        ([], [], "persons", 0, 0, 0),
        ([], ["UN"], "organizations", 0, 1, 0),
        (["GB"], [], "countries", 0, 0, 1),
        ([""], [""], "persons", 0, 0, 0),
    ],
)
def test_match_values(
    gold: list[str], pred: list[str], facet: str, matched: int, false: int, missed: int
) -> None:
    m, f, x = match_values(gold, pred, facet)
    assert (len(m), len(f), len(x)) == (matched, false, missed)


@pytest.mark.parametrize(
    ("name", "initials"),
    [("United Nations", "un"), ("Federal Bureau of Investigation", "fbi"), ("Reuters", "")],
)
def test_acronym(name: str, initials: str) -> None:
    assert acronym(name) == initials


def test_containment_is_by_whole_words() -> None:
    assert organisations_match("BBC", "BBC Radio 1")
    assert not organisations_match("UN", "UNICEF")


def test_score_facets_micro_and_quiet_share() -> None:
    gold = [
        GoldFacets(
            "a",
            persons=("Donald Trump",),
            organizations=("United Nations",),
            countries=("US",),
            event_types=("SANCTION",),
            domain="world",
        ),
        GoldFacets("b", persons=("Roger Federer",), domain="sport"),
        GoldFacets("c", event_types=("ARREST",), domain="entertainment"),
    ]
    pred: list[dict[str, list[str]]] = [
        {
            "persons": ["Trump"],
            "organizations": ["UN", "United Nations"],
            "countries": ["US"],
            "event_types": ["SANCTION"],
        },
        {"persons": ["Roger Federer"], "event_types": ["ASSAULT"]},
        {},
    ]
    r = score_facets(zip(gold, pred, strict=True))
    assert r["articles"] == 3
    assert r["facets"]["persons"] == {
        "p": 0.5,
        "r": 0.5,
        "f1": 0.5,
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "support": 2,
    }
    assert r["facets"]["organizations"]["p"] == 0.5
    assert r["facets"]["organizations"]["r"] == 1.0
    assert r["facets"]["event_types"]["tp"] == 1
    assert r["facets"]["event_types"]["fn"] == 1
    assert r["quiet_event_share"] == {"articles": 2, "predicted": 0.5, "gold": 0.5}
    assert [e["id"] for e in r["errors"]] == ["a", "b", "c"]


def test_score_facets_empty() -> None:
    r = score_facets([])
    assert r["articles"] == 0
    assert r["facets"]["persons"]["f1"] == 0.0
    assert r["quiet_event_share"]["predicted"] == 0.0


@pytest.mark.parametrize(
    ("obj", "ok"),
    [
        ({"id": "x", "persons": ["A B"], "domain": "sport"}, True),
        ({"id": "x"}, True),
        ({"id": ""}, False),
        ({"persons": []}, False),
        ({"id": "x", "persons": "A B"}, False),
        ({"id": "x", "countries": [1]}, False),
    ],
)
def test_gold_from_mapping(obj: dict[str, Any], ok: bool) -> None:
    assert (gold_from_mapping(obj) is not None) == ok
