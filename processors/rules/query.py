"""Translation of a rule into Elasticsearch query DSL, and the fields a query refers to.

`to_es_query` is what Elasticsearch runs; `match_request` runs it on a batch of documents
with highlights; `unknown_fields` catches a field name the articles index does not have
(a typo matches nothing, silently). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from processors.rules.schema import Rule, RuleQuery

HIGHLIGHT_PRE = "«"
HIGHLIGHT_POST = "»"
TEXT_FIELDS = ["title^3", "body"]


def to_es_query(rule: Rule | RuleQuery) -> dict[str, Any]:
    """The rule's Elasticsearch query. Simple-form clauses are named (`_name`) so a hit's
    `matched_queries` says which held."""
    q = rule.query if isinstance(rule, Rule) else rule
    if q.dsl is not None:
        return q.dsl
    filters: list[dict[str, Any]] = []

    def terms(field_name: str, values: list[str], name: str) -> None:
        if values:
            filters.append({"terms": {field_name: values, "_name": name}})

    terms("countries", q.countries, "countries")
    terms("event_types", q.event_types, "event_types")
    terms("entity_ids", q.entities, "entities")
    terms("persons", q.persons, "persons")
    terms("organizations", q.organizations, "organizations")
    terms("source", q.sources, "sources")
    if q.event_targets:
        inner: list[dict[str, Any]] = [{"terms": {"events.target": q.event_targets}}]
        if q.event_types:
            inner.append({"terms": {"events.type": q.event_types}})
        filters.append(
            {
                "nested": {
                    "path": "events",
                    "query": {"bool": {"filter": inner}},
                    "_name": "event_targets",
                }
            }
        )
    body: dict[str, Any] = {"filter": filters}
    if q.text:
        body["must"] = [
            {
                "simple_query_string": {
                    "query": q.text,
                    "fields": TEXT_FIELDS,
                    "default_operator": "and",
                    "_name": "text",
                }
            }
        ]
    return {"bool": body}


def match_request(query: Mapping[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """Search body that runs a rule's query on these documents only, with highlights."""
    return {
        "query": {"bool": {"filter": [{"ids": {"values": list(ids)}}], "must": [query]}},
        "size": len(ids),
        "_source": False,
        "track_total_hits": False,
        "highlight": {
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
            "require_field_match": False,
            "fields": {
                "title": {"number_of_fragments": 0},
                "body": {"fragment_size": 180, "number_of_fragments": 3},
            },
        },
    }


_LEAF_QUERIES = frozenset(
    {
        "term",
        "terms",
        "match",
        "match_phrase",
        "match_phrase_prefix",
        "match_bool_prefix",
        "prefix",
        "wildcard",
        "regexp",
        "fuzzy",
        "range",
        "terms_set",
        "intervals",
    }
)
_FIELD_LIST_QUERIES = frozenset(
    {"multi_match", "simple_query_string", "query_string", "combined_fields"}
)
_LEAF_PARAMS = frozenset({"boost", "_name", "case_insensitive"})
_META_FIELDS = frozenset({"_id", "_index", "_source"})


def referenced_fields(query: Any) -> set[str]:
    """Field names a query DSL refers to (leaf queries, field lists, nested paths, exists)."""
    found: set[str] = set()
    if isinstance(query, list):
        for item in query:
            found |= referenced_fields(item)
        return found
    if not isinstance(query, Mapping):
        return found
    for key, body in query.items():
        if key in _LEAF_QUERIES and isinstance(body, Mapping):
            found |= {str(k) for k in body if k not in _LEAF_PARAMS}
        elif key in _FIELD_LIST_QUERIES and isinstance(body, Mapping):
            for f in body.get("fields", []) or []:
                found.add(str(f).split("^", 1)[0])
            if "default_field" in body:
                found.add(str(body["default_field"]).split("^", 1)[0])
        elif key == "exists" and isinstance(body, Mapping) and "field" in body:
            found.add(str(body["field"]))
        elif key == "nested" and isinstance(body, Mapping):
            found.add(str(body.get("path")))
            found |= referenced_fields(body.get("query"))
        elif isinstance(body, Mapping | list):
            found |= referenced_fields(body)
    return found


def mapping_fields(mappings: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every field path of an index mapping (objects, nested, multi-fields)."""
    out: set[str] = set()
    for name, spec in (mappings.get("properties") or {}).items():
        path = f"{prefix}{name}"
        out.add(path)
        out |= mapping_fields(spec, f"{path}.")
        for sub in spec.get("fields") or {}:
            out.add(f"{path}.{sub}")
    return out


def unknown_fields(query: Any, known: set[str]) -> list[str]:
    """Fields the query names that the mapping lacks (a typo matches nothing, silently)."""
    return sorted(
        f
        for f in referenced_fields(query)
        if f not in known and f not in _META_FIELDS and "*" not in f
    )
