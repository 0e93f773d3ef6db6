"""The right kind for each entity: the article votes, reviewed lists and context decide.

Runs inside `wirewatch_linker` after the gazetteer lookup and before person grouping:

- time zones and tests are no entities ("BST", "PCR"); diseases, named events, awards,
  listed acts and products are MISC ("COVID-19", "Brexit", "Oscar", "Coldplay", "iPhone",
  any name ending in "Championships", "Cup", "Award" ...); ethnic and religious groups are
  NORP without a country ("Hutu"); a name ending in "Stadium", "Airport" ... is a venue;
- a name right after "film", "band", "album" ... or right before "singer", "frontman" is a
  work or an act, neither person nor organisation, and is dropped;
- a single word the model calls an organisation is a person when it is the surname of
  someone the article names in full ("Aubameyang" beside "Pierre-Emerick Aubameyang");
- a name the model calls a person is an organisation when the gazetteer knows it as one
  ("Twitter") or its last word is an organisation's ("Cal Fire"); a country is the country;
- a title-case headline entity the body never spells so is cut to the body's ("Pixar")
- a nationality glued to a name is split off ("American Jeff Morrison"); post-nominal
  letters are cut from a person ("Guy Mansfield QC"); a lower-case name is dropped;
- a place name in apposition to a company noun is the organisation ("Halifax, the
  country's biggest mortgage lender");
- mentions of one name vote on its label ("Labour" 9 x ORG, 2 x PERSON -> ORG);
- in a sport report, a place or club name used as a team ("Watford manager", "against
  Lyon") is the club (an organisation); a country used as a team stays its country.

Pure functions over spaCy spans; `revise` returns new spans and links.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Final

from spacy.tokens import Doc, Span

from processors.gazetteer import Gazetteer, alias_key, slug
from processors.kind_lists import Kinds, load_kinds
from processors.people import is_full_name
from processors.spans import (
    Link,
    describes,
    headline_span,
    in_list_after,
    name_shaped,
    named_work,
    span_text,
    team_cue,
    title_cased,
    title_end,
)

Decision = tuple[str, Link]
Relink = Callable[[Span], Decision]
_VOTERS: Final = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"})
_SPORT_MIN_WORDS: Final = 3
"""Distinct sport words that make an article a sport report."""
_PREFIXES: Final = frozenset(
    {"post", "pre", "ex", "anti", "pro", "non", "mid", "neo", "pan", "then", "late", "former"}
)
_TEXTUAL: Final = frozenset({"ORG", "PERSON", "EVENT", "MISC"})
_SCORE: Final = re.compile(r"^[\d\-–]+$")
_PREFIX_GLUE: Final = frozenset({"-", "‐", "–"})


def is_sport_report(doc: Doc, kinds: Kinds) -> bool:
    """At least three distinct sport words ("striker", "league", "season")."""
    seen = {t.lower_ for t in doc if t.lower_ in kinds.sport_words}
    return len(seen) >= _SPORT_MIN_WORDS


def _trim_prefix(span: Span) -> Span:
    """Drop a lower-case prefix glued by a hyphen ("post-Brexit" -> "Brexit", "ex-Yukos")."""
    doc, start = span.doc, span.start
    while (
        span.end - start > 2
        and doc[start].lower_ in _PREFIXES
        and doc[start + 1].text in _PREFIX_GLUE
        and doc[start + 1].whitespace_ == ""
    ):
        start += 2
    return span if start == span.start else Span(doc, start, span.end, label=span.label_)


def _demonym_led(span: Span, gaz: Gazetteer) -> tuple[Span, Span] | None:
    """A nationality glued to a name the model took as one entity ("American Jeff Morrison",
    "Russian Mikhail Youzhny", "South Korean Hyung-Taik Lee"): (the nationality, the person)."""
    if span.label_ == "ORG" or len(span) < 3:
        return None
    for k in (2, 1):
        lead = gaz.lookup(span[:k].text)
        if lead is None or lead.kind != "demonym":
            continue
        rest = span[k:]
        words = rest.text.split()
        if not 2 <= len(words) <= 3 or not name_shaped(words):
            return None
        if gaz.lookup(rest.text) is not None:
            return None
        doc = span.doc
        nat = Span(doc, span.start, span.start + k, label="NORP")
        return nat, Span(doc, rest.start, rest.end, label="PERSON")
    return None


def _score_start(span: Span) -> int:
    """Where a trailing score starts ("Watford 3-0", "Czech Republic 7-5 6-3"), else the end."""
    end = span.end
    while end - span.start > 1 and _SCORE.match(span.doc[end - 1].text):
        end -= 1
    tail = span.doc[end : span.end].text
    return end if "-" in tail or "–" in tail else span.end


def _trim_roles(span: Span, roles: frozenset[str]) -> Span:
    """Drop a description before a name ("Sprinter Walker", "plus Ryan Giggs")."""
    start, doc = span.start, span.doc
    while span.end - start > 1 and describes(doc[start], roles) and doc[start + 1].is_title:
        start += 1
    return span if start == span.start else Span(span.doc, start, span.end, label=span.label_)


def _post_nominal_person(span: Span, letters: frozenset[str]) -> Span | None:
    """A full name with post-nominal letters ("Guy Mansfield QC"): the person, without them."""
    words = span.text.split()
    if len(words) < 3 or words[-1] not in letters or span[-1].text != words[-1]:
        return None
    if not name_shaped(words[:-1]):
        return None
    return Span(span.doc, span.start, span.end - 1, label="PERSON")


def _trim_org_tail(span: Span) -> Span:
    """Drop lower-case words and scores after an organisation's name ("... of India news
    agency", "Watford 3-0")."""
    end = _score_start(span)
    while end - span.start > 1 and span.doc[end - 1].is_lower and span.doc[end - 1].is_alpha:
        end -= 1
    return span if end == span.end else Span(span.doc, span.start, end, label=span.label_)


