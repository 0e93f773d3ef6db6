"""Candidate pre-selection: the necessary terms of a rule's query, and whether an article has
them. This only skips rules that cannot match an article (as the percolator does with query
terms); whether an article matches is always decided by Elasticsearch. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from processors.models import EnrichedArticle

_RECORD_TERM_FIELDS = (
    "countries",
    "event_types",
    "entity_ids",
    "persons",
    "organizations",
    "event_actors",
    "language",
    "story_id",
)
"""Flat keyword fields without a normaliser: an exact set test in Python equals the term
test in Elasticsearch, so a rule requiring one of them can be skipped safely."""


def record_terms(record: EnrichedArticle) -> dict[str, set[str]]:
    """The article's values of the fields candidate selection looks at."""
    terms: dict[str, set[str]] = {}
    for name in _RECORD_TERM_FIELDS:
        value = getattr(record, name)
        if isinstance(value, list):
            terms[name] = {str(v) for v in value}
        else:
            terms[name] = {str(value)} if value is not None else set()
    terms["events.target"] = {e.target for e in record.events if e.target}
    return terms


Requirement = tuple[str, frozenset[str]]
"""A necessary condition: the article's `field` must hold one of these values."""


def _required_from_clause(clause: Any) -> Requirement | None:
    """What a single required clause needs (only plain term/terms on exact fields)."""
    if not isinstance(clause, Mapping) or len(clause) != 1:
        return None
    ((kind, body),) = clause.items()
    if kind not in {"term", "terms"} or not isinstance(body, Mapping):
        return None
    params = {k: v for k, v in body.items() if k not in {"_name", "boost"}}
    if len(params) != 1:
        return None
    ((fname, value),) = params.items()
    if fname not in _RECORD_TERM_FIELDS:
        return None
    if kind == "terms":
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return fname, frozenset(value)
        return None  # a terms lookup or odd values: cannot tell
    if isinstance(value, Mapping):
        if value.get("case_insensitive"):
            return None
        value = value.get("value")
    return (fname, frozenset({value})) if isinstance(value, str) else None


def required_terms(query: Mapping[str, Any]) -> list[Requirement]:
    """Necessary conditions of a query, each (field, values of which the article needs one).

    Conservative: only the top-level `bool`'s `filter` and `must` clauses that are plain
    `term`/`terms` queries on exact keyword fields count (a `terms` lookup, a
    `case_insensitive` term or anything under `should`/`must_not` is ignored). An empty list
    means every article is a candidate.
    """
    if set(query) == {"bool"} and isinstance(query["bool"], Mapping):
        required: list[Requirement] = []
        for section in ("filter", "must"):
            clauses = query["bool"].get(section) or []
            if isinstance(clauses, Mapping):
                clauses = [clauses]
            for clause in clauses:
                req = _required_from_clause(clause)
                if req is not None:
                    required.append(req)
        return required
    req = _required_from_clause(query)
    return [req] if req is not None else []


def is_candidate(required: Sequence[Requirement], terms: Mapping[str, set[str]]) -> bool:
    """Whether an article with these terms can match a rule with these requirements."""
    return all(terms.get(fname, set()) & values for fname, values in required)
