"""The search request builder and result shaper (pure: no Elasticsearch here)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from streams.operations.search import (
    InvalidSearch,
    SearchFilters,
    SearchRequest,
    build_request,
    check_query,
    date_bound,
    filter_clauses,
    shape_response,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", "now-7d"),
        ("24h", "now-24h"),
        ("30m", "now-30m"),
        ("2w", "now-2w"),
        ("6M", "now-6M"),
        (" 1y ", "now-1y"),
        ("2024-05-01", "2024-05-01"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00+09:00", "2024-05-01T10:00:00+09:00"),
    ],
)
def test_date_bound_accepts_spans_and_iso_dates(value: str, expected: str) -> None:
    assert date_bound(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "7", "d7", "7 days", "2024-13-01", "-7d", ""])
def test_date_bound_rejects_anything_else(value: str) -> None:
    with pytest.raises(InvalidSearch, match="cannot read"):
        date_bound(value)


@pytest.mark.parametrize(
    "query",
    ['north korea', '"north korea" sanctions', "(kim | moon) -trump", "sanction*", "a (b (c))"],
)  # fmt: skip
def test_check_query_lets_valid_queries_through(query: str) -> None:
    check_query(query)


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ('"north korea', "double quote is not closed"),
        ("(kim | moon", "'(' is not closed"),
        ("kim) moon", "')' without a matching '('"),
    ],
)
def test_check_query_names_what_is_wrong(query: str, why: str) -> None:
    with pytest.raises(InvalidSearch, match=f"invalid query .*{re.escape(why)}"):
        check_query(query)


def test_filters_become_one_clause_per_value() -> None:
    clauses = filter_clauses(
        SearchFilters(
            countries=("kp", "JP"),
            event_types=("sanction",),
            persons=("Fumio Kishida",),
            organizations=("United Nations",),
            sources=("Kyodo",),
            story_id="s-1",
            since="7d",
            until="2024-05-01",
        )
    )
    assert clauses == [
        {"term": {"countries": {"value": "KP"}}},
        {"term": {"countries": {"value": "JP"}}},
        {"term": {"event_types": {"value": "SANCTION"}}},
        {"term": {"persons": {"value": "Fumio Kishida", "case_insensitive": True}}},
        {"term": {"organizations": {"value": "United Nations", "case_insensitive": True}}},
        {"term": {"source": {"value": "Kyodo"}}},
        {"term": {"story_id": {"value": "s-1"}}},
        {"range": {"published_at": {"gte": "now-7d", "lte": "2024-05-01"}}},
    ]


def test_an_event_target_is_matched_inside_one_nested_event() -> None:
    clauses = filter_clauses(SearchFilters(event_types=("SANCTION",), event_targets=("kp",)))
    assert clauses == [
        {
            "nested": {
                "path": "events",
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"events.target": {"value": "KP"}}},
                            {"term": {"events.type": {"value": "SANCTION"}}},
                        ]
                    }
                },
            }
        }
    ]
    entity = filter_clauses(SearchFilters(event_targets=("org:united-nations",)))
    assert entity[0]["nested"]["query"]["bool"]["filter"] == [
        {"term": {"events.target": {"value": "org:united-nations"}}}
    ]


def test_a_query_string_searches_title_and_body_and_highlights() -> None:
    body = build_request(SearchRequest(query="north korea", size=5, page=3))
    assert body["query"]["bool"]["must"] == [
        {
            "simple_query_string": {
                "query": "north korea",
                "fields": ["title^3", "body"],
                "default_operator": "and",
            }
        }
    ]
    assert body["from"] == 10 and body["size"] == 5
    assert body["highlight"]["pre_tags"] == ["«"] and body["highlight"]["post_tags"] == ["»"]
    assert set(body["highlight"]["fields"]) == {"title", "body"}
    assert "sort" not in body  # relevance
    assert "aggs" not in body


def test_without_a_query_string_the_newest_come_first() -> None:
    body = build_request(SearchRequest(filters=SearchFilters(countries=("KP",))))
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["sort"][0] == {"published_at": {"order": "desc", "missing": "_last"}}
    assert body["highlight"]["fields"]["body"]["no_match_size"] == 160
    oldest = build_request(SearchRequest(query="x", sort="oldest"))
    assert oldest["sort"][0]["published_at"]["order"] == "asc"


def test_facets_are_terms_aggregations_on_the_keyword_fields() -> None:
    body = build_request(
        SearchRequest(facets=("countries", "event_types", "sources", "people"), facet_size=7)
    )
    assert body["aggs"] == {
        "countries": {"terms": {"field": "countries", "size": 7, "shard_size": 1000}},
        "event_types": {"terms": {"field": "event_types", "size": 7, "shard_size": 1000}},
        "source": {"terms": {"field": "source", "size": 7, "shard_size": 1000}},
        "persons": {"terms": {"field": "persons", "size": 7, "shard_size": 1000}},
    }


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (SearchRequest(facets=("body",)), "unknown facet 'body'"),
        (SearchRequest(page=0), "at least 1"),
        (SearchRequest(size=100, page=101), "past the first 10000 hits"),
        (SearchRequest(query='"open'), "double quote is not closed"),
        (SearchRequest(filters=SearchFilters(since="last week")), "cannot read 'last week'"),
    ],
)
def test_impossible_searches_are_refused_with_a_reason(req: SearchRequest, message: str) -> None:
    with pytest.raises(InvalidSearch, match=re.escape(message)):
        build_request(req)


def test_the_last_allowed_page_is_built() -> None:
    assert build_request(SearchRequest(size=100, page=100))["from"] == 9900


def _response() -> dict[str, Any]:
    return {
        "hits": {
            "total": {"value": 23, "relation": "eq"},
            "hits": [
                {
                    "_id": "a1",
                    "_score": 3.2,
                    "_source": {
                        "title": "N. Korea sanctions",
                        "published_at": "2024-05-01T00:00:00Z",
                        "source": "Kyodo",
                        "countries": ["KP", "JP"],
                        "persons": ["Fumio Kishida"],
                        "event_types": ["SANCTION"],
                        "entities": [
                            {"label": "GPE", "canonical": "North Korea", "count": 3},
                            {"label": "PERSON", "canonical": "Fumio Kishida", "count": 1},
                            {"label": "DATE", "canonical": "Tuesday", "count": 5},
                        ],
                    },
                    "highlight": {
                        "title": ["N. Korea «sanctions»"],
                        "body": ["new «sanctions» on", "the «sanctions» regime"],
                    },
                }
            ],
        },
        "aggregations": {
            "countries": {
                "sum_other_doc_count": 4,
                "buckets": [{"key": "KP", "doc_count": 20}, {"key": "JP", "doc_count": 9}],
            }
        },
    }


def test_the_response_is_shaped_for_people_and_scripts() -> None:
    req = SearchRequest(query="sanctions", size=10, facets=("countries",))
    result = shape_response(_response(), req)
    assert result["total"] == 23 and result["pages"] == 3 and result["page"] == 1
    (hit,) = result["hits"]
    assert hit["id"] == "a1" and hit["title"] == "N. Korea sanctions"
    assert hit["title_highlight"] == "N. Korea «sanctions»"
    assert hit["snippets"] == ["new «sanctions» on", "the «sanctions» regime"]
    assert hit["top_entities"] == ["North Korea", "Fumio Kishida"]  # no DATE entities
    assert result["facets"] == {
        "countries": {
            "buckets": [{"value": "KP", "count": 20}, {"value": "JP", "count": 9}],
            "other": 4,
        }
    }
    assert result["filters"]["countries"] == []