def _cut_at_punct(span: Span, gaz: Gazetteer) -> Span:
    """An organisation glued to a dateline or a bracket: "Reuters - Nike Inc." -> "Nike
    Inc." (the part after a spaced dash when the part before is a known organisation, else
    the part before), "Office for National (ONS" -> "Office for National"."""
    doc = span.doc
    for k in range(span.start + 1, span.end - 1):
        t = doc[k]
        if t.text == "(":
            return Span(doc, span.start, k, label=span.label_)
        if t.text in _PREFIX_GLUE | {"--", "—"} and t.whitespace_ and doc[k - 1].whitespace_:
            head = gaz.lookup(span_text(doc[span.start : k]))
            prefix = k == span.start + 1 and doc[span.start].lower_ in _PREFIXES
            if prefix or (head is not None and head.kind == "org"):
                return Span(doc, k + 1, span.end, label=span.label_)
            return Span(doc, span.start, k, label=span.label_)
    return span


def _with_label(span: Span, label: str) -> Span:
    return span if span.label_ == label else Span(span.doc, span.start, span.end, label=label)


def _full_names(spans: Iterable[Span], person_titles: frozenset[str]) -> list[str]:
    """The person names in the doc written in full ("Fumio Kishida", not "Kishida")."""
    names = (span_text(s, person_titles) for s in spans if s.label_ == "PERSON")
    return [name for name in names if is_full_name(name)]


def _as_person(
    span: Span, decision: Decision, gaz: Gazetteer, relink: Relink, surnames: set[str]
) -> Decision:
    """An organisation-labelled single word that is the surname of a person named in full in
    the article, and no organisation the gazetteer knows, is that person ("Aubameyang fires
    Arsenal win" beside "Pierre-Emerick Aubameyang")."""
    text = span_text(span)  # "Hulme-Cross": three tokens, one word
    if decision[0] != "ORG" or len(text.split()) != 1 or alias_key(text) not in surnames:
        return decision
    if gaz.lookup(text) is not None:  # a place or an organisation it knows
        return decision
    return relink(_with_label(span, "PERSON"))


def _listed(
    span: Span, decision: Decision, relink: Relink, kinds: Kinds, protected: set[str]
) -> Decision | None:
    """The decision the reviewed lists make for a span; ("", ...) drops it."""
    label, link = decision
    text = span_text(span)
    key = alias_key(text)
    placed = link.entity_id.split(":", 1)[0] in {"country", "city", "region"}
    placed = placed or key in protected  # "Oscar" in an article about Oscar Pistorius
    if key in kinds.drop and not placed:
        return "", link
    named_event = label in {"PERSON", "ORG"} and (
        span[-1].text in kinds.event_heads or (len(span) > 1 and span[0].text in kinds.event_leads)
    )
    if (key in kinds.misc or named_event) and not placed:
        return relink(_with_label(span, "EVENT"))
    written = text.split()
    if label in {"PERSON", "ORG"} and len(written) > 1 and written[-1] in kinds.venue_heads:
        return relink(_with_label(span, "FAC"))  # a venue is a place
    if key in kinds.groups and label in {"PERSON", "ORG", "NORP", "GPE"} and not placed:
        return "NORP", Link(link.canonical, f"norp:{slug(link.canonical)}", None)
    if label == "ORG" and (key in kinds.generic_orgs or "<" in text or ">" in text):
        return "", link
    if label in {"PERSON", "ORG"} and text.islower():
        return "", link  # the model's slip: "fed up", "the consumer"
    return None


