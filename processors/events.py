"""Event detection: PLOVER-aligned types with source and target actors.

`wirewatch_events` (after `wirewatch_linker`) finds trigger words by lemma and part of
speech, as listed in the reviewed rule file `processors/data/events.yaml`, then reads the
actors off the dependency parse: a verb's subject is the source and its object or the
object of a listed preposition the target; a noun trigger takes its source from a
possessor or modifier ("Pyongyang's test", "U.S. sanctions"), from "by ...", or from the
subject of the verb it is the object of ("Japan imposed sanctions on ..."). Actors are
canonical: a country code for places, nationalities and people whose nationality the text
gives ("Japanese Foreign Minister Fumio Kishida" -> JP), else the organisation's id.
Results are in `doc._.events`. Figurative and sporting uses are kept out by the trigger's
frame and the article's domain (`processors.event_filter`); `facet_types` builds the
`event_types` facet from the events confident enough.
"""

# No `from __future__ import annotations`: spaCy validates factory signatures at runtime.
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from processors import event_filter
from processors.components import LABELS
from processors.event_filter import domain_factor, figurative, frame_fits, quiet_share, realis
from processors.event_filter import facet_types as facet_types  # the `event_types` facet
from processors.gazetteer import Gazetteer, load_gazetteer, read_data

_SUBJECTS: Final = frozenset({"nsubj", "nsubjpass", "csubj"})
_MODIFIERS: Final = frozenset({"poss", "compound", "amod", "nmod", "npadvmod"})
_DEFAULT_POS: Final = frozenset({"NOUN", "VERB"})
_TITLE_LABELS: Final = frozenset({"WORK_OF_ART", "PRODUCT", "LAW"})

if not Doc.has_extension("events"):
    Doc.set_extension("events", default=None)


@dataclass(frozen=True, slots=True)
class EventRule:
    """One trigger rule from `events.yaml`."""

    type: str
    lemmas: frozenset[str]
    pos: frozenset[str] = _DEFAULT_POS
    context: frozenset[str] = frozenset()
    context_not: frozenset[str] = frozenset()
    window: int = 3
    requires_child: frozenset[str] = frozenset()
    governed_by: frozenset[str] = frozenset()
    not_governed_by: frozenset[str] = frozenset()
    target_preps: frozenset[str] = frozenset({"on", "against"})
    symmetric: bool = False
    confidence: float = 0.5
    object_not: frozenset[str] = frozenset()
    needs_object: bool = False
    intransitive: bool = False
    particle_not: frozenset[str] = frozenset()  # "sign up", "back down"
    negated: bool = False  # fires only on a negated trigger ("will not give in")


@dataclass(frozen=True)
class EventRules:
    """The whole rule file, parsed."""

    version: str
    cameo: dict[str, str | None]
    rules: tuple[EventRule, ...]
    hedges: frozenset[str]
    hedge_factor: float
    person_pronouns: frozenset[str]
    pronoun_window: int
    by_lemma: dict[str, tuple[EventRule, ...]] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)
    """News type -> its PLOVER parent (TERROR_ATTACK -> ASSAULT)."""


@dataclass(frozen=True, slots=True)
class DetectedEvent:
    """An event found in a doc; offsets are into `doc.text`."""

    type: str
    cameo: str | None
    source: str | None
    target: str | None
    confidence: float
    trigger: str
    sent_start: int
    sent_end: int


@lru_cache(maxsize=1)
def load_event_rules() -> EventRules:
    """Parse `processors/data/events.yaml` once per process."""
    return parse_event_rules(read_data("events.yaml"))


