"""What keeps figurative, sporting and background uses of a trigger out of `event_types`.

Three layers, applied after a rule's lemma, part of speech and context matched
(`processors.events.rule_fits`):

- **Frames** (`frame_fits`): what a trigger verb takes as object. A goal, a win, a ball, a
  film or a deal is no victim ("fires Arsenal win", "was shot in South Africa", "struck a
  deal"); a rule names such objects in `object_not` (`events.yaml`, `&not_victims`), or
  says the verb must have an object (`needs_object`: "press Iran to ...") or must have
  none (`intransitive`: "demonstrated many attributes" is no protest). For the fragile
  types, a bare noun after "in" is a role or a manner (`role_noun`: "in attack").
- **Domain** (`quiet_share`): the share of an article's sentences that read like sport or
  entertainment (a score like "2-1", "match", "striker", "album", "film"). In such an
  article the figurative-prone types lose confidence in proportion (`domain_factor`);
  types whose triggers are rarely figurative (ARREST, DISASTER, AID, a ban) keep theirs.
- **Factuality** (`unrealised`): a trigger governed by a modal ("could attack", "will
  reach"), by "going to", or by a word of wanting, trying, failing or asking ("close to
  agreeing", "hopes to meet", "failed to reach a deal", "called for talks"), in a
  condition ("if they attack") or in a question, reports no event; it keeps a fraction of its
  confidence (`UNREALISED_FACTOR`). Not for the types FACETS.md counts when discussed,
  scheduled, threatened or pledged (SANCTION, ELECTION, THREATEN, AID; aid pledged is not
  hedged either: "said it would contribute").
- **Facet threshold** (`facet_types`): every detected event stays in `events` with its
  confidence; a type enters `event_types` only when its best event reaches
  `FACET_THRESHOLD`, so a lone weak trigger does not label the article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Protocol

from spacy.tokens import Doc, Token

FACET_THRESHOLD: Final = 0.55
"""Least confidence of a type's best event for the type to enter `event_types`."""

IMPLIED: Final[dict[str, str]] = {"TERROR_ATTACK": "ASSAULT"}
"""FACETS.md: "a terrorist or suicide attack or bombing (it is an ASSAULT too)"."""

FRAGILE: Final = frozenset(
    {
        "ASSAULT", "REQUEST", "SUPPORT", "REJECT", "THREATEN", "PROTEST",
        "CONSULT", "COOPERATE", "AGREE", "RETREAT", "MOBILIZE", "MISSILE_TEST",
    }
)  # fmt: skip
"""Types whose triggers ("attack", "fire", "back", "press", "sign") sport and showbiz use."""

QUIET_PENALTY: Final = 0.6
"""Confidence taken off a fragile event, times the article's sport/showbiz sentence share."""

_QUIET_CUES: Final = frozenset(
    {
        # sport; not words news uses too: "win", "race", "title", "league" (Arab League),
        # "squad" (death squad), "goal", "season" (fighting season), "defender", "coach"
        "match", "matches", "cup", "championship", "championships", "tournament", "striker",
        "midfielder", "goalkeeper", "semi-final", "quarter-final", "medal", "olympic",
        "olympics", "inning", "innings", "pitcher", "wicket", "rugby", "football", "soccer",
        "tennis", "cricket", "baseball", "golf", "athletics", "fixture", "premiership",
        "stadium", "unbeaten", "marathon", "sprinter", "nba", "nfl", "fifa", "uefa",
        "playoff", "playoffs",
        # entertainment
        "film", "films", "movie", "movies", "album", "band", "singer", "song", "songs",
        "actor", "actress", "oscar", "oscars", "grammy", "chart", "charts", "festival",
        "gig", "comedy", "sequel", "dvd", "hollywood", "concert", "box-office",
    }
)  # fmt: skip
UNREALISED_FACTOR: Final = 0.5
"""Confidence kept by an event its sentence does not report as real (`unrealised`)."""
_MODALS: Final = frozenset(
    {"could", "might", "may", "should", "must", "can", "will", "'ll", "wo", "would", "'d"}
)
_NOT_YET: Final = frozenset(
    {
        "hope", "want", "wish", "seek", "try", "attempt", "aim", "close", "likely",
        "unlikely", "fail", "refuse", "decline", "urge", "ask", "call", "demand", "press",
        "encourage", "appeal", "push", "propose", "proposal", "threaten", "ready", "willing",
        "prepared", "poised",
    }
)  # fmt: skip
"""Governors whose complement has not happened ("close to agreeing", "urged X to meet")."""
_AHEAD: Final = frozenset({"expect", "schedule", "due", "plan", "set", "slate"})
"""Verbs that put the event their subject names ahead ("talks are expected to begin")."""
_WARNED_OF: Final = frozenset({"warn", "caution", "fear", "prevent", "avert", "deter", "guard"})
"""Verbs whose prepositional object is an event feared, not reported ("warned of attacks")."""
_CONDITIONS: Final = frozenset({"if", "unless"})
_GOVERNED: Final = frozenset({"xcomp", "pcomp", "prep", "ccomp", "acl", "advcl"})
"""How a trigger hangs off a `_NOT_YET` governor ("a proposal to detain": acl)."""
_CLIMB: Final = frozenset({"dobj", "pobj", "prep", "pcomp", "xcomp", "attr", "nsubjpass", "agent"})
_COUNTED_UNREALISED: Final = frozenset({"SANCTION", "ELECTION", "THREATEN", "AID"})
_PLEDGED: Final = frozenset({"AID"})
_SCORE: Final = re.compile(r"^\d{1,3}-\d{1,3}$")
_QUIET_CUES_PER_SENT: Final = 1
"""A sentence with this many cue words (or a score) reads like sport or showbiz."""


