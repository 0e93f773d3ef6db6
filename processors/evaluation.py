"""Evaluation of the enrichment layer: entities on CoNLL-2003, events on labelled JSON Lines.

Pure functions over the files' contents and a model name (`streams/operations/eval_files.py` reads
the files); the `wirewatch eval` commands in `streams/cli_enrich.py` only print what these
return. `progress` callbacks get the number
of items just finished, so a caller can drive a progress bar.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from spacy.tokens import Doc

from processors.enrich import load_pipeline
from processors.events import DetectedEvent, load_event_rules

# spaCy (OntoNotes) label -> CoNLL-2003 type; one table for the bare model and the layer.
CONLL_LABELS: Final[dict[str, str]] = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "LAW": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LANGUAGE": "MISC",
}
CONLL_TYPES: Final = ("PER", "ORG", "LOC", "MISC")
# Components that make up "the layer"; the bare model is the pipeline without them.
LAYER_COMPONENTS: Final = (
    "wirewatch_paragraphs",
    "wirewatch_entity_ruler",
    "wirewatch_linker",
    "wirewatch_events",
)
Progress = Callable[[int], None]
Span3 = tuple[int, int, str]


@dataclass(frozen=True)
class ConllDoc:
    """One CoNLL document: its sentences as words, and gold entity spans over all its words."""

    sentences: tuple[tuple[str, ...], ...]
    gold: frozenset[Span3] = field(default_factory=frozenset)

    @property
    def words(self) -> list[str]:
        return [w for s in self.sentences for w in s]


def iob1_spans(tags: Sequence[str], offset: int = 0) -> list[Span3]:
    """Entity spans of IOB1 tags (an entity starts at I- after O or another type, or at B-)."""
    spans: list[Span3] = []
    start: int | None = None
    kind = ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, typ = tag.partition("-")
        begins = prefix == "B" or (prefix == "I" and (start is None or typ != kind))
        if start is not None and (prefix == "O" or begins):
            spans.append((offset + start, offset + i, kind))
            start = None
        if begins:
            start, kind = i, typ
    return spans


def parse_conll(lines: Iterable[str]) -> list[ConllDoc]:
    """Documents of the lines of a CoNLL-2003 file, split at `-DOCSTART-` lines."""
    docs: list[ConllDoc] = []
    sentences: list[tuple[str, ...]] = []
    gold: list[Span3] = []
    words: list[str] = []
    tags: list[str] = []
    count = 0

    def end_sentence() -> None:
        nonlocal count
        if words:
            gold.extend(iob1_spans(tags, count))
            sentences.append(tuple(words))
            count += len(words)
            words.clear()
            tags.clear()

    def end_doc() -> None:
        nonlocal count
        end_sentence()
        if sentences:
            docs.append(ConllDoc(tuple(sentences), frozenset(gold)))
        sentences.clear()
        gold.clear()
        count = 0

    for line in lines:
        parts = line.split()
        if not parts:
            end_sentence()
        elif parts[0] == "-DOCSTART-":
            end_doc()
        else:
            words.append(parts[0])
            tags.append(parts[-1])
    end_doc()
    return docs


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f1, 4)}


def score_spans(pairs: Iterable[tuple[frozenset[Span3], set[Span3]]]) -> dict[str, Any]:
    """Exact-match precision, recall and F1, overall and per type, of (gold, predicted) pairs."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for gold, pred in pairs:
        for s in pred:
            (tp if s in gold else fp)[s[2]] += 1
        for s in gold:
            if s not in pred:
                fn[s[2]] += 1
    types = sorted(set(tp) | set(fp) | set(fn) | set(CONLL_TYPES))
    per_type = {t: {**prf(tp[t], fp[t], fn[t]), "support": tp[t] + fn[t]} for t in types}
    return {
        "overall": prf(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        "per_type": per_type,
    }


def predicted_spans(doc: Doc) -> set[Span3]:
    return {(e.start, e.end, CONLL_LABELS[e.label_]) for e in doc.ents if e.label_ in CONLL_LABELS}


def evaluate_ner(
    docs: Sequence[ConllDoc], *, model: str, progress: Progress | None = None, batch_size: int = 32
) -> dict[str, dict[str, Any]]:
    """Entity P/R/F1 of the bare model and of the full enrichment layer on the same docs.

    The words are given to spaCy as they are (CoNLL tokens, sentence breaks kept), so both
    runs see the same tokens and spans compare exactly. Text normalisation does not run:
    it works on raw text and CoNLL is already tokenised.
    """
    nlp = load_pipeline(model)
    layer = [n for n in LAYER_COMPONENTS if n in nlp.pipe_names]

    def make(d: ConllDoc) -> Doc:
        words = d.words
        starts: list[bool | int | None] = [i == 0 for s in d.sentences for i in range(len(s))]
        return Doc(nlp.vocab, words=words, spaces=[True] * len(words), sent_starts=starts)

    results: dict[str, dict[str, Any]] = {}
    for run in ("bare", "enriched"):
        pairs: list[tuple[frozenset[Span3], set[Span3]]] = []
        disabled = layer if run == "bare" else []
        with nlp.select_pipes(disable=disabled):
            for d, doc in zip(
                docs, nlp.pipe((make(d) for d in docs), batch_size=batch_size), strict=True
            ):
                pairs.append((d.gold, predicted_spans(doc)))
                if progress is not None:
                    progress(1)
        results[run] = score_spans(pairs)
    return results


@dataclass(frozen=True)
class GoldEvent:
    type: str
    source: str | None = None
    target: str | None = None


EventRecord = tuple[str, list[GoldEvent]]
"""A labelled text and the events it reports."""


def parse_event_set(lines: Iterable[str], *, source: str = "<events>") -> list[EventRecord]:
    """Records `{"text": ..., "events": [{"type", "source", "target"}]}` of the lines of a
    JSON Lines file; a `ValueError` names `source` and the line of a bad one."""
    out: list[EventRecord] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            evs = [
                GoldEvent(str(e["type"]), e.get("source"), e.get("target"))
                for e in rec.get("events", [])
            ]
            out.append((str(rec["text"]), evs))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}:{lineno}: not an event record ({exc})") from exc
    return out


