"""Event rules and actors on hand-built, hand-parsed Docs (no statistical model)."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

import processors.components  # registers the factories
import processors.events  # noqa: F401
from processors.events import load_event_rules, parse_event_rules


def _nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("wirewatch_linker")
    nlp.add_pipe("wirewatch_events")
    return nlp


Tok = tuple[str, str, str, int, str]  # word, lemma, pos, head index, dep


def hand_parsed(
    nlp: Language,
    toks: list[Tok],
    ents: list[tuple[int, int, str]] | None = None,
    spaces: list[bool] | None = None,
    tags: list[str] | None = None,
) -> Doc:
    """A Doc with the given words, lemmas, tags, parse and entities: no model needed."""
    doc = Doc(
        nlp.vocab,
        words=[t[0] for t in toks],
        lemmas=[t[1] for t in toks],
        pos=[t[2] for t in toks],
        tags=tags,
        heads=[t[3] for t in toks],
        deps=[t[4] for t in toks],
        spaces=spaces,
    )
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents or []]
    return doc


def _run(
    toks: list[Tok], ents: list[tuple[int, int, str]]
) -> list[tuple[str, str | None, str | None]]:
    nlp = _nlp()
    doc = hand_parsed(nlp, toks, ents)
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return [(e.type, e.source, e.target) for e in doc._.events]


def test_sanction_target_from_prepositional_object() -> None:
    toks: list[Tok] = [
        ("Japan", "Japan", "PROPN", 1, "nsubj"),
        ("imposed", "impose", "VERB", 1, "ROOT"),
        ("sanctions", "sanction", "NOUN", 1, "dobj"),
        ("on", "on", "ADP", 2, "prep"),
        ("Pyongyang", "Pyongyang", "PROPN", 3, "pobj"),
        (".", ".", "PUNCT", 1, "punct"),
    ]
    assert _run(toks, [(0, 1, "GPE"), (4, 5, "GPE")]) == [("SANCTION", "JP", "KP")]


def test_nuclear_test_source_from_possessor() -> None:
    toks: list[Tok] = [
        ("North", "North", "PROPN", 1, "compound"),
        ("Korea", "Korea", "PROPN", 4, "poss"),
        ("'s", "'s", "PART", 1, "case"),
        ("nuclear", "nuclear", "ADJ", 4, "amod"),
        ("test", "test", "NOUN", 5, "nsubj"),
        ("angered", "anger", "VERB", 5, "ROOT"),
        ("Tokyo", "Tokyo", "PROPN", 5, "dobj"),
    ]
    assert _run(toks, [(0, 3, "GPE"), (6, 7, "GPE")]) == [("NUCLEAR_TEST", "KP", None)]


def test_consult_with_conjoined_partners() -> None:
    toks: list[Tok] = [
        ("Japan", "Japan", "PROPN", 1, "nsubj"),
        ("held", "hold", "VERB", 1, "ROOT"),
        ("talks", "talk", "NOUN", 1, "dobj"),
        ("with", "with", "ADP", 2, "prep"),
        ("the", "the", "DET", 5, "det"),
        ("U.S.", "U.S.", "PROPN", 3, "pobj"),
        ("and", "and", "CCONJ", 5, "cc"),
        ("S.", "S.", "PROPN", 8, "compound"),
        ("Korea", "Korea", "PROPN", 5, "conj"),
    ]
    got = _run(toks, [(0, 1, "GPE"), (5, 6, "GPE"), (7, 9, "GPE")])
    assert sorted(got) == [("CONSULT", "JP", "KR"), ("CONSULT", "JP", "US")]


def test_negated_and_unrelated_triggers_give_no_event() -> None:
    toks: list[Tok] = [
        ("Japan", "Japan", "PROPN", 3, "nsubj"),
        ("did", "do", "AUX", 3, "aux"),
        ("not", "not", "PART", 3, "neg"),
        ("sanction", "sanction", "VERB", 3, "ROOT"),
        ("the", "the", "DET", 5, "det"),
        ("test", "test", "NOUN", 3, "dobj"),  # no "nuclear" near: not a NUCLEAR_TEST
    ]
    assert _run(toks, [(0, 1, "GPE")]) == []


def test_lifting_sanctions_is_a_concession() -> None:
    toks: list[Tok] = [
        ("Washington", "Washington", "PROPN", 1, "nsubj"),
        ("lifted", "lift", "VERB", 1, "ROOT"),
        ("sanctions", "sanction", "NOUN", 1, "dobj"),
    ]
    assert _run(toks, [(0, 1, "GPE")]) == [("CONCEDE", "US", None)]


def test_every_type_has_a_cameo_entry_and_rules_parse() -> None:
    rules = load_event_rules()
    assert {"SANCTION", "NUCLEAR_TEST", "CONSULT", "ASSAULT"} <= set(rules.cameo)
    assert rules.cameo["SANCTION"] == "16" and rules.cameo["CONSULT"] == "04"
    assert rules.parent["TERROR_ATTACK"] == "ASSAULT"


@pytest.mark.parametrize(
    "bad",
    [
        {"types": {"A": {"cameo": "01"}}, "rules": [{"type": "B", "lemmas": ["x"]}]},
        {
            "types": {"A": {"cameo": "01"}},
            "rules": [{"type": "A", "lemmas": ["x"], "target_preps": [True]}],
        },
    ],
)
def test_bad_rule_files_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_event_rules(bad)  # type: ignore[arg-type]