def parse_event_rules(data: dict[str, Any]) -> EventRules:
    types: dict[str, Any] = data["types"]
    rules: list[EventRule] = []
    for i, r in enumerate(data["rules"]):
        if r["type"] not in types:
            raise ValueError(f"events.yaml rule {i}: unknown type {r['type']!r}")
        for key, value in r.items():
            if isinstance(value, list) and any(isinstance(x, bool) for x in value):
                raise ValueError(f"events.yaml rule {i}: {key} has a bare yes/no/on/off; quote it")

        def low(key: str, r: dict[str, Any] = r) -> frozenset[str]:
            return frozenset(str(x).lower() for x in r.get(key, []) or [])

        rules.append(
            EventRule(
                type=r["type"],
                lemmas=low("lemmas"),
                pos=frozenset(r.get("pos", _DEFAULT_POS)),
                context=low("context"),
                context_not=low("context_not"),
                window=int(r.get("window", 3)),
                requires_child=low("requires_child"),
                governed_by=low("governed_by"),
                not_governed_by=low("not_governed_by"),
                target_preps=low("target_preps") or frozenset({"on", "against"}),
                symmetric=bool(r.get("symmetric", False)),
                confidence=float(r.get("confidence", 0.5)),
                object_not=low("object_not"),
                needs_object=bool(r.get("needs_object", False)),
                intransitive=bool(r.get("intransitive", False)),
                particle_not=low("particle_not"),
                negated=bool(r.get("negated", False)),
            )
        )
    by_lemma: dict[str, list[EventRule]] = {}
    for rule in rules:
        for lemma in rule.lemmas:
            by_lemma.setdefault(lemma, []).append(rule)
    return EventRules(
        version=str(data.get("version", "0")),
        cameo={k: (None if v.get("cameo") is None else str(v["cameo"])) for k, v in types.items()},
        rules=tuple(rules),
        hedges=frozenset(str(h).lower() for h in data.get("hedges", [])),
        hedge_factor=float(data.get("hedge_factor", 0.85)),
        person_pronouns=frozenset(data.get("person_pronouns", [])),
        pronoun_window=int(data.get("pronoun_window", 2)),
        by_lemma={k: tuple(v) for k, v in by_lemma.items()},
        parent={k: str(v["parent"]) for k, v in types.items() if v.get("parent")},
    )


def _governor(token: Token) -> Token | None:
    """The verb a noun trigger is the object of ("imposed sanctions" -> imposed)."""
    if token.dep_ in {"dobj", "pobj", "attr", "nsubjpass", "conj"} and token.head is not token:
        head = token.head
        if head.dep_ == "prep":
            head = head.head
        return head
    return None


def rule_fits(rule: EventRule, token: Token) -> bool:
    """Whether `rule` fires on `token` (lemma and part of speech already matched); a
    headline's verb tagged as a noun is taken for the verb (`headline_verb`)."""
    if not event_filter.pos_fits(token, rule.pos):
        return False
    keys = [{c.lower_, f"dep:{c.dep_}"} for c in token.children]  # "dep:xcomp": "asked X to"
    if rule.requires_child and not any(k & rule.requires_child for k in keys):
        return False
    if rule.context or rule.context_not:
        sent = token.sent
        lo, hi = max(sent.start, token.i - rule.window), min(sent.end, token.i + rule.window + 1)
        near = {t.lemma_.lower() for t in token.doc[lo:hi]} | {t.lower_ for t in token.doc[lo:hi]}
        near.discard(token.lemma_.lower())
        if rule.context and not near & rule.context:
            return False
        if near & rule.context_not:
            return False
    if not frame_fits(token, rule.object_not, rule.needs_object, rule.intransitive):
        return False
    if figurative(token, rule.type, rule.particle_not):
        return False
    gov = _governor(token)
    gov_lemma = gov.lemma_.lower() if gov is not None else ""
    if rule.governed_by and gov_lemma not in rule.governed_by:
        return False
    return not (rule.not_governed_by and gov_lemma in rule.not_governed_by)