def event_matches(
    gold: GoldEvent, pred: DetectedEvent, parent: dict[str, str] | None = None
) -> bool:
    """Same type (or a subtype of it), and each actor the gold names is the predicted one.

    A subtype counts for its PLOVER parent (a TERROR_ATTACK is an ASSAULT); actors may be
    either way round.
    """
    if gold.type != pred.type and (parent or {}).get(pred.type) != gold.type:
        return False
    straight = gold.source in (None, pred.source) and gold.target in (None, pred.target)
    swapped = gold.source in (None, pred.target) and gold.target in (None, pred.source)
    return straight or swapped


def score_events(
    pairs: Iterable[tuple[list[GoldEvent], list[DetectedEvent]]],
    parent: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Precision, recall and F1 per gold type; one prediction matches at most one gold event."""
    parent = parent or {}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for gold, pred in pairs:
        free = list(pred)
        for g in gold:
            hit = next((p for p in free if event_matches(g, p, parent)), None)
            if hit is None:
                fn[g.type] += 1
            else:
                tp[g.type] += 1
                free.remove(hit)
        for p in free:
            # A second prediction of a type already matched in this text is not an error.
            kind = parent.get(p.type, p.type) if p.type not in {g.type for g in gold} else p.type
            if not any(g.type in (p.type, parent.get(p.type)) for g in gold):
                fp[kind] += 1
    types = sorted(set(tp) | set(fp) | set(fn))
    return {
        "overall": prf(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        "per_type": {t: {**prf(tp[t], fp[t], fn[t]), "support": tp[t] + fn[t]} for t in types},
    }


def evaluate_events(
    records: Sequence[EventRecord],
    *,
    model: str,
    min_confidence: float = 0.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Event P/R/F1 per type on labelled records (`parse_event_set`)."""
    nlp = load_pipeline(model)
    pairs: list[tuple[list[GoldEvent], list[DetectedEvent]]] = []
    for (_, gold), doc in zip(records, nlp.pipe(t for t, _ in records), strict=True):
        detected: list[DetectedEvent] = doc._.events or []
        pairs.append((gold, [e for e in detected if e.confidence >= min_confidence]))
        if progress is not None:
            progress(1)
    result = score_events(pairs, load_event_rules().parent)
    result["records"] = len(records)
    return result