class _Typed(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def confidence(self) -> float: ...


def frame_fits(
    token: Token, object_not: frozenset[str], needs_object: bool, intransitive: bool
) -> bool:
    """Whether a trigger's object (and "to"/"into"/"on"/"for" goal, and the verb of its
    clause: "refused to comment") allows the event reading.

    An object matches `object_not` by lemma, text or entity label ("money": "$1bn").
    """
    doc = token.doc
    if token.i > 1 and doc[token.i - 1].text == "-" and not doc[token.i - 2].whitespace_:
        return False  # "electro-clash": part of a hyphenated word
    if token.pos_ != "VERB":
        if not headline_verb(token):
            return True
        objects = _headline_objects(token)
        if needs_object and not objects:
            return False
        heads = {t.lemma_.lower() for t in objects} | {t.lower_ for t in objects}
        return not (intransitive and objects) and not heads & object_not
    objects = [c for c in token.children if c.dep_ in {"dobj", "nsubjpass"}]
    if needs_object and not objects:
        return False
    if intransitive and any(c.dep_ in {"dobj", "ccomp"} for c in token.children):
        return False  # "demonstrated many attributes", "history demonstrates that"
    if not object_not:
        return True
    goals = [
        g
        for c in token.children
        if c.dep_ in {"prep", "prt"} and c.lower_ in {"to", "into", "up", "on", "for"}
        for g in c.children
        if g.dep_ == "pobj"
    ]
    clauses = [c for c in token.children if c.dep_ == "xcomp"]  # "refused to comment"
    heads = {t.lemma_.lower() for t in (*objects, *goals, *clauses)} | {t.lower_ for t in objects}
    heads |= {t.ent_type_.lower() for t in (*objects, *goals) if t.ent_type_}  # "money"
    return not heads & object_not


def pos_fits(token: Token, allowed: frozenset[str]) -> bool:
    """Whether the trigger's part of speech is one a rule allows: a capitalised noun outside
    a name counts as a noun ("the General Election"), a `headline_verb` as a verb."""
    pos = "NOUN" if token.pos_ == "PROPN" and token.ent_type_ in {"", "EVENT"} else token.pos_
    return pos in allowed or ("VERB" in allowed and headline_verb(token))


def headline_verb(token: Token) -> bool:
    """A headline's verb the tagger took for a plural noun ("Kremlin rejects claims",
    "Howard attacks 'pay later'"): in the doc's first sentence, an -s noun right after a
    name and before more words."""
    sent = token.sent
    if sent.start != 0 or token.tag_ != "NNS" or token.pos_ != "NOUN" or token.i == 0:
        return False
    if token.i + 1 >= sent.end or not token.lower_.endswith("s"):
        return False
    prev = token.doc[token.i - 1]
    name = prev.pos_ == "PROPN" or (prev.is_title and prev.tag_ != "NNS")  # "Federer" as NN
    return name and not token.doc[token.i + 1].is_space


def _headline_objects(token: Token) -> list[Token]:
    """The nouns after a `headline_verb` up to a preposition, a verb or the end: its object
    ("rejects claims", "fires Arsenal win"; the tagger's -s verb or capitalised adjective
    there is a noun too)."""
    out = []
    for t in token.doc[token.i + 1 : token.sent.end]:
        nounish = t.tag_ == "VBZ" or (t.pos_ == "ADJ" and t.is_title)
        if not nounish and (
            t.pos_ in {"ADP", "VERB", "AUX", "PART", "SCONJ", "CCONJ"} or t.is_space
        ):
            break
        if nounish or t.pos_ in {"NOUN", "PROPN", "PRON", "NUM"}:
            out.append(t)
    return out


def role_noun(token: Token) -> bool:
    """A bare singular noun after "in": a role or a manner ("good moments in attack",
    "resigned in protest"), not the event ("killed in an attack", "in attacks on"). Checked
    for the fragile types only: "remanded in custody" is an arrest."""
    return (
        token.pos_ == "NOUN"
        and token.lower_ == token.lemma_.lower()  # singular
        and token.dep_ == "pobj"
        and token.head.lower_ == "in"
        and token.n_lefts + token.n_rights == 0
    )


_NAMES_ITS_EVENT: Final = frozenset({"ASSAULT", "PROTEST"})
"""Types whose trigger names an event that happened also as a modifier ("the bombing
suspect", "the explosion area", "strike action")."""
_NO_EVENT_HEADS: Final = frozenset(
    {
        "law", "laws", "legislation", "rate", "rates", "statistic", "statistics", "figure",
        "mystery", "novel", "thriller", "drama", "film", "movie", "game", "song", "vote",
        "helicopter", "dog", "gear", "shield", "simulator", "training", "drill",
        "warrant", "warrants", "reform", "reforms", "inmate", "inmates", "threat",
    }
)  # fmt: skip
"""Heads that such a modifier does not make an event ("murder laws", "attack helicopter",
"protest song", "riot gear")."""


def _after_its_quote(token: Token) -> bool:
    """A reporting verb after the quote it reports, its subject after it ('"...," agreed
    Cram'): it says who spoke, not that anyone agreed to anything."""
    left = any(c.dep_ == "ccomp" and c.i < token.i for c in token.children)
    return left and any(c.dep_ == "nsubj" and c.i > token.i for c in token.children)


def _named_as_cause(token: Token) -> bool:
    """The object of "due to", "because of" or "owing to": a cause named in passing."""
    prep = token.head
    return (
        token.dep_ == "pobj"
        and prep.lower_ in {"to", "of"}
        and (prep.head.lower_ in {"due", "because", "owing"})
    )


def figurative(token: Token, event_type: str, particles: frozenset[str]) -> bool:
    """Whether a trigger reads as no event: a fragile type's bare noun after "in"
    (`role_noun`), adjective after a copula ("become withdrawn") or modifier of another
    noun ("sign language"), an agreement verb after
    its quote ('"...," agreed Cram'), a disaster named only as a cause ("due to
    hurricanes"), or a verb with one of the rule's `particles` ("sign
    up", "back down")."""
    if event_type in FRAGILE and (role_noun(token) or token.dep_ == "acomp"):
        return True  # "in attack"; "has since become withdrawn"
    if token.dep_ == "compound" and (
        event_type in FRAGILE - _NAMES_ITS_EVENT or token.head.lemma_.lower() in _NO_EVENT_HEADS
    ):
        return True  # "sign language", "murder laws"; not "strike action", "bombing suspect"
    if event_type == "AGREE" and _after_its_quote(token):
        return True
    if event_type == "DISASTER" and _named_as_cause(token):
        return True  # "postponed due to the pandemic": background (FACETS.md)
    return any(c.dep_ == "prt" and c.lower_ in particles for c in token.children)


def unrealised(token: Token, event_type: str) -> bool:
    """Whether the trigger's clause leaves the event unrealised: a modal on the trigger or on
    the verb it depends on, or a governor of wanting, trying, failing or asking above it
    (climbing from a noun to its verb: "close to reaching a deal")."""
    if event_type in _COUNTED_UNREALISED or any(c.dep_ == "neg" for c in token.children):
        return False  # "will not give in": a refusal stated is made
    if token.sent.text.rstrip(" \"'’”").endswith("?") or _conditional(token):
        return True
    if _headline_future(token) or _imperative(token):
        return True
    if token.pos_ == "NOUN" and any(c.dep_ == "det" and c.lower_ == "no" for c in token.children):
        return True  # "no arrests have been made"
    before = token.doc[max(token.sent.start, token.i - 3) : token.i]
    if token.sent.start == 0 and any(t.lower_ == "not" for t in before):
        return True  # a headline's "Cloud Not From Nuclear Blast"
    if token.pos_ == "NOUN" and any(_coming(c) for c in token.children):
        return True  # "the talks next week"
    node = token
    for _ in range(4):
        if any(c.dep_ == "aux" and c.lower_ in _MODALS for c in node.children):
            return True
        head = node.head
        if head.i == node.i:
            return False
        if node.dep_ in _GOVERNED and head.lemma_.lower() in _NOT_YET:
            return True
        if node.dep_ == "prep" and head.lemma_.lower() in _WARNED_OF:
            return True  # "warned against an attack", "to prevent attacks"
        if node.dep_ == "xcomp" and head.lower_ in {"going", "is", "are"}:
            return True  # "are going to be detained", "the Cabinet is to meet"
        if node.dep_ in {"nsubj", "nsubjpass"} and head.lemma_.lower() in _AHEAD:
            return True  # "talks are expected to begin", "a vote scheduled for May"
        negated_head = any(c.dep_ == "neg" for c in head.children)
        if token.pos_ == "NOUN" and negated_head and node.dep_ not in {"nsubj", "nsubjpass"}:
            return True  # "was not caused by a nuclear explosion"; not "was not linked"
        if node.dep_ not in _CLIMB:
            return False
        node = head
    return False


def _headline_future(token: Token) -> bool:
    """A headline's "X to VERB", its future ("Kinnock to urge reform", "Blair to meet Bush"):
    an infinitive that is the root, or the clause of the name before it, of the first
    sentence."""
    if token.sent.start != 0 or token.pos_ != "VERB":
        return False
    if not any(c.dep_ == "aux" and c.lower_ == "to" for c in token.children):
        return False
    return token.dep_ == "ROOT" or (token.dep_ in {"relcl", "acl"} and token.head.dep_ == "ROOT")


def _coming(token: Token) -> bool:
    """A time ahead: "next week", "next month", "coming days"."""
    return token.lemma_.lower() in _TIME_UNITS and any(
        c.lower_ in {"next", "coming"} for c in token.children
    )


_TIME_UNITS: Final = frozenset({"week", "month", "year", "day", "weekend", "spring", "summer"})


def _imperative(token: Token) -> bool:
    """A sentence that opens with its verb and has no subject asks for the event ("Arrest
    Modi under Poto", "Stop the war"): a demand, not a report."""
    starts = token.i == token.sent.start or (
        token.i == token.sent.start + 1 and token.doc[token.i - 1].is_quote
    )
    subject = any(c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in token.children)
    return starts and token.tag_ == "VB" and token.dep_ in {"ROOT", "ccomp"} and not subject


def _conditional(token: Token) -> bool:
    """Whether the trigger's clause is a condition or depends on one ("if they attack",
    "if they have none, they will be detained")."""
    for node in (token, *token.ancestors):
        for c in node.children:
            if c.dep_ == "mark" and c.lower_ in _CONDITIONS:
                return True
            if c.dep_ == "advcl" and any(
                m.dep_ == "mark" and m.lower_ in _CONDITIONS for m in c.children
            ):
                return True
    return False


def realis(token: Token, event_type: str, hedges: frozenset[str], hedge_factor: float) -> float:
    """Multiplier of an event's confidence: `UNREALISED_FACTOR` when `unrealised`, times
    `hedge_factor` when a hedge word stands in its sentence ("possible", "likely", "would"),
    except for aid: FACETS.md counts aid pledged ("said it would contribute $25,000")."""
    if event_type in _PLEDGED:
        return 1.0
    hedged = any(t.lemma_.lower() in hedges for t in token.sent if t.i != token.i)
    return (UNREALISED_FACTOR if unrealised(token, event_type) else 1.0) * (
        hedge_factor if hedged else 1.0
    )


def quiet_share(doc: Doc) -> float:
    """Share of the doc's sentences that read like sport or entertainment reporting.

    A sentence does with a score ("2-1") or a word only sport and showbiz use ("match",
    "striker", "album"); words politics shares ("win", "campaign") do not count.
    """
    sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
    if not sents:
        return 0.0
    quiet = 0
    for sent in sents:
        cues = sum(t.lower_ in _QUIET_CUES for t in sent)  # word forms: "filmed" is news
        if cues >= _QUIET_CUES_PER_SENT or any(_SCORE.match(t.text) for t in sent):
            quiet += 1
    return quiet / len(sents)


def domain_factor(event_type: str, quiet: float) -> float:
    """Multiplier of a fragile event's confidence in an article of this sport/showbiz share."""
    if event_type not in FRAGILE:
        return 1.0
    return 1.0 - QUIET_PENALTY * quiet


def facet_types(events: Iterable[_Typed], threshold: float = FACET_THRESHOLD) -> list[str]:
    """The `event_types` facet: types whose best event reaches `threshold` (and implied ones)."""
    kept = {e.type for e in events if e.confidence >= threshold}
    kept |= {IMPLIED[t] for t in kept if t in IMPLIED}
    return sorted(kept)
