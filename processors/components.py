"""spaCy components that make the model's entities canonical.

- `wirewatch_entity_ruler` (after "ner"): merges gazetteer matches into `doc.ents`, trims
  "the" and possessives, drops entities that are part of an office title ("State" in
  "Secretary of State").
- `wirewatch_linker`: gives each entity a canonical name, a stable id and, for places and
  nationalities, an ISO country code (`span._.canonical`, `._.entity_id`, `._.country`);
  within a document, short person mentions ("Kishida") join the full name ("Fumio
  Kishida") and the group's label is decided by vote.

Both are registered with `@Language.factory`; `processors.enrich.load_pipeline` adds them.
"""

# No `from __future__ import annotations`: spaCy validates factory signatures at runtime.
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from processors import kinds, orgs, places
from processors.gazetteer import Gazetteer, GazetteerEntry, alias_key, load_gazetteer, slug
from processors.people import is_full_name, seed_full_name
from processors.spans import POSSESSIVE_TOKENS, Link, span_text, trim_span

__all__ = ["LABELS", "Link", "cluster_people", "entity_links", "merge_entities", "span_text"]

# spaCy (OntoNotes) label -> product label; labels not listed are not entities for us.
LABELS: Final[dict[str, str]] = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "GPE": "GPE",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "NORP",
    "EVENT": "MISC",
    "LAW": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LANGUAGE": "MISC",
}
PLACE_LABELS: Final = frozenset({"GPE", "LOC", "FAC"})
_POSSESSIVE_TOKENS: Final = POSSESSIVE_TOKENS
_TITLE_CASE_SHARE: Final = 0.6
SMALL_TOWN_POPULATION: Final = 100_000
"""Towns below this are no place when the name is one word of a longer name."""

for _name in ("canonical", "entity_id", "country"):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=None)


def _headline_case(span: Span) -> bool:
    """True when most words of the sentence are capitalised (a title-cased headline)."""
    sent = span.sent if span.doc.has_annotation("SENT_START") else span.doc[:]
    words = [t for t in sent if t.is_alpha and len(t) > 3]
    return bool(words) and sum(t.is_title for t in words) / len(words) >= _TITLE_CASE_SHARE


def _part_of_longer_name(span: Span) -> bool:
    """A match glued to capitalised words the model did not tag ("Japan" in "Japan Tobacco")."""
    doc = span.doc
    if _headline_case(span):
        return False
    if span.start > 0:
        prev = doc[span.start - 1]
        if prev.is_title and not prev.is_sent_start and prev.lower_ not in {"the", "a", "an"}:
            return True
    if span.end < len(doc):
        nxt = doc[span.end]
        if nxt.is_title and not nxt.is_sent_start:
            return True
    return False


def _small_town_in_a_name(span: Span, entry: GazetteerEntry) -> bool:
    """A one-word match on a small town that is a word of a longer name ("Liberal" in
    "Liberal Democrat", "Bank" in "Bank of England") or follows "the" ("the Bank", "the
    Panorama section"): towns take no article."""
    small = entry.kind == "city" and entry.population < SMALL_TOWN_POPULATION
    if not small or len(span) != 1:
        return False
    the = span.start > 0 and span.doc[span.start - 1].lower_ == "the"
    return the or _part_of_longer_name(span)


def merge_entities(
    ents: Sequence[Span], matches: Sequence[tuple[Span, GazetteerEntry]]
) -> list[Span]:
    """Merge gazetteer matches into the model's entities.

    A match inside a longer model entity leaves it alone ("Japanese" in "Japanese Foreign
    Ministry"); a match with the same span relabels it, except that a person the model
    found is not turned into a town; a match that covers or crosses model entities
    replaces them ("U.N." + "Security Council"); a match where the model found nothing is
    added unless it looks like part of a longer capitalised name.
    """
    # Entities kept so far never overlap one another, so a token index finds the ones a
    # match overlaps in O(len(match)): a scan of all of them per match is quadratic, and an
    # article of 20,000 place names took minutes.
    live: dict[tuple[int, int], Span] = {}
    at: dict[int, tuple[int, int]] = {}

    def keep(e: Span) -> None:
        live[(e.start, e.end)] = e
        for i in range(e.start, e.end):
            at[i] = (e.start, e.end)

    for e in ents:
        keep(e)
    for span, entry in matches:
        keys = dict.fromkeys(at[i] for i in range(span.start, span.end) if i in at)
        overlapping = [live[k] for k in keys]
        if not overlapping:
            if not _part_of_longer_name(span):
                keep(span)
            continue
        if any(
            e.start <= span.start and span.end <= e.end and len(e) > len(span) for e in overlapping
        ):
            continue
        if len(overlapping) == 1 and (overlapping[0].start, overlapping[0].end) == (
            span.start,
            span.end,
        ):
            e = overlapping[0]
            if e.label_ == "PERSON" and entry.kind in {"city", "region"}:
                continue
        for k in keys:
            gone = live.pop(k)
            for i in range(gone.start, gone.end):
                del at[i]
        keep(span)
    return sorted(live.values(), key=lambda s: s.start)


