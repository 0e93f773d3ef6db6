"""Why an article matched a rule, in the words of the article's canonical fields. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.models import EnrichedArticle
from processors.rules.query import HIGHLIGHT_POST, HIGHLIGHT_PRE
from processors.rules.schema import Rule

MAX_SNIPPETS = 5


@dataclass(frozen=True)
class Explanation:
    """Why an article matched a rule, in the words of the article's canonical fields."""

    countries: list[str] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    matched_entities: list[str] = field(default_factory=list)
    """Canonical names of the entities that made it match."""
    matched_entity_ids: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    """Highlighted passages: Elasticsearch's highlights, then the evidence of the events."""
    reason: str = ""


def _leaves(node: Any) -> set[str]:
    if isinstance(node, Mapping):
        return set().union(*(_leaves(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_leaves(v) for v in node)) if node else set()
    return {node} if isinstance(node, str) else set()


def _mark(text: str, start: int, end: int) -> str:
    return text[:start] + HIGHLIGHT_PRE + text[start:end] + HIGHLIGHT_POST + text[end:]


def _evidence(record: EnrichedArticle, types: set[str], targets: set[str]) -> list[str]:
    out = []
    for ev in record.events:
        if ev.type not in types or (targets and ev.target not in targets) or not ev.evidence:
            continue
        snippet = ev.evidence
        if ev.trigger:
            m = re.search(rf"\b{re.escape(ev.trigger)}\w*", snippet, flags=re.IGNORECASE)
            if m:
                snippet = _mark(snippet, m.start(), m.end())
        if len(snippet) > 300:
            cut = snippet.find(HIGHLIGHT_PRE)
            lo = max(0, cut - 120) if cut >= 0 else 0
            snippet = ("…" if lo else "") + snippet[lo : lo + 300] + "…"
        if snippet not in out:
            out.append(snippet)
    return out


def explain(
    rule: Rule,
    record: EnrichedArticle,
    highlight: Mapping[str, Sequence[str]] | None = None,
    matched_queries: Sequence[str] = (),
) -> Explanation:
    """Why `record` matched `rule`, given the highlights and named clauses Elasticsearch
    returned for the hit."""
    q = rule.query
    if q.dsl is not None:
        leaves = _leaves(q.dsl)
        countries = [c for c in record.countries if c in leaves]
        event_types = [t for t in record.event_types if t in leaves]
        targets: set[str] = set()
        wanted_ids = leaves
        wanted_names = leaves
    else:
        targets = set(q.event_targets)
        countries = [c for c in record.countries if c in q.countries]
        event_types = [t for t in record.event_types if t in q.event_types]
        if targets and not event_types:
            event_types = sorted({e.type for e in record.events if e.target in targets})
        wanted_ids = set(q.entities) | targets
        wanted_names = set(q.persons) | set(q.organizations)
    matched_countries = set(countries) | {t for t in targets if ":" not in t}
    entities = [
        e
        for e in record.entities
        if e.id in wanted_ids
        or e.canonical in wanted_names
        or (e.country is not None and e.country in matched_countries)
    ]
    names = list(dict.fromkeys(e.canonical for e in entities))
    ids = list(dict.fromkeys(e.id for e in entities))

    snippets: list[str] = []
    hl = highlight or {}
    for fname in ("title", "body"):
        for frag in hl.get(fname, []):
            if frag not in snippets:
                snippets.append(frag)
    for snip in _evidence(record, set(event_types), targets):
        if snip not in snippets:
            snippets.append(snip)
    snippets = snippets[:MAX_SNIPPETS]

    parts: list[str] = []
    if countries:
        named_as = {
            c: list(dict.fromkeys(e.canonical for e in entities if e.country == c))
            for c in countries
        }
        parts.append(
            "names "
            + ", ".join(
                f"{c} ({', '.join(named_as[c][:4])})" if named_as[c] else c for c in countries
            )
        )
    if event_types:
        triggers = {
            t: sorted({e.trigger for e in record.events if e.type == t and e.trigger})
            for t in event_types
        }
        parts.append(
            "reports "
            + ", ".join(
                f"{t} ({', '.join(repr(x) for x in triggers[t][:3])})" if triggers[t] else t
                for t in event_types
            )
        )
    if targets:
        parts.append("against " + ", ".join(sorted(targets)))
    other = [n for n in names if not any(e.canonical == n and e.country for e in entities)]
    if other:
        parts.append("mentions " + ", ".join(other[:5]))
    if q.text:
        parts.append(f"contains {q.text!r}")
    named = [m for m in matched_queries if m not in {"countries", "event_types", "text"}]
    if q.dsl is not None and named:
        parts.append("clauses " + ", ".join(named))
    reason = f"{rule.name}: " + ("; ".join(parts) if parts else "the rule's query matched")
    return Explanation(
        countries=countries,
        event_types=event_types,
        matched_entities=names,
        matched_entity_ids=ids,
        snippets=snippets,
        reason=reason,
    )
