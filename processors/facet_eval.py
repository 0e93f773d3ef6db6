"""Scoring of the document-level facets against gold written to FACETS.md.

Pure: gold records and predicted facets come in as data (`streams/cli_enrich.py` reads the
files). Per facet, micro precision, recall and F1 over articles, with the matching rules of
FACETS.md ("Scoring"):

- persons: exact after light normalisation (case, accents, dots, spaces around hyphens);
- organizations: also by acronym ("UN" ~ "United Nations") or when one name contains the
  other as whole words ("Pixar" ~ "Pixar Animation Studios"); each predicted value matches
  at most one gold value, so a second value for an organisation already matched is a false
  positive (the facet split it in two);
- countries and event types: exact.

Also the share of "quiet" articles (sport, entertainment, lifestyle, science) that carry any
event type, predicted and gold: in real news about one in five of them reports an event.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from processors.evaluation import prf

FACETS: Final = ("persons", "organizations", "countries", "event_types")
QUIET_DOMAINS: Final = frozenset({"sport", "entertainment", "lifestyle", "science", "tech/science"})
"""Domains whose articles mostly report no event ("tech/science" is the gold set's science)."""
_STOPWORDS: Final = frozenset({"of", "the", "and", "for", "de", "&"})
_HYPHEN = re.compile(r"\s*[-‐‑–]\s*")
_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[.,'’()]")


@dataclass(frozen=True)
class GoldFacets:
    """One gold line: an article id, its four facets and its domain."""

    id: str
    persons: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    domain: str = ""
    """politics, business, sport, entertainment, tech/science or world."""

    def facet(self, name: str) -> tuple[str, ...]:
        values: tuple[str, ...] = getattr(self, name)
        return values


def gold_from_mapping(obj: Mapping[str, Any]) -> GoldFacets | None:
    """A gold record from one decoded JSON line, or None when it is not one.

    Needs a non-empty string `id`; each facet present must be a list of strings.
    """
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        return None
    facets: dict[str, tuple[str, ...]] = {}
    for name in FACETS:
        values = obj.get(name, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None
        facets[name] = tuple(values)
    domain = obj.get("domain", "")
    return GoldFacets(id=rid, domain=domain if isinstance(domain, str) else "", **facets)


def normalise_name(name: str) -> str:
    """Casefolded, accents and dots dropped, no spaces around hyphens, single spaces.

    "Kim Jong - Un" -> "kim jong-un", "Slobodan Milošević" -> "slobodan milosevic",
    "George W. Bush" -> "george w bush", "U.N." -> "un".
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _HYPHEN.sub("-", text.casefold())
    text = re.sub(r"(?<=\w)\.(?=\w)", "", text)  # "u.n." -> "un." before dots become spaces
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def acronym(name: str) -> str:
    """Initials of the normalised name's words, stopwords left out ("United Nations" -> "un")."""
    words = [w for w in re.split(r"[ -]", normalise_name(name)) if w and w not in _STOPWORDS]
    return "".join(w[0] for w in words) if len(words) > 1 else ""


def _contains(long: str, short: str) -> bool:
    """Whether `short`'s words occur as a run of whole words in `long` (both normalised)."""
    return bool(short) and f" {short} " in f" {long} "


def organisations_match(gold: str, pred: str) -> bool:
    """Same organisation under FACETS.md: same normalised name, acronym, or containment."""
    g, p = normalise_name(gold), normalise_name(pred)
    if not g or not p:
        return False
    if g == p:
        return True
    g_compact, p_compact = g.replace(" ", ""), p.replace(" ", "")
    if g_compact == acronym(pred) or p_compact == acronym(gold):
        return True
    return _contains(g, p) or _contains(p, g)


Matcher = Callable[[str, str], bool]


def _unique(values: Iterable[str], key: Callable[[str], str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        k = key(v)
        if k and k not in seen:
            seen.add(k)
            out.append(v)
    return out


def match_values(
    gold: Sequence[str], pred: Sequence[str], facet: str
) -> tuple[list[str], list[str], list[str]]:
    """(matched gold, false predicted, missed gold) of one article's facet.

    Each predicted value matches at most one gold value; exact (normalised) matches are
    taken before fuzzy ones, so "UN" next to "United Nations" in the output is the split
    value, not the match.
    """
    key: Callable[[str], str] = (
        normalise_name if facet in ("persons", "organizations") else str.upper
    )
    golds, free = _unique(gold, key), _unique(pred, key)
    fuzzy: Matcher | None = organisations_match if facet == "organizations" else None
    matched: list[str] = []
    missed: list[str] = []
    for g in golds:
        hit = next((p for p in free if key(p) == key(g)), None)
        if hit is None and fuzzy is not None:
            hit = next((p for p in free if fuzzy(g, p)), None)
        if hit is None:
            missed.append(g)
        else:
            matched.append(g)
            free.remove(hit)
    return matched, free, missed


def _is_quiet(rec: GoldFacets) -> bool:
    return rec.domain.casefold() in QUIET_DOMAINS


def score_facets(
    pairs: Iterable[tuple[GoldFacets, Mapping[str, Sequence[str]]]],
) -> dict[str, Any]:
    """Micro P/R/F1 per facet, the quiet-article event share, and every error by article.

    `pairs` are (gold, predicted facets); a facet missing from the prediction is empty.
    """
    counts = {f: [0, 0, 0] for f in FACETS}
    errors: list[dict[str, Any]] = []
    quiet = quiet_pred = quiet_gold = articles = 0
    for gold, pred in pairs:
        articles += 1
        article_errors: dict[str, Any] = {}
        for f in FACETS:
            matched, false, missed = match_values(gold.facet(f), list(pred.get(f, [])), f)
            c = counts[f]
            c[0], c[1], c[2] = c[0] + len(matched), c[1] + len(false), c[2] + len(missed)
            if false or missed:
                article_errors[f] = {"false": false, "missed": missed}
        if article_errors:
            errors.append({"id": gold.id, **article_errors})
        if _is_quiet(gold):
            quiet += 1
            quiet_pred += bool(pred.get("event_types"))
            quiet_gold += bool(gold.event_types)
    facets = {
        f: {**prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}
        for f, (tp, fp, fn) in counts.items()
    }
    return {
        "articles": articles,
        "facets": facets,
        "quiet_event_share": {
            "articles": quiet,
            "predicted": round(quiet_pred / quiet, 4) if quiet else 0.0,
            "gold": round(quiet_gold / quiet, 4) if quiet else 0.0,
        },
        "errors": errors,
    }
