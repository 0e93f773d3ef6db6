"""One value per organisation within an article, and people the model took for one.

Runs at the end of `wirewatch_linker`, on the linked entities of one doc:

- a name the model found keeps no legal form at its end ("Nike Inc." -> "Nike");
- an acronym joins its long form: defined in brackets ("Office for National Statistics
  (ONS)") or the initials of the long form's capitalised words ("BJP" ~ "Bharatiya Janata
  Party", "PTI" ~ "Press Trust of India"), when exactly one long form fits;
- a shorter name that is a run of words of exactly one longer organisation in the article
  joins it ("Brewers" ~ "Milwaukee Brewers", "Triton" ~ "Triton Coal");
- the linked name of a gazetteer organisation wins over a name from the text;
- a lone surname the model called an organisation, or left as a one-word person, is the
  prominent person of the seed list ("Trump" -> "Donald Trump", see `processors.people`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from spacy.tokens import Doc, Span

from processors.gazetteer import Gazetteer, alias_key, slug
from processors.kind_lists import load_kinds
from processors.people import census_person, seed_name, seed_person
from processors.spans import Link, name_shaped, span_text

_STOP: Final = frozenset({"of", "the", "and", "for", "de", "&", "on", "in", "du", "des", "la"})
_ACRONYM: Final = re.compile(r"^(?:[A-Z][A-Za-z]?\.?){1,7}$")
_OFFICE_TITLES: Final = frozenset(
    {"President", "Minister", "Chancellor", "Premier", "Secretary", "Senator", "Sen.", "Governor"}
)


_WEB_SUFFIX: Final = re.compile(r"(?<=[A-Za-z])\.(?:com|org|net|co\.uk)$")


def strip_legal_form(name: str, forms: frozenset[str]) -> str:
    """ "Nike Inc." -> "Nike", "Interstate Bakeries Corp." -> "Interstate Bakeries"; a site
    goes by its name ("AppleInsider.com" -> "AppleInsider")."""
    if _WEB_SUFFIX.search(name) and " " not in name:
        return _WEB_SUFFIX.sub("", name)
    words = name.replace(",", " ").split()
    while len(words) > 1 and words[-1] in forms:
        words.pop()
    out = " ".join(words)
    return name if out == " ".join(name.replace(",", " ").split()) else out


def initials(name: str) -> set[str]:
    """Acronyms a long name may go by: initials of its capitalised words, stopwords left
    out, each part of a hyphenated word counted or not ("Agence France-Presse" -> AFP, AF)."""
    words = [w for w in re.split(r"\s+", name) if w and w.casefold() not in _STOP]
    caps = [w for w in words if w[:1].isupper()]
    if len(caps) < 2:
        return set()
    whole = "".join(w[0] for w in caps)
    parts = "".join(p[0] for w in caps for p in w.split("-") if p[:1].isupper())
    return {whole.upper(), parts.upper()}


def acronym_key(text: str) -> str | None:
    """ "BJP" -> "BJP", "U.N." -> "UN", "BoJ" -> "BOJ"; None for a word that is no acronym."""
    compact = text.replace(" ", "")
    if not _ACRONYM.match(compact) or sum(c.isupper() for c in compact) < 2:
        return None
    return compact.replace(".", "").upper()


def _gazetteer_link(link: Link, gaz: Gazetteer) -> bool:
    entry = gaz.lookup(link.canonical)
    return entry is not None and entry.id == link.entity_id


def _defined_acronyms(doc: Doc, ents: list[Span], org: list[int]) -> dict[str, int]:
    """Acronym -> index of the organisation it is defined for in brackets."""
    out: dict[str, int] = {}
    for i in org:
        e = ents[i]
        if e.end + 2 < len(doc) and doc[e.end].text == "(" and doc[e.end + 2].text == ")":
            key = acronym_key(doc[e.end + 1].text)
            if key is not None:
                out.setdefault(key, i)
    return out


def _words(name: str) -> str:
    return f" {alias_key(name)} "


def unify(
    doc: Doc, ents: list[Span], links: list[Link], gaz: Gazetteer
) -> tuple[list[Span], list[Link]]:
    """The entities with one link per organisation (see the module doc)."""
    forms = load_kinds().legal_forms
    links = list(links)
    ents = list(ents)
    org = [i for i, e in enumerate(ents) if e.label_ == "ORG"]
    fixed = {i for i in org if _gazetteer_link(links[i], gaz)}
    for i in org:
        if i not in fixed:
            name = strip_legal_form(links[i].canonical, forms)
            if name != links[i].canonical:
                links[i] = Link(name, f"org:{slug(name)}", links[i].country)
    defined = _defined_acronyms(doc, ents, org)
    longs: dict[str, Link] = {}
    for i in org:
        if len(links[i].canonical.split()) >= 2:
            longs.setdefault(links[i].entity_id, links[i])
    target: dict[int, Link] = {}
    for i in org:
        link = links[i]
        acr = acronym_key(span_text(ents[i]))
        if acr is not None:
            if acr in defined and links[defined[acr]].entity_id != link.entity_id:
                target[i] = links[defined[acr]]
                continue
            fits = [lg for lg in longs.values() if acr in initials(lg.canonical)]
            if len(fits) == 1 and fits[0].entity_id != link.entity_id:
                target[i] = fits[0]
            continue
        if i in fixed:
            continue
        runs = [
            lg
            for lg in longs.values()
            if lg.entity_id != link.entity_id
            and len(lg.canonical.split()) > len(link.canonical.split())
            and _words(link.canonical) in _words(lg.canonical)
        ]
        if len(runs) == 1:
            target[i] = runs[0]
    fixed_ids = {links[j].entity_id for j in fixed}
    remap: dict[str, Link] = {}
    for i, t in target.items():
        # The gazetteer's name wins over the text's ("BJP" linked, its long form not).
        a = links[i]
        winner = a if a.entity_id in fixed_ids and t.entity_id not in fixed_ids else t
        remap[a.entity_id] = remap[t.entity_id] = winner
    for j in org:
        w = remap.get(links[j].entity_id)
        for _ in range(4):  # follow "UN" -> "U.N. body" -> ... a few steps, never in a loop
            nxt = remap.get(w.entity_id) if w is not None else None
            if nxt is None or nxt == w:
                break
            w = nxt
        if w is not None:
            links[j] = w
    return _seeded_people(doc, ents, links, gaz)


def _seeded_people(
    doc: Doc, ents: list[Span], links: list[Link], gaz: Gazetteer
) -> tuple[list[Span], list[Link]]:
    """One-word people (and one-word organisations the gazetteer does not know) that are
    the surname of exactly one prominent person of the seed list; organisations the
    gazetteer does not know named as a seed person is ("Bill Gates") or shaped like a
    person's name (`_person_shaped`)."""
    full = {alias_key(w) for lk in links for w in lk.canonical.split()[1:]}
    for i, e in enumerate(ents):
        if len(e) > 1 and e.label_ == "ORG" and not _gazetteer_link(links[i], gaz):
            person = seed_person(e.text) or (span_text(e) if _person_shaped(e) else None)
            if person is not None:
                links[i] = Link(person, f"person:{slug(person)}", None)
                ents[i] = Span(doc, e.start, e.end, label="PERSON", kb_id=links[i].entity_id)
            continue
        if len(e) != 1 or e.label_ not in {"PERSON", "ORG"} or " " in links[i].canonical:
            continue
        if e.label_ == "ORG" and _gazetteer_link(links[i], gaz):
            continue
        titled = e.start > 0 and doc[e.start - 1].text in _OFFICE_TITLES
        name = seed_name(e.text, titled=titled)
        if name is None or (alias_key(e.text) in full and e.label_ == "ORG"):
            continue
        links[i] = Link(name, f"person:{slug(name)}", None)
        if e.label_ != "PERSON":
            ents[i] = Span(doc, e.start, e.end, label="PERSON", kb_id=links[i].entity_id)
    return ents, links