class EntityRuler:
    """Gazetteer matches merged into the model's entities (see `merge_entities`)."""

    def __init__(self, nlp: Language, name: str, gazetteer: Gazetteer) -> None:
        self.name = name
        self.gazetteer = gazetteer
        self.matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.entries: dict[str, GazetteerEntry] = {}
        by_id: dict[str, list[Doc]] = defaultdict(list)
        forms = sorted(gazetteer.surface)
        for form in forms:
            doc = nlp.make_doc(form)
            entry = gazetteer.surface[form]
            key = f"{entry.label}|{entry.id}"
            self.entries[key] = entry
            by_id[key].append(doc)
        for key, docs in by_id.items():
            self.matcher.add(key, docs)
        self.titles = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.titles.add("TITLE", [nlp.make_doc(t) for t in gazetteer.office_titles])

    def __call__(self, doc: Doc) -> Doc:
        found: list[Span] = []
        for match_id, start, end in self.matcher(doc):
            key = doc.vocab.strings[match_id]
            entry = self.entries[key]
            found.append(Span(doc, start, end, label=entry.label, kb_id=entry.id))
        matches = [(s, self.entries[f"{s.label_}|{s.kb_id_}"]) for s in filter_spans(found)]
        ents = merge_entities(doc.ents, matches)
        titles = [(s, e) for _, s, e in self.titles(doc)]
        kept: list[Span] = []
        for ent in ents:
            inside_title = any(s <= ent.start and ent.end <= e for s, e in titles)
            if inside_title and ent.label_ in LABELS and not (ent.label_ == "PERSON" or ent.kb_id_):
                continue  # "State" in "Secretary of State"
            trimmed = trim_span(ent, self.gazetteer.person_titles)
            if trimmed is not None:
                kept.append(trimmed)
        doc.ents = filter_spans(kept)
        return doc


def mark_paragraphs(doc: Doc) -> Doc:
    """Start a sentence after every paragraph break, so a headline is its own sentence."""
    for tok in doc[1:]:
        prev = doc[tok.i - 1]
        if "\n" in prev.whitespace_ or (prev.is_space and "\n" in prev.text):
            tok.is_sent_start = True
    return doc


@Language.component("wirewatch_paragraphs")
def paragraphs_component(doc: Doc) -> Doc:
    return mark_paragraphs(doc)


@Language.factory("wirewatch_entity_ruler", default_config={})
def make_entity_ruler(nlp: Language, name: str) -> EntityRuler:
    return EntityRuler(nlp, name, load_gazetteer())


def _person_key(text: str) -> str:
    return alias_key(text)


def cluster_people(ents: Iterable[Span], person_titles: frozenset[str]) -> dict[int, str]:
    """Map each entity (by index) that names a person to the full name it stands for.

    Full names are person entities of two or more words; a one-word mention of any label
    joins the full name whose last words (or, failing that, first word) it is, when exactly
    one full name fits: "Kishida", "Hulme-Cross" beside "Peter Hulme-Cross", "Kilroy-Silk"
    beside "Robert Kilroy Silk". Returns {index of entity in `ents`: full name}.
    """
    spans = list(ents)
    full: dict[str, str] = {}
    for s in spans:
        name = span_text(s, person_titles)
        if s.label_ == "PERSON" and is_full_name(name):
            full.setdefault(_person_key(name), seed_full_name(name))
    by_last: dict[str, set[str]] = defaultdict(set)
    by_first: dict[str, set[str]] = defaultdict(set)
    for key, name in full.items():
        parts = key.split()  # "Robert Kilroy Silk" ends with "Kilroy-Silk" too
        for n in range(1, len(parts)):
            by_last[" ".join(parts[n:])].add(name)
        by_first[parts[0]].add(name)
    out: dict[int, str] = {}
    for i, s in enumerate(spans):
        if s.label_ not in {"PERSON", "ORG", "GPE", "NORP"}:
            continue
        key = _person_key(s.text)
        if key in full:
            if s.label_ == "PERSON":
                out[i] = full[key]
            continue
        if len(s.text.split()) != 1:
            continue
        for index in (by_last, by_first):
            names = index.get(key, set())
            if len(names) == 1:
                out[i] = next(iter(names))
                break
    return out


def add_missed_surnames(doc: Doc, person_titles: frozenset[str]) -> list[Span]:
    """The doc's entities plus bare surnames of people it names in full that the model missed.

    "Fumio Kishida ... Kishida and Kerry confirmed": the second "Kishida" becomes a PERSON
    mention when exactly one full name in the doc ends with it.
    """
    ents = list(doc.ents)
    surnames: dict[str, int] = {}
    for e in ents:
        words = [t for t in e if t.text not in person_titles]
        if e.label_ == "PERSON" and len(words) >= 2 and words[-1].is_title:
            surnames[words[-1].text] = surnames.get(words[-1].text, 0) + 1
    names = {k for k, v in surnames.items() if v >= 1}
    if not names:
        return ents
    covered = {i for e in ents for i in range(e.start, e.end)}
    added = [
        Span(doc, t.i, t.i + 1, label="PERSON")
        for t in doc
        if t.text in names and t.i not in covered
    ]
    return sorted(ents + added, key=lambda s: s.start) if added else ents


