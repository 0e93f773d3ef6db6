"""Faceted search over the `articles` alias: the request builder and the result shaper.

`build_request` is pure (filters and facets in, an Elasticsearch request body out) so the unit
tier can check it without a node; `search` runs it and returns a JSON-friendly result that the
CLI prints as a table or as JSON. The semantics follow Kibana Discover: the query string is
`simple_query_string` over title and body, each filter is a separate clause that must hold (so
`--country KP --country JP` means articles naming both, like two filter pills), and facet counts
are computed over the filtered hits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from elasticsearch import Elasticsearch

from processors.errors import WirewatchError

HIGHLIGHT_PRE = "«"
HIGHLIGHT_POST = "»"
QUERY_FIELDS = ["title^3", "body"]
MAX_RESULT_WINDOW = 10_000
"""Elasticsearch's default `index.max_result_window`: `from + size` may not exceed it."""

FACET_FIELDS: dict[str, str] = {
    "countries": "countries",
    "persons": "persons",
    "organizations": "organizations",
    "places": "places",
    "event_types": "event_types",
    "event_actors": "event_actors",
    "entity_ids": "entity_ids",
    "source": "source",
    "language": "language",
    "story_id": "story_id",
}
"""Facet name (as given to `--facet`) -> flat keyword field of the index template."""
FACET_ALIASES = {"sources": "source", "events": "event_types", "people": "persons"}

Sort = Literal["relevance", "newest", "oldest"]
_RELATIVE = re.compile(r"^(\d+)([mhdwMy])$")


class InvalidSearch(WirewatchError):
    """The search cannot be run as given (bad filter value, unbalanced query, page too deep)."""


@dataclass(frozen=True)
class SearchFilters:
    """Filters of one search; every value given must hold (AND), like Kibana filter pills."""

    countries: tuple[str, ...] = ()
    """ISO 3166-1 alpha-2 codes (case-insensitive on input)."""
    event_types: tuple[str, ...] = ()
    """Event types such as SANCTION or NUCLEAR_TEST (case-insensitive on input)."""
    persons: tuple[str, ...] = ()
    """Canonical person names, e.g. "Fumio Kishida" (matched case-insensitively)."""
    organizations: tuple[str, ...] = ()
    """Canonical organisation names (matched case-insensitively)."""
    sources: tuple[str, ...] = ()
    """Publisher names; the `source` field's normaliser makes them case-insensitive."""
    event_targets: tuple[str, ...] = ()
    """Actor an event is done *to* (country code or entity id), checked inside one event
    together with `event_types` (a nested query): "sanctions against KP"."""
    story_id: str | None = None
    since: str | None = None
    """Lower bound on `published_at`: a relative span (`7d`, `24h`, `2w`) or an ISO date."""
    until: str | None = None
    """Upper bound on `published_at`, same forms as `since`."""

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SearchRequest:
    """Everything one search needs besides the client and the alias."""

    query: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    facets: tuple[str, ...] = ()
    facet_size: int = 10
    size: int = 10
    page: int = 1
    sort: Sort | None = None
    """None: by relevance when there is a query string, else newest first."""


def date_bound(value: str) -> str:
    """A `--since`/`--until` value as Elasticsearch date math or an ISO timestamp.

    `7d` -> `now-7d` (units m, h, d, w, M, y as in Elasticsearch date math); an ISO date or
    timestamp is checked and passed on. Anything else raises `InvalidSearch`.
    """
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        return f"now-{match.group(1)}{match.group(2)}"
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSearch(
            f"cannot read {value!r} as a time: use a span such as 7d, 24h, 2w, 30m "
            "or an ISO date such as 2024-05-01"
        ) from None
    return text


def check_query(query: str) -> None:
    """Reject query strings `simple_query_string` would silently misread.

    Elasticsearch never fails on these: an unclosed quote or bracket just changes what is
    searched. Saying so is kinder than returning surprising hits.
    """
    if query.count('"') % 2:
        raise InvalidSearch(f"invalid query {query!r}: a double quote is not closed")
    depth = 0
    for ch in query:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise InvalidSearch(f"invalid query {query!r}: ')' without a matching '('")
    if depth:
        raise InvalidSearch(f"invalid query {query!r}: '(' is not closed")


def facet_field(name: str) -> str:
    """The index field behind a facet name, or `InvalidSearch` listing the known ones."""
    key = FACET_ALIASES.get(name, name)
    if key not in FACET_FIELDS:
        known = ", ".join(sorted(FACET_FIELDS))
        raise InvalidSearch(f"unknown facet {name!r}; known facets: {known}")
    return FACET_FIELDS[key]


def _term(field_name: str, value: str, *, case_insensitive: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"value": value}
    if case_insensitive:
        body["case_insensitive"] = True
    return {"term": {field_name: body}}


def filter_clauses(filters: SearchFilters) -> list[dict[str, Any]]:
    """The bool `filter` clauses for these filters (non-scoring, cacheable)."""
    clauses: list[dict[str, Any]] = []
    clauses += [_term("countries", c.strip().upper()) for c in filters.countries]
    if not filters.event_targets:
        clauses += [_term("event_types", e.strip().upper()) for e in filters.event_types]
    clauses += [_term("persons", p.strip(), case_insensitive=True) for p in filters.persons]
    clauses += [
        _term("organizations", o.strip(), case_insensitive=True) for o in filters.organizations
    ]
    # `source` has a lowercase normaliser, so a term query on it is already case-insensitive.
    clauses += [_term("source", s.strip()) for s in filters.sources]
    for target in filters.event_targets:
        # `events` is nested: type and target must hold for the *same* event, which flat
        # arrays cannot express ("SANCTION" by anyone + "KP" as any event's target).
        must: list[dict[str, Any]] = [_term("events.target", _actor(target))]
        must += [_term("events.type", e.strip().upper()) for e in filters.event_types]
        clauses.append({"nested": {"path": "events", "query": {"bool": {"filter": must}}}})
    if filters.story_id:
        clauses.append(_term("story_id", filters.story_id))
    if filters.since or filters.until:
        bounds: dict[str, str] = {}
        if filters.since:
            bounds["gte"] = date_bound(filters.since)
        if filters.until:
            bounds["lte"] = date_bound(filters.until)
        clauses.append({"range": {"published_at": bounds}})
    return clauses