def _beside_org_noun(span: Span, decision: Decision, kinds: Kinds) -> Decision:
    """A place the text calls a company, a bank, a party ... in apposition ("Halifax, the
    country's biggest mortgage lender") is an organisation; "the US giant Monsanto" is not.
    Not a person: "Quincy Jones, the producer" is one."""
    if decision[0] not in {"GPE", "LOC"} or decision[1].entity_id.startswith("country:"):
        return decision  # "the US agrochemical giant": a country stays one
    root = span.root
    beside = [c for c in root.children if c.dep_ == "appos"]
    if root.dep_ == "appos" and root.head.i not in range(span.start, span.end):
        beside.append(root.head)
    if any(t.pos_ == "NOUN" and t.lemma_.lower() in kinds.org_nouns for t in beside):
        name = span_text(span)  # not relinked: the gazetteer would make it the place again
        return "ORG", Link(name, f"org:{slug(name)}", None)
    return decision


def _as_org(
    span: Span, decision: Decision, gaz: Gazetteer, relink: Relink, protected: set[str]
) -> Decision:
    """A person-labelled span that is an organisation or a country by the gazetteer or by
    its last word; else the decision unchanged."""
    if decision[0] != "PERSON" or alias_key(span_text(span)) in protected:
        return decision
    entry = gaz.lookup(span_text(span))
    if entry is not None and entry.kind in {"org", "country"}:
        return relink(_with_label(span, entry.label))
    heads = load_kinds().org_heads
    the = span.start > 0 and span.doc[span.start - 1].lower_ == "the"
    if span[-1].text in heads and (len(span) >= 2 or the):  # "Cal Fire", "the Herald"
        return relink(_with_label(span, "ORG"))
    return decision


def _follow_longer(
    spans: list[Span], decided: list[Decision], relink: Relink, protected: set[str]
) -> list[Decision]:
    """A person-labelled name that is a run of words of an organisation or of a named
    event in the article takes its kind ("Arch Coal" ~ "Arch Coal Inc.", "Trophy" ~
    "Champions Trophy")."""
    longer = [
        (f" {alias_key(span_text(s))} ", d[0])
        for s, d in zip(spans, decided, strict=True)
        if d[0] in {"ORG", "EVENT"} and len(s) >= 2
    ]
    if not longer:
        return decided
    out = list(decided)
    for i, (s, d) in enumerate(zip(spans, decided, strict=True)):
        key = alias_key(span_text(s))
        if d[0] != "PERSON" or key in protected:
            continue
        hit = next((lab for t, lab in longer if f" {key} " in t and t != f" {key} "), None)
        if hit is not None:
            out[i] = relink(_with_label(s, hit))
    return out


def _vote(spans: list[Span], decided: list[Decision], protected: set[str]) -> list[Decision]:
    """Mentions of one name take the label most of them have (a strict majority)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(spans):
        if decided[i][0] in _VOTERS:
            groups[alias_key(span_text(s))].append(i)
    out = list(decided)
    for key, idx in groups.items():
        if len(idx) < 2 or key in protected:
            continue
        counts = Counter(decided[i][0] for i in idx)
        (top, n), *rest = counts.most_common()
        if not rest or n <= rest[0][1]:
            continue
        model = next(decided[i] for i in idx if decided[i][0] == top)
        for i in idx:
            out[i] = model
    return out


def _teams(
    spans: list[Span], decided: list[Decision], gaz: Gazetteer, kinds: Kinds, protected: set[str]
) -> list[Decision]:
    """In a sport report, names used as teams become the club (an organisation); a
    club's city name is the club where the report names two or more clubs."""
    clubs = len({d[1].entity_id for d in decided if d[1].entity_id in gaz.club_ids})
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(spans):
        if decided[i][0] in _VOTERS:
            groups[alias_key(span_text(s))].append(i)
    out = list(decided)
    for key, idx in groups.items():
        if key in protected:
            continue
        entry = gaz.lookup(key)
        if entry is not None and entry.kind in {"country", "demonym", "org"}:
            continue  # a national team is its country; a known club is linked already
        if any(decided[i][0] == "PERSON" and " " in span_text(spans[i]) for i in idx):
            continue  # a full personal name is a player, whatever is around it
        club = gaz.sport_aliases.get(key)
        place = entry is not None and entry.kind in {"city", "capital", "region"}
        labels = {decided[i][0] for i in idx}
        named = club is not None or place or "ORG" in labels
        cues = (kinds.team_before, kinds.team_after)
        cued = any(team_cue(spans[i], *cues, strong=not named) for i in idx)
        known = club is not None and (labels <= {"PERSON", "ORG"} or clubs >= 2)
        if not (cued or known):
            continue
        if club is not None:
            link = Link(club.canonical, club.id, None)
        else:
            text = span_text(spans[idx[0]])
            link = Link(text, f"org:{slug(text)}", None)
        for i in idx:
            out[i] = ("ORG", link)
    return out


