"""`wirewatch search`: full-text search over the `articles` alias, with highlights."""

from __future__ import annotations

from collections import Counter
from typing import Any

from elasticsearch import Elasticsearch

TEXT_FIELDS = ["title^3", "body", "persons^2", "organizations^2", "places^2"]


def build_query(query: str, *, size: int = 10, offset: int = 0) -> dict[str, Any]:
    """The search request body for a `simple_query_string` query."""
    return {
        "query": {
            "simple_query_string": {
                "query": query,
                "fields": ["title^3", "body"],
                "default_operator": "and",
            }
        },
        "highlight": {
            "pre_tags": ["«"],
            "post_tags": ["»"],
            "fields": {
                "title": {"number_of_fragments": 0},
                "body": {"fragment_size": 160, "number_of_fragments": 2},
            },
        },
        "size": size,
        "from": offset,
        "track_total_hits": True,
    }


def top_entities(source: dict[str, Any], n: int = 5) -> list[str]:
    """The article's most mentioned canonical entities."""
    counts: Counter[str] = Counter()
    for ent in source.get("entities") or []:
        if ent.get("label") in {"PERSON", "ORG", "GPE", "LOC"}:
            counts[ent.get("canonical") or ent.get("text")] += int(ent.get("count") or 1)
    return [name for name, _ in counts.most_common(n)]


def search(es: Elasticsearch, alias: str, query: str, *, size: int = 10) -> dict[str, Any]:
    """Run the search; returns `{"total": N, "hits": [...]}` in a JSON-friendly shape."""
    resp = es.search(index=alias, **build_query(query, size=size))
    hits = []
    for hit in resp["hits"]["hits"]:
        src = hit["_source"]
        hl = hit.get("highlight", {})
        hits.append(
            {
                "id": hit["_id"],
                "score": hit["_score"],
                "title": src.get("title"),
                "published_at": src.get("published_at"),
                "source": src.get("source"),
                "url": src.get("url"),
                "countries": src.get("countries", []),
                "event_types": src.get("event_types", []),
                "top_entities": top_entities(src),
                "snippets": hl.get("body", []) or hl.get("title", []),
            }
        )
    return {"total": resp["hits"]["total"]["value"], "hits": hits}