def _actor(value: str) -> str:
    """Country codes are upper case; entity ids ("org:united-nations") are kept as given."""
    value = value.strip()
    return value.upper() if len(value) == 2 and value.isalpha() else value


def build_request(req: SearchRequest) -> dict[str, Any]:
    """The Elasticsearch search body for a request (pure; raises `InvalidSearch`)."""
    if req.size < 1 or req.page < 1 or req.facet_size < 1:
        raise InvalidSearch("size, page and facet size must be at least 1")
    offset = (req.page - 1) * req.size
    if offset + req.size > MAX_RESULT_WINDOW:
        raise InvalidSearch(
            f"page {req.page} of size {req.size} is past the first {MAX_RESULT_WINDOW} hits; "
            "narrow the search with filters instead"
        )
    query = req.query.strip()
    bool_query: dict[str, Any] = {"filter": filter_clauses(req.filters)}
    if query:
        check_query(query)
        bool_query["must"] = [
            {
                "simple_query_string": {
                    "query": query,
                    "fields": QUERY_FIELDS,
                    "default_operator": "and",
                }
            }
        ]
    else:
        bool_query["must"] = [{"match_all": {}}]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "size": req.size,
        "from": offset,
        "track_total_hits": True,
        "_source": {"excludes": ["body", "events.evidence"]},
    }
    if query:
        body["highlight"] = {
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
            "fields": {
                "title": {"number_of_fragments": 0},
                "body": {"fragment_size": 160, "number_of_fragments": 2},
            },
        }
    else:
        # Without query terms there is nothing to highlight: show the opening of the body.
        body["highlight"] = {
            "fields": {"body": {"no_match_size": 160, "number_of_fragments": 0}},
            "highlight_query": {"match_none": {}},
        }
    sort = req.sort or ("relevance" if query else "newest")
    if sort == "newest":
        body["sort"] = [{"published_at": {"order": "desc", "missing": "_last"}}, "_score"]
    elif sort == "oldest":
        body["sort"] = [{"published_at": {"order": "asc", "missing": "_last"}}, "_score"]
    if req.facets:
        aggs: dict[str, Any] = {}
        for name in req.facets:
            fld = facet_field(name)
            # One shard per index: counts are exact; shard_size only matters if that changes.
            aggs[FACET_ALIASES.get(name, name)] = {
                "terms": {"field": fld, "size": req.facet_size, "shard_size": 1000}
            }
        body["aggs"] = aggs
    return body


def top_entities(source: dict[str, Any], n: int = 5) -> list[str]:
    """The article's most mentioned canonical entities."""
    counts: Counter[str] = Counter()
    for ent in source.get("entities") or []:
        if ent.get("label") in {"PERSON", "ORG", "GPE", "LOC"}:
            counts[ent.get("canonical") or ent.get("text")] += int(ent.get("count") or 1)
    return [name for name, _ in counts.most_common(n)]


def shape_response(resp: dict[str, Any], req: SearchRequest) -> dict[str, Any]:
    """The JSON-friendly result: total, page, hits with snippets, facet counts."""
    hits = []
    for hit in resp["hits"]["hits"]:
        src = hit.get("_source") or {}
        hl = hit.get("highlight", {})
        hits.append(
            {
                "id": hit["_id"],
                "score": hit.get("_score"),
                "title": src.get("title"),
                "title_highlight": (hl.get("title") or [None])[0],
                "published_at": src.get("published_at"),
                "source": src.get("source"),
                "url": src.get("url"),
                "countries": src.get("countries", []),
                "persons": src.get("persons", []),
                "organizations": src.get("organizations", []),
                "event_types": src.get("event_types", []),
                "story_id": src.get("story_id"),
                "top_entities": top_entities(src),
                "snippets": hl.get("body", []) or hl.get("title", []),
            }
        )
    facets: dict[str, Any] = {}
    for name, agg in (resp.get("aggregations") or {}).items():
        facets[name] = {
            "buckets": [{"value": b["key"], "count": b["doc_count"]} for b in agg["buckets"]],
            "other": agg.get("sum_other_doc_count", 0),
        }
    total = resp["hits"]["total"]
    return {
        "query": req.query,
        "filters": req.filters.as_dict(),
        "total": total["value"],
        "total_relation": total.get("relation", "eq"),
        "page": req.page,
        "size": req.size,
        "pages": -(-total["value"] // req.size),
        "hits": hits,
        "facets": facets,
    }


def search(
    es: Elasticsearch,
    alias: str,
    query: str = "",
    *,
    size: int = 10,
    page: int = 1,
    filters: SearchFilters | None = None,
    facets: tuple[str, ...] | list[str] = (),
    facet_size: int = 10,
    sort: Sort | None = None,
) -> dict[str, Any]:
    """Run a search; returns `{"total", "hits": [...], "facets": {...}, ...}`."""
    req = SearchRequest(
        query=query,
        filters=filters or SearchFilters(),
        facets=tuple(facets),
        facet_size=facet_size,
        size=size,
        page=page,
        sort=sort,
    )
    resp = es.search(index=alias, **build_request(req))
    return shape_response(dict(resp), req)
