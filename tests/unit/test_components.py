"""The entity ruler and linker on hand-built Docs (no statistical model)."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

import processors.components  # noqa: F401 - registers the factories
from processors.components import cluster_people, entity_links, merge_entities, span_text
from processors.gazetteer import load_gazetteer
from processors.spans import trim_span


def _nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("wirewatch_entity_ruler")
    nlp.add_pipe("wirewatch_linker")
    return nlp


def _doc(nlp: Language, words: list[str], ents: list[tuple[int, int, str]]) -> Doc:
    doc = Doc(nlp.vocab, words=words)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
    return doc


def _run(nlp: Language, doc: Doc) -> list[tuple[str, str, str, str | None]]:
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return [(e.text, e.label_, e._.entity_id, e._.country) for e in doc.ents]


def test_gazetteer_adds_missed_places_and_resolves_variants() -> None:
    nlp = _nlp()
    words = ["Sanctions", "on", "N.", "Korea", "and", "Pyongyang", "'s", "ally", "in", "Vienna"]
    doc = _doc(nlp, words, [(2, 4, "PERSON")])  # the model's mistake, fixed by the gazetteer
    assert _run(nlp, doc) == [
        ("N. Korea", "GPE", "country:KP", "KP"),
        ("Pyongyang", "GPE", "city:1871859", "KP"),
        ("Vienna", "GPE", "city:2761369", "AT"),
    ]


def test_possessive_and_article_are_trimmed_and_linked() -> None:
    nlp = _nlp()
    words = ["the", "United", "States", "backed", "North", "Korea", "'s", "neighbour"]
    doc = _doc(nlp, words, [(0, 3, "GPE"), (4, 7, "GPE")])
    assert _run(nlp, doc) == [
        ("United States", "GPE", "country:US", "US"),
        ("North Korea", "GPE", "country:KP", "KP"),
    ]


def test_office_title_entity_is_dropped() -> None:
    nlp = _nlp()
    words = ["U.S.", "Secretary", "of", "State", "John", "Kerry", "spoke"]
    doc = _doc(nlp, words, [(0, 1, "GPE"), (3, 4, "ORG"), (4, 6, "PERSON")])
    assert [(t, lab) for t, lab, _, _ in _run(nlp, doc)] == [
        ("U.S.", "GPE"),
        ("John Kerry", "PERSON"),
    ]


def test_security_council_alias_merges_model_fragments() -> None:
    nlp = _nlp()
    words = ["the", "U.N.", "Security", "Council", "met"]
    doc = _doc(nlp, words, [(1, 2, "ORG")])
    assert _run(nlp, doc) == [
        ("U.N. Security Council", "ORG", "org:united-nations-security-council", None)
    ]


def test_short_person_mention_joins_full_name_and_label_vote() -> None:
    nlp = _nlp()
    words = ["Fumio", "Kishida", "met", "Kerry", ".", "Kishida", "said", "Kishida", "left"]
    doc = _doc(nlp, words, [(0, 2, "PERSON"), (3, 4, "PERSON"), (5, 6, "ORG"), (7, 8, "PERSON")])
    got = _run(nlp, doc)
    assert got[0] == ("Fumio Kishida", "PERSON", "person:fumio-kishida", None)
    assert got[2] == ("Kishida", "PERSON", "person:fumio-kishida", None)
    assert got[3] == ("Kishida", "PERSON", "person:fumio-kishida", None)
    assert got[1] == ("Kerry", "PERSON", "person:kerry", None)  # no full name to join


def test_demonym_owner_gives_organisation_a_country() -> None:
    nlp = _nlp()
    words = ["the", "Japanese", "Foreign", "Ministry", "said"]
    doc = _doc(nlp, words, [(0, 4, "ORG")])
    assert _run(nlp, doc) == [
        ("Japanese Foreign Ministry", "ORG", "org:japanese-foreign-ministry", "JP")
    ]


def test_merge_keeps_longer_model_entity_and_skips_parts_of_names() -> None:
    nlp = spacy.blank("en")
    g = load_gazetteer()
    words = ["officials", "said", "they", "met", "Japan", "Tobacco", "staff", "inside"]
    words += ["Japan", "Airlines", "'", "lounge", "today"]
    doc = Doc(nlp.vocab, words=words)
    model = [Span(doc, 8, 10, label="ORG")]
    jp = g.lookup("Japan")
    assert jp is not None
    matches = [(Span(doc, 4, 5, label="GPE"), jp), (Span(doc, 8, 9, label="GPE"), jp)]
    merged = merge_entities(model, matches)
    assert [(e.text, e.label_) for e in merged] == [("Japan Airlines", "ORG")]


def test_trim_span_bad_inputs() -> None:
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["'s", "the", "President", "Obama"])
    assert trim_span(Span(doc, 0, 1, label="GPE")) is None
    assert trim_span(Span(doc, 2, 4, label="PERSON"), frozenset({"President"})) is not None
    trimmed = trim_span(Span(doc, 2, 4, label="PERSON"), frozenset({"President"}))
    assert trimmed is not None and trimmed.text == "Obama"


def test_cluster_people_leaves_ambiguous_short_names() -> None:
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Kim", "Jong", "Un", "and", "Kim", "Sung", "Hwan", "Kim"])
    ents = [
        Span(doc, 0, 3, label="PERSON"),
        Span(doc, 4, 7, label="PERSON"),
        Span(doc, 7, 8, label="PERSON"),
    ]
    # the seed spells the first "Kim Jong-un"; the lone "Kim" fits two full names
    assert cluster_people(ents, frozenset()) == {0: "Kim Jong-un", 1: "Kim Sung Hwan"}


def test_a_hyphenated_surname_joins_the_full_name_it_ends() -> None:
    # spaCy splits "Hulme-Cross" into three tokens; the text writes one word.
    nlp = spacy.blank("en")
    words = ["Peter", "Hulme", "-", "Cross", "and", "Robert", "Kilroy", "Silk", "met", "Hulme",
             "-", "Cross", "and", "Kilroy", "-", "Silk"]  # fmt: skip
    spaces = [True, False, False, True, True, True, True, True, True, False, False, True,
              True, False, False, False]  # fmt: skip
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    ents = [
        Span(doc, 0, 4, label="PERSON"),
        Span(doc, 5, 8, label="PERSON"),
        Span(doc, 9, 12, label="ORG"),
        Span(doc, 13, 16, label="PERSON"),
    ]
    assert cluster_people(ents, frozenset()) == {
        0: "Peter Hulme-Cross",
        1: "Robert Kilroy Silk",
        2: "Peter Hulme-Cross",
        3: "Robert Kilroy Silk",
    }


# (words, spaces, entity (start, end, label), canonical, entity id): names as the text writes them.
NAMES_AS_WRITTEN = [
    (
        ["Kim", "Jong", "-", "un", "spoke"],
        [True, False, False, True, False],
        (0, 4, "PERSON"),
        "Kim Jong-un",
        "person:kim-jong-un",
    ),
    (
        ["Abu", "Hajar", "al", "-", "Iraqi", "died"],
        [True, True, False, False, True, False],
        (0, 5, "PERSON"),
        "Abu Hajar al-Iraqi",
        "person:abu-hajar-al-iraqi",
    ),
    (
        ["Agnieszka", "Lada", "-", "Konefal", "said"],
        [True, False, False, True, False],
        (0, 4, "PERSON"),
        "Agnieszka Lada-Konefal",
        "person:agnieszka-lada-konefal",
    ),
    (
        ["Conan", "O'Brien", "joked"],
        [True, True, False],
        (0, 2, "PERSON"),
        "Conan O'Brien",
        "person:conan-o-brien",
    ),
    (
        ["the", "post", "-", "Brexit", "deal"],
        [True, False, False, True, False],
        (1, 4, "EVENT"),
        "Brexit",  # a lower-case prefix glued by a hyphen is not part of the name
        "misc:brexit",
    ),
    (
        ["the", "People", "'s", "Liberation", "Army", "'s", "drills"],
        [True, False, True, True, False, True, False],
        (1, 6, "ORG"),
        "People's Liberation Army",
        "org:people-s-liberation-army",
    ),
    (
        ["Jean", "\n", "Dupont", "left"],
        [True, False, True, False],
        (0, 3, "PERSON"),
        "Jean Dupont",
        "person:jean-dupont",
    ),
]


@pytest.mark.parametrize(("words", "spaces", "ent", "canonical", "entity_id"), NAMES_AS_WRITTEN)
def test_canonical_name_is_the_text_as_written(
    words: list[str],
    spaces: list[bool],
    ent: tuple[int, int, str],
    canonical: str,
    entity_id: str,
) -> None:
    nlp = _nlp()
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, ent[0], ent[1], label=ent[2])]
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    links = [(e.text, link.canonical, link.entity_id) for e, link in entity_links(doc)]
    assert [(c, i) for _, c, i in links] == [(canonical, entity_id)]
    assert all(" - " not in c for _, c, _ in links)


def test_short_mention_joins_hyphenated_full_name() -> None:
    nlp = _nlp()
    words = ["Kim", "Jong", "-", "un", "met", "Moon", ".", "Kim", "left"]
    spaces = [True, False, False, True, True, False, True, True, False]
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, 0, 4, label="PERSON"), Span(doc, 7, 8, label="PERSON")]
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    names = {(e._.canonical, e._.entity_id) for e in doc.ents if e.label_ == "PERSON"}
    assert names == {("Kim Jong-un", "person:kim-jong-un")}


@pytest.mark.parametrize(
    ("words", "spaces", "drop", "text"),
    [
        (["President", "Kim", "Jong", "-", "un"], [True, True, False, False, False], {"President"}, "Kim Jong-un"),  # noqa: E501
        (["O'Brien", "'s"], [False, False], {"'s"}, "O'Brien"),
        (["'s"], [False], {"'s"}, "'s"),
        (["New", " ", "York"], [True, False, False], set(), "New York"),
    ],
)  # fmt: skip
def test_span_text(words: list[str], spaces: list[bool], drop: set[str], text: str) -> None:
    doc = Doc(spacy.blank("en").vocab, words=words, spaces=spaces)
    assert span_text(doc[:], frozenset(drop)) == text
