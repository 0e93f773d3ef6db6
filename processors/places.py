"""Which of the places of one name the article means: the article's other places vote.

The gazetteer links a place name to its best-ranked place (a country, then a capital, then
the biggest city or region), which is wrong where a smaller place of the name is meant:
"San Jose" in a report from California, "Punjab" in a report from Lahore, "Atlanta,
Georgia". After linking, `settle` moves such a name to the place of the same name in a
country the rest of the article names:

- "X, Y" (a place, a comma, a place): the one of Y's places in X's country ("Atlanta,
  Georgia" -> the US state) or the one of X's places in Y's country ("San Jose,
  California");
- otherwise a name whose best place is not a country, a capital or a city of a million,
  and whose country nothing else in the article names, moves to its place in a country
  other names do ("Halifax" in a report that says "UK" and "London");
- a place name that names a treaty ("the Kyoto pact", "the Oslo accords") refers to no
  country (the gold sets' reading of FACETS.md: a place inside a name makes no country);
  a war named after a country is about it ("the Iraq war" -> IQ), and an unknown place
  named with a nationality is in its country ("the French Coast" -> FR).

Pure: spans and links in, links out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from spacy.tokens import Span

from processors.gazetteer import Gazetteer, GazetteerEntry, alias_key
from processors.spans import Link, span_text

STRONG_CITY_POPULATION: Final = 1_000_000
"""A city this big keeps its name unless the text pairs it with another place ("X, Y")."""
ALTERNATE_CITY_POPULATION: Final = 50_000
"""A city smaller than this is never the place an article means by a shared name."""
_PLACE_LABELS: Final = frozenset({"GPE", "LOC"})
_NAMED_AFTER: Final = frozenset(
    {"pact", "protocol", "accord", "accords", "agreement", "agreements", "treaty", "convention",
     "conventions", "process", "declaration"}
)  # fmt: skip
"""Nouns a place name before names a treaty, not the place ("Kyoto pact", "Oslo accords")."""
_WAR_HEADS: Final = frozenset({"war", "conflict", "invasion", "occupation", "crisis"})
"""Last words of an event named after the country it is about ("the Iraq war")."""


def _strong(entry: GazetteerEntry) -> bool:
    return entry.kind in {"country", "capital"} or (
        entry.kind == "city" and entry.population >= STRONG_CITY_POPULATION
    )


def _shared(
    gaz: Gazetteer, span: Span, link: Link
) -> tuple[GazetteerEntry | None, tuple[GazetteerEntry, ...]]:
    """(the linked place, the other places of its name) if the span's name is shared."""
    if span.label_ not in _PLACE_LABELS:
        return None, ()
    places = gaz.places.get(alias_key(span_text(span)), ())
    linked = next((e for e in places if e.id == link.entity_id), None)
    if linked is None:
        return None, ()
    others = tuple(
        e
        for e in places
        if e is not linked and (e.kind != "city" or e.population >= ALTERNATE_CITY_POPULATION)
    )
    return linked, others


def _moved(entry: GazetteerEntry) -> Link:
    return Link(entry.canonical, entry.id, entry.country)


def _paired(spans: Sequence[Span], i: int) -> int | None:
    """The index of the place right after span i across one comma ("Atlanta, Georgia")."""
    if i + 1 >= len(spans):
        return None
    a, b = spans[i], spans[i + 1]
    between = a.doc[a.end : b.start]
    if len(between) != 1 or between[0].text != ",":
        return None
    return i + 1 if {a.label_, b.label_} <= _PLACE_LABELS else None


def settle(spans: Sequence[Span], links: list[Link], gaz: Gazetteer) -> list[Link]:
    """The links with shared place names moved to the place the article means."""
    out = list(links)
    shared = [_shared(gaz, s, lk) for s, lk in zip(spans, links, strict=True)]
    alternates = [others for _, others in shared]
    for i in range(len(spans)):
        j = _paired(spans, i)
        if j is None:
            continue
        for near, far in ((j, i), (i, j)):  # move Y to X's country, else X to Y's
            home = out[far].country
            pick = next((e for e in alternates[near] if e.country == home), None)
            if home and pick is not None and out[near].country != home:
                out[near] = _moved(pick)
                alternates[near] = ()
                break
    weak = [
        bool(alts) and linked is not None and not _strong(linked)
        for (linked, _), alts in zip(shared, alternates, strict=True)
    ]
    named = {lk.country for lk, w in zip(out, weak, strict=True) if lk.country and not w}
    for k, alts in enumerate(alternates):
        if not weak[k] or out[k].country in named:
            continue
        pick = next((e for e in alts if e.country in named), None)
        if pick is not None:
            out[k] = _moved(pick)
    for k, span in enumerate(spans):
        after = span.doc[span.end] if span.end < len(span.doc) else None
        if span.label_ in _PLACE_LABELS and after is not None and after.lower_ in _NAMED_AFTER:
            out[k] = Link(out[k].canonical, out[k].entity_id, None)
        elif len(span) > 1 and span[-1].lower_ in _WAR_HEADS and out[k].country is None:
            entry = gaz.lookup(span[:-1].text)
            if entry is not None and entry.kind == "country":
                out[k] = Link(out[k].canonical, out[k].entity_id, entry.country)
        elif len(span) > 1 and span.label_ in _PLACE_LABELS and out[k].country is None:
            lead = gaz.lookup(span[0].text)  # "the French coast", "the Swiss Alps"
            if lead is not None and lead.kind == "demonym":
                out[k] = Link(out[k].canonical, out[k].entity_id, lead.country)
    return out