def _works(spans: list[Span], decided: list[Decision], kinds: Kinds) -> set[str]:
    """Names the article shows to be works or acts (`named_work`, and the next items of their
    list: "bands Keane and Bloc Party"): all their mentions are dropped ("Keane won")."""
    keys: set[str] = set()
    end = -1
    for span, (label, _) in zip(spans, decided, strict=True):
        if label not in {"PERSON", "ORG"}:
            continue
        listed = end >= 0 and in_list_after(span, end)
        if listed or named_work(span, kinds.work_before, kinds.act_after):
            keys.add(alias_key(span_text(span)))
            end = span.end
    return keys


def revise(
    doc: Doc,
    spans: list[Span],
    decided: list[Decision],
    gaz: Gazetteer,
    relink: Relink,
) -> tuple[list[Span], list[Decision]]:
    """The entities with their kinds decided (see the module doc); dropped ones removed.
    Each returned span carries the label of its decision."""
    kinds = load_kinds()
    cut = title_end(doc)
    headline = bool(cut) and title_cased(doc, cut)
    body_text = doc.text[cut:] if headline else ""
    body = [s for s in spans if s.start_char > cut] if headline else []
    full = [name.split() for name in _full_names(spans, gaz.person_titles)]
    surnames = {alias_key(words[-1]) for words in full}
    protected = surnames | {alias_key(words[0]) for words in full}  # first and last words
    kept_spans: list[Span] = []
    kept: list[Decision] = []
    works = _works(spans, decided, kinds)
    for span, decision in zip(spans, decided, strict=True):
        new = span
        textual = decision[0] in _TEXTUAL or span.label_ in {"ORG", "PERSON"}
        if textual:
            new = _trim_roles(_trim_prefix(_cut_at_punct(span, gaz)), kinds.role_words)
            new = _post_nominal_person(new, kinds.post_nominals) or new
            if decision[0] == "ORG":
                new = _trim_org_tail(new)
        if _score_start(new) != new.end:
            new = Span(doc, new.start, _score_start(new), label=new.label_)
        led = _demonym_led(new, gaz)
        if led is not None:
            kept_spans.append(led[0])
            kept.append(relink(led[0]))
            new = led[1]
        if textual and headline and new.end_char <= cut:
            cut_span = headline_span(new, body, body_text)
            if cut_span is None:
                continue
            new = cut_span
        if new is not span:
            decision = relink(new)
        if decision[0] in {"PERSON", "ORG"} and alias_key(span_text(new)) in works:
            continue
        listed = _listed(new, decision, relink, kinds, protected)
        if listed is not None:
            if not listed[0]:
                continue
            decision = listed
        else:
            decision = _beside_org_noun(new, decision, kinds)
            decision = _as_org(new, decision, gaz, relink, protected)
            decision = _as_person(new, decision, gaz, relink, surnames)
        kept_spans.append(new)
        kept.append(decision)
    kept = _follow_longer(kept_spans, kept, relink, protected)
    kept = _vote(kept_spans, kept, protected)
    if is_sport_report(doc, kinds) or any(d[1].entity_id in gaz.club_ids for d in kept):
        kept = _teams(kept_spans, kept, gaz, kinds, protected)
    return [_with_label(s, d[0]) for s, d in zip(kept_spans, kept, strict=True)], kept
