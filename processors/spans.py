"""What the linker decides for a span, a span's text as written, title-case headline
entities and the words around a span that make it a team (shared by
`processors.components`, `processors.kinds` and `processors.orgs`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from spacy.tokens import Doc, Span, Token

POSSESSIVE_TOKENS: Final = frozenset({"'s", "'", "’s", "’"})


_TRIM_THE: Final = frozenset({"GPE", "LOC", "FAC", "ORG", "NORP"})


@dataclass(frozen=True, slots=True)
class Link:
    """What the linker decided for one entity span."""

    canonical: str
    entity_id: str
    country: str | None


def span_text(span: Span, drop: frozenset[str] = frozenset()) -> str:
    """The span as written in the text, whitespace collapsed, without leading or trailing
    tokens in `drop` (titles, possessives).

    Never the tokens joined with spaces: that turns "Kim Jong-un" into "Kim Jong - un".
    """
    start, end = span.start, span.end
    doc = span.doc
    while end - start > 1 and doc[end - 1].text in drop:
        end -= 1
    while end - start > 1 and doc[start].text in drop:
        start += 1
    # spaCy keeps each token's own whitespace, so the tokens' text is the text as written
    # (and far cheaper than slicing `doc.text`, which is rebuilt on every access).
    return " ".join(doc[start:end].text.split()) if end > start else ""


def title_end(doc: Doc) -> int:
    """Character offset where the headline ends (0 when the doc has no separate headline)."""
    cut = doc.text.find("\n\n")
    return cut if 0 < cut < len(doc.text) - 2 else 0


def title_cased(doc: Doc, end: int) -> bool:
    words = [t for t in doc if t.idx < end and t.is_alpha and len(t) > 3]
    return len(words) >= 3 and sum(t.is_title for t in words) / len(words) >= 0.8


def _in_text(text: str, body: str) -> bool:
    """`text` occurs in `body` as whole words and not at the start of a sentence."""
    for m in re.finditer(rf"(?<!\w){re.escape(text)}(?!\w)", body):
        before = body[: m.start()].rstrip()
        if before and before[-1] not in '.!?"':
            return True
    return False


def headline_span(span: Span, body: list[Span], body_text: str) -> Span | None:
    """A title-case headline entity the body never spells the same way, cut to its longest
    leading part that a body entity has as words, with that entity's label ("Brewers
    Officially Introduce Team Buyer" -> "Brewers", as in "Milwaukee Brewers"), or that the
    body has inside a sentence ("Pixar Delays" -> "Pixar"); None drops it."""
    whole = span_text(span)
    if len(span) < 2 or _in_text(whole, body_text) or f"\n{whole}" in body_text:
        return span
    texts = [(f" {span_text(b)} ", b.label_) for b in body]
    for end in range(span.end - 1, span.start, -1):
        piece = span_text(span.doc[span.start : end])
        label = next((lab for t, lab in texts if f" {piece} " in t), None)
        if label is None and _in_text(piece, body_text):
            label = "ORG" if span.label_ == "PERSON" and end - span.start == 1 else span.label_
        if label is not None:
            return Span(span.doc, span.start, end, label=label)
    return None


_SKIP_BEFORE: Final = frozenset({"the", "including", "like", "such", "as"})


def named_work(span: Span, before: frozenset[str], after: frozenset[str]) -> bool:
    """Whether the words around a name make it a film, a show or a band: a word of `before`
    right before it ("horror film The Grudge", "films including Jungle Fever"; "the",
    "including", "such as" may come between) or a word of `after` right after it ("the
    Libertines singer")."""
    doc = span.doc
    i = span.start - 1
    while i >= 0 and doc[i].lower_ in _SKIP_BEFORE and span.start - i <= 3:
        i -= 1
    if i >= 0 and doc[i].lower_ in before:
        return True
    return span.end < len(doc) and doc[span.end].lower_ in after


_CONJUNCTIONS: Final = frozenset({"and", "or", "&"})
_LIST_GLUE: Final = _CONJUNCTIONS | {","}


def in_list_after(span: Span, end: int) -> bool:
    """Whether the span is the next item of the list whose item ended at token `end`: only
    list glue between them, with "and"/"or", or a comma and more of the list after the span
    ("bands Keane, Razorlight and Bloc Party"; not "the film Ray, Jamie Foxx plays")."""
    doc = span.doc
    between = doc[end : span.start]
    if not 0 < len(between) <= 2 or not all(t.lower_ in _LIST_GLUE for t in between):
        return False
    goes_on = span.end < len(doc) and doc[span.end].lower_ in _LIST_GLUE
    return goes_on or any(t.lower_ in _CONJUNCTIONS for t in between)


_STRONG_BEFORE: Final = frozenset({"club", "side", "team"})
_STRONG_AFTER: Final = frozenset(
    {"manager", "boss", "coach", "fans", "supporters", "squad", "chairman", "academy", "owners"}
)


_RESULT_LINKS: Final = frozenset({"to", "over", "against", "behind", "with"})
_RESULT_WORDS: Final = frozenset(
    {
        "lost", "losing", "lose", "loses", "defeat", "defeats", "win", "wins", "victory",
        "draw", "drew", "drawn", "points", "point", "beaten", "won",
    }
)  # fmt: skip
_RESULT: Final = re.compile(r"^\d{1,2}-\d{1,2}$")


def _result_before(doc: Doc, i: int) -> bool:
    """A result phrase ends at token `i`: "losing 2-1 to", "victory over", "points behind"."""
    if i < 1 or doc[i].lower_ not in _RESULT_LINKS:
        return False
    prev = doc[i - 1]
    split_score = i >= 3 and prev.text.isdigit() and doc[i - 2].text in {"-", "–"}  # "2 - 1"
    return prev.lower_ in _RESULT_WORDS or bool(_RESULT.match(prev.text)) or split_score


def _score(token: Token) -> bool:
    """A score or a total in a results line (up to three digits, not a year)."""
    return token.text.isdigit() and len(token.text) <= 3


def team_cue(
    span: Span, before: frozenset[str], after: frozenset[str], *, strong: bool = False
) -> bool:
    """Words around the span that make it a team: "against Lyon" (a word of `before`), a
    result ("lost 2-1 to Liverpool", "points behind Chelsea"), "Watford manager"
    (`after`), "Watford's striker", "the club", a results line ("Oldham 2 Bradford 1").
    `strong`: only words a player's name never has around it ("Saracens fans", not "beat"
    or "against", which a tennis player has), and results lines."""
    doc = span.doc
    before = _STRONG_BEFORE if strong else before
    after = _STRONG_AFTER if strong else after
    i = span.start - 1
    while i >= 0 and doc[i].lower_ in {"the", "a"}:
        i -= 1
    if i >= 0 and (doc[i].lower_ in before or (not strong and _result_before(doc, i))):
        return True
    if span.end < len(doc) and _score(doc[span.end]):
        first = span.start == 0 or bool(doc[span.start].is_sent_start)
        if first or not doc[span.start - 1].text.strip() or _score(doc[span.start - 1]):
            return True
    j = span.end
    if j < len(doc) and doc[j].text in POSSESSIVE_TOKENS:
        j += 1
    return j < len(doc) and doc[j].lower_ in after


def name_shaped(words: list[str]) -> bool:
    """Every word written like a name: "Jeff", "Hyung-Taik" (not "UK", "ltd")."""
    return all(w[:1].isupper() and w[1:2].islower() for w in words)


_NAME_PARTICLES: Final = frozenset(
    {"de", "del", "della", "der", "den", "van", "von", "da", "di", "du", "dos", "das", "al", "el",
     "bin", "ibn", "ben", "le", "la", "ter", "ten", "y", "e", "zu", "af", "abu"}
)  # fmt: skip


def describes(token: Token, roles: frozenset[str]) -> bool:
    """A word before a name that is no part of it: a headline's role word ("Sprinter
    Walker") or a lower-case word that is no name particle ("plus Ryan Giggs"; not "de",
    "van", "al")."""
    if token.text in roles:
        return True
    return token.is_lower and token.is_alpha and token.text not in _NAME_PARTICLES


def trim_span(span: Span, person_titles: frozenset[str] = frozenset()) -> Span | None:
    """Drop a leading "the", trailing possessives and, for people, leading titles."""
    start, end = span.start, span.end
    doc = span.doc
    while end - start > 1 and doc[end - 1].text in POSSESSIVE_TOKENS:
        end -= 1
    if span.label_ in _TRIM_THE:
        while end - start > 1 and doc[start].lower_ == "the":
            start += 1
    if span.label_ == "PERSON":
        while end - start > 1 and (
            doc[start].text in person_titles
            or (doc[start].lower_ == "the" and doc[start + 1].text in person_titles)
        ):
            start += 1  # "the Rt Rev Dr Tom Wright"; "The Game" stays
        if doc[start].text in person_titles:
            return None  # titles and no name: "the Rt Rev Dr"
    text = doc[start:end].text
    if (
        text in POSSESSIVE_TOKENS
        or sum(ch.isalnum() for ch in text) < 1
        or (len(text) < 2 and not text.isupper())
    ):
        return None
    if (start, end) == (span.start, span.end):
        return span
    return Span(doc, start, end, label=span.label_, kb_id=span.kb_id_)