class _Actors:
    """Resolves tokens to canonical actors within one doc."""

    def __init__(self, doc: Doc, gazetteer: Gazetteer, rules: EventRules) -> None:
        self.doc = doc
        self.gazetteer = gazetteer
        self.rules = rules
        self.ent_at: dict[int, Span] = {}
        for ent in doc.ents:
            if ent.label_ in LABELS:
                for i in range(ent.start, ent.end):
                    self.ent_at[i] = ent
        self.affiliation = self._affiliations()

    def _affiliations(self) -> dict[str, str]:
        """Person canonical name -> country, from the words around its first description."""
        out: dict[str, str] = {}
        for ent in self.doc.ents:
            if ent.label_ != "PERSON" or ent._.canonical in out:
                continue
            lo, hi = max(ent.sent.start, ent.start - 8), min(ent.sent.end, ent.end + 12)
            for tok in ent.root.subtree:
                if not lo <= tok.i < hi or ent.start <= tok.i < ent.end:
                    continue
                other = self.ent_at.get(tok.i)
                if other is not None and other.label_ != "PERSON" and other._.country:
                    out[str(ent._.canonical)] = str(other._.country)
                    break
        return out

    def of_entity(self, ent: Span) -> str | None:
        if ent.label_ == "PERSON":
            return self.affiliation.get(str(ent._.canonical)) or ent._.entity_id
        entity_id = ent._.entity_id
        if ent.label_ == "ORG" and entity_id and entity_id in self._gazetteer_orgs():
            return str(entity_id)
        if ent._.country:
            return str(ent._.country)
        return str(entity_id) if entity_id else None

    @lru_cache(maxsize=1)  # noqa: B019 - one instance per doc, dropped with it
    def _gazetteer_orgs(self) -> frozenset[str]:
        return frozenset(e.id for e in self.gazetteer.by_key.values() if e.kind == "org")

    def of_token(self, tok: Token) -> str | None:
        ent = self.ent_at.get(tok.i)
        if ent is not None:
            return self.of_entity(ent)
        if tok.lower_ in self.rules.person_pronouns:
            return self._pronoun(tok)
        if tok.pos_ in {"NOUN", "PROPN"}:
            org = self.gazetteer.anaphora.get(tok.lower_)
            if org is not None and any(
                e._.entity_id == org for e in self.doc.ents if e.start < tok.i
            ):
                return org
            for child in tok.children:  # "the U.S. side", "Japanese officials"
                if child.dep_ in _MODIFIERS and child.i in self.ent_at:
                    return self.of_entity(self.ent_at[child.i])
        return None

    def _pronoun(self, tok: Token) -> str | None:
        sents = list(self.doc.sents)
        idx = next(i for i, s in enumerate(sents) if s.start <= tok.i < s.end)
        floor = sents[max(0, idx - self.rules.pronoun_window)].start
        for ent in reversed(self.doc.ents):
            if ent.label_ == "PERSON" and floor <= ent.start < tok.i:
                return self.of_entity(ent)
        return None

    def all_of(self, tok: Token) -> list[str]:
        """Actors of a token and its conjuncts ("the United States and South Korea")."""
        out: list[str] = []
        for t in (tok, *tok.conjuncts):
            actor = self.of_token(t)
            if actor is not None and actor not in out:
                out.append(actor)
        return out


def _subject(verb: Token) -> Token | None:
    """The subject of a verb, climbing through xcomp/conj/aux chains."""
    seen = 0
    while seen < 4:
        for c in verb.children:
            if c.dep_ in _SUBJECTS and c.dep_ != "nsubjpass":
                return c
            if c.dep_ == "agent":
                return next((g for g in c.children if g.dep_ == "pobj"), None)
        if verb.dep_ in {"xcomp", "conj", "advcl", "pcomp"} and verb.head is not verb:
            verb = verb.head
            seen += 1
            continue
        return None
    return None


def _prep_objects(token: Token, preps: frozenset[str]) -> Iterator[Token]:
    for c in token.children:
        if c.dep_ in {"prep", "agent"} and c.lower_ in preps:
            yield from (g for g in c.children if g.dep_ == "pobj")


def actors_for(token: Token, rule: EventRule, resolve: _Actors) -> tuple[list[str], list[str]]:
    """(sources, targets) of a trigger, read off the dependency parse."""
    sources: list[str] = []
    targets: list[str] = []

    def add(into: list[str], toks: Sequence[Token] | Iterator[Token]) -> None:
        for t in toks:
            for a in resolve.all_of(t):
                if a not in into:
                    into.append(a)

    if token.pos_ == "VERB":
        subj = _subject(token)
        add(sources, [subj] if subj is not None else [])
        add(targets, [c for c in token.children if c.dep_ in {"dobj", "nsubjpass"}])
        add(targets, _prep_objects(token, rule.target_preps))
    else:
        add(sources, [c for c in token.children if c.dep_ in _MODIFIERS])
        add(sources, _prep_objects(token, frozenset({"by", "from"})))
        add(targets, _prep_objects(token, rule.target_preps))
        gov = _governor(token)
        if gov is not None and gov.pos_ in {"VERB", "AUX"}:
            if not sources:
                subj = _subject(gov)
                add(sources, [subj] if subj is not None else [])
            if not targets:
                add(targets, _prep_objects(gov, rule.target_preps))
    targets = [t for t in targets if t not in sources]
    return sources, targets