_ROLES: Final = frozenset(
    {
        "spokesman", "spokeswoman", "spokesperson", "minister", "secretary", "leader",
        "chairman", "chairwoman", "director", "president", "analyst", "economist",
        "professor", "candidate", "manager", "coach", "striker", "midfielder", "defender",
        "winger", "goalkeeper", "actor", "actress", "singer", "rapper", "writer", "author",
        "lawyer", "prosecutor", "ambassador", "envoy", "governor", "mayor", "senator",
        "councillor", "founder", "editor", "correspondent", "reporter", "chancellor",
    }
)  # fmt: skip
"""Lower-case nouns for a person, right before a name ("spokesman Glyn Davies")."""


def _person_shaped(span: Span) -> bool:
    """A name of two or three words, written like one, that is a person whatever the
    model's label: after a `_ROLES` noun ("spokesman Glyn Davies") or a census given name
    and surname ("Lucious Harris"); not "Cal Fire" or "Wigan Warriors" (an org head last)."""
    words = span_text(span).split()
    if not 2 <= len(words) <= 3 or not name_shaped(words) or words[-1] in load_kinds().org_heads:
        return False
    before = span.doc[span.start - 1] if span.start else None
    return census_person(words) or (
        before is not None and before.lower_ in _ROLES and before.is_lower
    )


_DASHES: Final = frozenset({"-", "--", "—", "–"})


def _line_start(doc: Doc, i: int) -> int:
    """`i` if token i opens the doc or a paragraph, else -1."""
    return i if i == 0 or "\n" in doc[i - 1].text_with_ws else -1


def agency_credits(doc: Doc, gaz: Gazetteer, taken: Iterable[Span]) -> list[Span]:
    """Agency credits the model and the ruler missed: "(AP)", "AP -" at the start of a
    paragraph, for agencies the gazetteer knows only from model entities ("AP"), and a known
    organisation the model glued to its dateline ("Canadian Press - OTTAWA": the linker
    keeps the place after the dash)."""
    taken = list(taken)
    covered = {i for s in taken for i in range(s.start, s.end)}
    out: list[Span] = []
    for s in taken:
        dash = next((t.i for t in s[1:-1] if t.text in _DASHES and t.whitespace_), None)
        if s.label_ == "ORG" and dash is not None and s.start == _line_start(doc, s.start):
            head = gaz.lookup(doc[s.start : dash].text)
            if head is not None and head.kind == "org":
                out.append(Span(doc, s.start, dash, label="ORG"))
    for t in doc:
        if t.i in covered or not t.is_upper or len(t) < 2:
            continue
        entry = gaz.lookup(t.text)
        if entry is None or entry.kind != "org" or t.text in gaz.surface:
            continue
        bracketed = 0 < t.i < len(doc) - 1 and doc[t.i - 1].text == "(" and doc[t.i + 1].text == ")"
        lead = (t.i == 0 or "\n" in doc[t.i - 1].text_with_ws) and t.i + 1 < len(doc)
        dashed = lead and doc[t.i + 1].text in _DASHES
        if bracketed or dashed:
            out.append(Span(doc, t.i, t.i + 1, label="ORG"))
    return out
