from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from processors.evaluation import (
    GoldEvent,
    event_matches,
    iob1_spans,
    parse_conll,
    parse_event_set,
    score_events,
    score_spans,
)
from processors.events import DetectedEvent
from streams.operations.eval_files import read_conll, read_event_set


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["I-PER", "I-PER", "O", "I-LOC"], [(0, 2, "PER"), (3, 4, "LOC")]),
        (["I-LOC", "B-LOC", "I-LOC"], [(0, 1, "LOC"), (1, 3, "LOC")]),
        (["I-ORG", "I-MISC"], [(0, 1, "ORG"), (1, 2, "MISC")]),
        (["O", "O"], []),
        ([], []),
    ],
)
def test_iob1_spans(tags: list[str], spans: list[tuple[int, int, str]]) -> None:
    assert iob1_spans(tags) == spans


def test_read_conll_splits_documents(tmp_path: Path) -> None:
    text = (
        "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\n"
        "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
        "-DOCSTART- -X- O O\n\nJapan NNP I-NP I-LOC\n"
    )
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(text.encode()))
    docs = read_conll(path)
    assert len(docs) == 2
    assert docs[0].words == ["EU", "rejects", "Peter", "Blackburn"]
    assert docs[0].gold == frozenset({(0, 1, "ORG"), (2, 4, "PER")})
    assert docs[1].gold == frozenset({(0, 1, "LOC")})
    assert parse_conll(text.splitlines(keepends=True)) == docs
    (tmp_path / "x.txt").write_text(text)
    assert read_conll(tmp_path / "x.txt") == docs


def test_event_sets_are_parsed_from_lines(tmp_path: Path) -> None:
    text = '{"text": "a", "events": [{"type": "SANCTION", "target": "KP"}]}\n\n{"text": "b"}\n'
    records = parse_event_set(text.splitlines())
    assert records == [("a", [GoldEvent("SANCTION", None, "KP")]), ("b", [])]
    path = tmp_path / "e.jsonl"
    path.write_text(text + "not json\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:4: not an event record"):
        read_event_set(path)


def test_score_spans() -> None:
    gold = frozenset({(0, 1, "ORG"), (2, 4, "PER")})
    result = score_spans([(gold, {(0, 1, "ORG"), (2, 3, "PER")})])
    assert result["overall"] == {"p": 0.5, "r": 0.5, "f1": 0.5}
    assert result["per_type"]["ORG"]["f1"] == 1.0
    assert result["per_type"]["PER"]["f1"] == 0.0


def _det(type_: str, source: str | None = None, target: str | None = None) -> DetectedEvent:
    return DetectedEvent(type_, None, source, target, 0.8, "x", 0, 1)


@pytest.mark.parametrize(
    ("gold", "pred", "hit"),
    [
        (GoldEvent("SANCTION", None, "KP"), _det("SANCTION", "JP", "KP"), True),
        (GoldEvent("CONSULT", "JP", "US"), _det("CONSULT", "US", "JP"), True),
        (GoldEvent("ASSAULT"), _det("TERROR_ATTACK"), True),
        (GoldEvent("SANCTION", None, "KP"), _det("SANCTION", "JP", "IR"), False),
        (GoldEvent("CONSULT"), _det("AGREE"), False),
    ],
)
def test_event_matches(gold: GoldEvent, pred: DetectedEvent, hit: bool) -> None:
    assert event_matches(gold, pred, {"TERROR_ATTACK": "ASSAULT"}) is hit


def test_score_events() -> None:
    pairs = [
        ([GoldEvent("SANCTION", None, "KP")], [_det("SANCTION", None, "KP"), _det("PROTEST")]),
        ([GoldEvent("CONSULT")], []),
    ]
    result = score_events(pairs)
    assert result["per_type"]["SANCTION"]["f1"] == 1.0
    assert result["per_type"]["PROTEST"]["p"] == 0.0
    assert result["overall"] == {"p": 0.5, "r": 0.5, "f1": 0.5}