class EventDetector:
    """The `wirewatch_events` component."""

    def __init__(self, name: str, rules: EventRules, gazetteer: Gazetteer) -> None:
        self.name = name
        self.rules = rules
        self.gazetteer = gazetteer

    def __call__(self, doc: Doc) -> Doc:
        resolve = _Actors(doc, self.gazetteer, self.rules)
        quiet = quiet_share(doc)
        found: dict[tuple[str, str | None, str | None], DetectedEvent] = {}
        for token in doc:
            candidates = self.rules.by_lemma.get(token.lemma_.lower()) or self.rules.by_lemma.get(
                token.lower_
            )
            if not candidates or token.dep_ == "amod":  # "alleged incidents" is no accusation
                continue
            if token.ent_type_ in _TITLE_LABELS:  # "Meet the Fockers" is a film, not a meeting
                continue
            neg = any(c.dep_ == "neg" for c in token.children)  # only `negated` rules fire
            rules = (r for r in self._ordered(candidates) if r.negated == neg)
            rule = next((r for r in rules if rule_fits(r, token)), None)
            if rule is None:
                continue
            sources, targets = actors_for(token, rule, resolve)
            if rule.symmetric and len(sources) > 1 and not targets:
                sources, targets = sources[:1], sources[1:]  # "Kishida and Carr agreed"
            conf = rule.confidence + 0.1 * bool(sources) + 0.1 * bool(targets)
            sent = token.sent
            conf *= domain_factor(rule.type, quiet)
            conf *= realis(token, rule.type, self.rules.hedges, self.rules.hedge_factor)
            conf = round(min(conf, 0.95), 3)
            src_options: list[str | None] = [*sources] or [None]
            tgt_options: list[str | None] = [*targets] or [None]
            for src in src_options:
                for tgt in tgt_options:
                    if src is not None and src == tgt:
                        continue
                    key = (rule.type, src, tgt)
                    if rule.symmetric and src is not None and tgt is not None:
                        key = (rule.type, *sorted((src, tgt)))  # type: ignore[assignment]
                    ev = DetectedEvent(
                        type=rule.type, cameo=self.rules.cameo.get(rule.type), source=src,
                        target=tgt, confidence=conf, trigger=token.text,
                        sent_start=sent.start_char, sent_end=sent.end_char,
                    )  # fmt: skip
                    held = found.get(key)
                    if held is None or ev.confidence > held.confidence:
                        found[key] = ev
        doc._.events = _drop_subsumed(list(found.values()))
        return doc

    def _ordered(self, candidates: Sequence[EventRule]) -> list[EventRule]:
        order = {id(r): i for i, r in enumerate(self.rules.rules)}
        return sorted(candidates, key=lambda r: order[id(r)])


def _drop_subsumed(events: list[DetectedEvent]) -> list[DetectedEvent]:
    """Drop an event of a type whose actors are a subset of another event of that type."""
    out = []
    for ev in events:
        better = any(
            o is not ev and o.type == ev.type
            and (ev.source is None or ev.source in (o.source, o.target))
            and (ev.target is None or ev.target in (o.source, o.target))
            and (o.source, o.target) != (ev.source, ev.target)
            and (ev.source is None or ev.target is None)
            for o in events
        )  # fmt: skip
        if not better:
            out.append(ev)
    return sorted(out, key=lambda e: (e.sent_start, e.type))


@Language.factory("wirewatch_events", default_config={})
def make_event_detector(nlp: Language, name: str) -> EventDetector:
    return EventDetector(name, load_event_rules(), load_gazetteer())