class Linker:
    """Canonical name, id and country for every entity; person groups vote on a label."""

    def __init__(self, name: str, gazetteer: Gazetteer) -> None:
        self.name = name
        self.gazetteer = gazetteer

    def link(self, span: Span) -> tuple[str, Link]:
        """(label, link) of one entity, before person grouping."""
        label = span.label_
        entry = None if label == "PERSON" else self.gazetteer.lookup(span.text)
        if entry is not None and _small_town_in_a_name(span, entry):
            entry = None
        if entry is not None and label in LABELS:
            if entry.kind == "org" and label not in PLACE_LABELS:
                return "ORG", Link(entry.canonical, entry.id, entry.country)  # the list decides
            if entry.kind != "org":
                new = entry.label if label in {"ORG", "GPE", "NORP", "LOC", "FAC"} else label
                if entry.kind == "demonym" and new != "NORP":
                    new = "NORP"
                elif entry.kind != "demonym" and new == "NORP":
                    new = "GPE"
                return new, Link(entry.canonical, entry.id, entry.country)
        canonical = span_text(span, _POSSESSIVE_TOKENS)
        country = None
        if label in {"ORG", "LOC", "FAC"}:
            country = self._owner(span)
        prefix = {"PERSON": "person", "ORG": "org", "NORP": "norp"}.get(
            LABELS.get(label, "MISC"), "place" if label in PLACE_LABELS else "misc"
        )
        return label, Link(canonical, f"{prefix}:{slug(canonical)}", country)

    def _owner(self, span: Span) -> str | None:
        """The country a name says it belongs to: a public body led by a country or a
        demonym ("Japanese Foreign Ministry", "U.S. State Department", "the UK Independence
        Party"; not "US Airways"), or a country's name inside it ("Athletics Kenya", "Bank
        of England")."""
        if len(span) > 1 and span[0].lower_ == "the":
            span = span[1:]
        public = span[-1].lower_ in self.gazetteer.public_heads
        for head in (span[:2], span[:1]):
            first = self.gazetteer.lookup(head.text) if len(head) else None
            owner = first is not None and first.kind in {"country", "demonym"}
            if first is not None and owner and len(span) > len(head):
                return first.country if public else None
        for tok in span[1:]:
            if not (tok.i == span.end - 1 or tok.nbor(-1).lower_ == "of"):
                continue  # "Bank of England", "Athletics Kenya"; not "Bankrupt US Airways"
            entry = self.gazetteer.lookup(tok.text) if tok.is_title or tok.is_upper else None
            if entry is not None and entry.kind == "country":
                return entry.country
        return None

    def __call__(self, doc: Doc) -> Doc:
        ents = add_missed_surnames(doc, self.gazetteer.person_titles)
        credits = orgs.agency_credits(doc, self.gazetteer, ents)
        ents = sorted(ents + credits, key=lambda s: (s.start, s.end)) if credits else ents
        decided = [self.link(e) for e in ents]
        ents, decided = kinds.revise(doc, ents, decided, self.gazetteer, self.link)
        people = cluster_people(ents, self.gazetteer.person_titles)
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        for i, name in people.items():
            votes[name][decided[i][0]] += 1
        new_ents: list[Span] = []
        links: list[Link] = []
        for i, (ent, (label, link)) in enumerate(zip(ents, decided, strict=True)):
            if i in people:
                name = people[i]
                ranked = votes[name].most_common()
                # Ties go to PERSON: the group exists because a full personal name was found.
                top = max(ranked, key=lambda lc: (lc[1], lc[0] == "PERSON"))[0]
                if top == "PERSON":
                    label = "PERSON"
                    link = Link(name, f"person:{slug(name)}", None)
            if label != ent.label_:
                ent = Span(doc, ent.start, ent.end, label=label, kb_id=link.entity_id)
            new_ents.append(ent)
            links.append(link)
        new_ents, links = orgs.unify(doc, new_ents, links, self.gazetteer)
        links = places.settle(new_ents, links, self.gazetteer)
        doc.ents = new_ents
        for ent, link in zip(doc.ents, links, strict=True):
            ent._.canonical = link.canonical
            ent._.entity_id = link.entity_id
            ent._.country = link.country
        return doc


@Language.factory("wirewatch_linker", default_config={})
def make_linker(nlp: Language, name: str) -> Linker:
    return Linker(name, load_gazetteer())


def entity_links(doc: Doc) -> list[tuple[Span, Link]]:
    """The linked entities of a processed doc (entities the linker did not see get a plain link)."""
    out: list[tuple[Span, Link]] = []
    for ent in doc.ents:
        canonical: Any = ent._.canonical
        if canonical is None:
            text = span_text(ent)
            out.append((ent, Link(text, f"{ent.label_.lower()}:{slug(text)}", None)))
        else:
            out.append((ent, Link(str(canonical), str(ent._.entity_id), ent._.country)))
    return out
