"""Alert rules: schema, validation messages, translation, candidates, explanation (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from processors.models import EnrichedArticle, Entity, Event
from processors.rules import (
    RuleError,
    RuleQuery,
    alert_id,
    explain,
    is_candidate,
    kibana_rule,
    make_alert,
    mapping_fields,
    match_request,
    parse_rule,
    record_terms,
    referenced_fields,
    required_terms,
    rule_document,
    rule_from_document,
    rules_from_texts,
    to_es_query,
    unknown_fields,
)
from streams.clients import resources
from streams.operations.rule_files import load_rule_file, load_rules_dir

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "streams" / "resources" / "alerts"  # the packaged default rules
SHIPPED = RULES / "north-korea-sanctions.yaml"
FIXTURES = REPO / "tests" / "fixtures" / "alerts"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _known_fields() -> set[str]:
    return mapping_fields(resources.index_template()["template"]["mappings"])


def _seed() -> EnrichedArticle:
    return EnrichedArticle.model_validate_json((FIXTURES / "seed_enriched.json").read_text())


def _record(**kw: Any) -> EnrichedArticle:
    base: dict[str, Any] = {
        "id": "r1",
        "title": "t",
        "body": "b",
        "ingested_at": NOW,
        "enrichment_version": "test",
    }
    return EnrichedArticle.model_validate({**base, **kw})


def _rule(text: str, rule_id: str = "r") -> Any:
    return parse_rule(text, source=f"rules/{rule_id}.yaml", rule_id=rule_id)


# ---------------------------------------------------------------------- the shipped rule


def test_the_shipped_rule_loads_and_translates_to_named_term_filters() -> None:
    rule = load_rule_file(SHIPPED, _known_fields())
    assert rule.id == "north-korea-sanctions" and rule.severity == "high"
    assert rule.channels == ["kafka", "elasticsearch", "webhook"]
    assert to_es_query(rule) == {
        "bool": {
            "filter": [
                {"terms": {"countries": ["KP"], "_name": "countries"}},
                {"terms": {"event_types": ["SANCTION"], "_name": "event_types"}},
            ]
        }
    }


def test_every_packaged_default_rule_is_valid() -> None:
    rules, errors = load_rules_dir(RULES, _known_fields())
    assert errors == []
    assert "north-korea-sanctions" in {r.id for r in rules}


def test_the_kibana_rule_is_the_translation_of_the_shipped_rule() -> None:
    shipped = resources.kibana_rule("north-korea-sanctions")
    expected = kibana_rule(load_rule_file(SHIPPED), index="articles")
    assert shipped == expected
    assert json.loads(shipped["params"]["esQuery"])["query"] == to_es_query(load_rule_file(SHIPPED))


# ---------------------------------------------------------------------- validation


GOOD = "name: N\ndescription: d\nquery:\n  countries: [kp]\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: [unclosed\n", "not valid YAML at line 2"),
        ("- a list\n", "expected a mapping"),
        ("description: d\nquery: {countries: [KP]}\n", "name: Field required"),
        ("name: N\nquery: {countries: [KP]}\n", "description: Field required"),
        ("name: N\ndescription: d\nquery: {contries: [KP]}\n", "query.contries: unknown field"),
        ("name: N\ndescription: d\nquery: {countries: [XX]}\n", "'XX' is not an ISO 3166-1"),
        (
            "name: N\ndescription: d\nquery: {event_types: [SANCTIONS]}\n",
            "unknown event type(s) SANCTIONS",
        ),
        ("name: N\ndescription: d\nquery: {}\n", "the query is empty"),
        (
            "name: N\ndescription: d\nquery: {countries: [KP], dsl: {match_all: {}}}\n",
            "either `dsl` or the simple fields",
        ),
        (
            "name: N\ndescription: d\nquery:\n  dsl: {script: {script: 'true'}}\n",
            "`script` is not allowed",
        ),
        (
            "name: N\ndescription: d\nquery:\n  dsl: {match_all: {}, term: {a: b}}\n",
            "one top-level key",
        ),
        ("name: N\ndescription: d\nseverity: urgent\nquery: {countries: [KP]}\n", "severity"),
        ("name: N\ndescription: d\nchannels: [sms]\nquery: {countries: [KP]}\n", "channels.0"),
        ("name: N\ndescription: d\nquery: {entities: [fumio-kishida]}\n", "entity ids look like"),
        ("name: N\ndescription: d\nquery: {text: '  '}\n", "text is empty"),
        ("id: other\n" + GOOD, "differs from the file name"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_file_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(RuleError) as info:
        _rule(text, "my-rule")
    assert str(info.value).startswith("rules/my-rule.yaml: ")
    assert problem in str(info.value)


def test_a_bad_file_name_is_refused() -> None:
    with pytest.raises(RuleError, match="must be lower-case"):
        _rule(GOOD, "North Korea")


def test_simple_values_are_normalised() -> None:
    rule = _rule(
        "name: N\ndescription: d\nchannels: [webhook]\nquery:\n"
        "  countries: [kp, KP]\n  event_types: [sanction]\n  event_targets: [kp, org:un]\n"
    )
    assert rule.query.countries == ["KP"] and rule.query.event_types == ["SANCTION"]
    assert rule.query.event_targets == ["KP", "org:un"]
    assert rule.channels == ["kafka", "elasticsearch", "webhook"]


def test_a_folder_loads_the_good_rules_and_reports_the_bad_ones(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "typo.yaml").write_text(GOOD.replace("countries", "countrys"))
    (tmp_path / "field.yaml").write_text(
        "name: N\ndescription: d\nquery:\n  dsl: {term: {contries: KP}}\n"
    )
    (tmp_path / "notes.txt").write_text("not a rule")
    rules, errors = load_rules_dir(tmp_path, _known_fields())
    assert [r.id for r in rules] == ["good"]
    messages = sorted(str(e) for e in errors)
    assert messages[0].startswith(str(tmp_path / "field.yaml"))
    assert "field(s) the articles index does not have: contries" in messages[0]
    assert messages[1].startswith(str(tmp_path / "typo.yaml"))


def test_rule_texts_are_parsed_without_files() -> None:
    texts = {
        "deploy/alerts/good.yaml": GOOD,
        "deploy/alerts/typo.yml": GOOD.replace("countries", "countrys"),
        "deploy/alerts/field.yaml": "name: N\ndescription: d\nquery:\n  dsl: {term: {x: KP}}\n",
    }
    rules, errors = rules_from_texts(texts, _known_fields())
    assert [r.id for r in rules] == ["good"]
    assert [e.source for e in errors] == ["deploy/alerts/typo.yml", "deploy/alerts/field.yaml"]
    assert "does not have: x" in str(errors[1])
    assert rules_from_texts({"a/typo.yml": GOOD})[0][0].id == "typo"


def test_an_unreadable_rule_file_is_reported_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.replace("countries", "countrys"))
    (tmp_path / "b.yaml").write_bytes(b"name: \xff\n")
    (tmp_path / "c.yaml").write_text(GOOD)
    rules, errors = load_rules_dir(tmp_path)
    assert [r.id for r in rules] == ["c"]
    assert [e.source for e in errors] == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]
    assert errors[1].problem.startswith("cannot read: ")


# ---------------------------------------------------------------------- translation


def test_every_simple_field_becomes_a_named_clause() -> None:
    q = RuleQuery(
        countries=["KP"],
        event_types=["SANCTION"],
        event_targets=["KP"],
        entities=["org:united-nations"],
        persons=["Fumio Kishida"],
        organizations=["United Nations"],
        sources=["Kyodo"],
        text="nuclear test",
    )
    body = to_es_query(q)["bool"]
    names = {next(iter(c.values()))["_name"] for c in body["filter"]}
    assert names == {
        "countries",
        "event_types",
        "event_targets",
        "entities",
        "persons",
        "organizations",
        "sources",
    }
    nested = next(c["nested"] for c in body["filter"] if "nested" in c)
    assert nested["query"]["bool"]["filter"] == [
        {"terms": {"events.target": ["KP"]}},
        {"terms": {"events.type": ["SANCTION"]}},
    ]
    assert body["must"][0]["simple_query_string"]["default_operator"] == "and"
    assert unknown_fields(to_es_query(q), _known_fields()) == []


def test_match_request_limits_the_rule_to_the_batch_and_highlights() -> None:
    req = match_request({"match_all": {}}, ["a", "b"])
    assert req["query"]["bool"]["filter"] == [{"ids": {"values": ["a", "b"]}}]
    assert req["query"]["bool"]["must"] == [{"match_all": {}}]
    assert req["size"] == 2 and req["_source"] is False
    assert set(req["highlight"]["fields"]) == {"title", "body"}


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"term": {"countries": "KP"}}, {"countries"}),
        ({"match": {"title": {"query": "x", "boost": 2}}}, {"title"}),
        ({"multi_match": {"query": "x", "fields": ["title^3", "body"]}}, {"title", "body"}),
        ({"exists": {"field": "url"}}, {"url"}),
        (
            {"nested": {"path": "events", "query": {"term": {"events.type": "SANCTION"}}}},
            {"events", "events.type"},
        ),
        (
            {"bool": {"should": [{"range": {"published_at": {"gte": "now-1d"}}}]}},
            {"published_at"},
        ),
        ({"match_all": {}}, set()),
    ],
)
def test_referenced_fields(query: dict[str, Any], fields: set[str]) -> None:
    assert referenced_fields(query) == fields


# ---------------------------------------------------------------------- candidates


@pytest.mark.parametrize(
    ("query", "required"),
    [
        (
            {"bool": {"filter": [{"terms": {"countries": ["KP", "IR"]}}]}},
            [("countries", frozenset({"KP", "IR"}))],
        ),
        (
            {"bool": {"must": {"term": {"event_types": {"value": "SANCTION", "boost": 1}}}}},
            [("event_types", frozenset({"SANCTION"}))],
        ),
        ({"term": {"countries": "KP"}}, [("countries", frozenset({"KP"}))]),
        ({"bool": {"should": [{"term": {"countries": "KP"}}]}}, []),
        ({"bool": {"must_not": [{"term": {"countries": "KP"}}]}}, []),
        ({"term": {"countries": {"value": "kp", "case_insensitive": True}}}, []),
        ({"terms": {"countries": {"index": "x", "id": "1", "path": "c"}}}, []),
        ({"term": {"source": "Kyodo"}}, []),  # normalised field: left to Elasticsearch
        ({"match": {"title": "korea"}}, []),
    ],
)
def test_required_terms_are_conservative(query: dict[str, Any], required: list[Any]) -> None:
    assert required_terms(query) == required


def test_candidates_need_one_value_of_every_requirement() -> None:
    required = required_terms(to_es_query(load_rule_file(SHIPPED)))
    seed_terms = record_terms(_seed())
    assert is_candidate(required, seed_terms)
    za = _record(countries=["ZA", "SE"], event_types=["SANCTION"])
    assert not is_candidate(required, record_terms(za))
    kp_no_sanction = _record(countries=["KP"], event_types=["NUCLEAR_TEST"])
    assert not is_candidate(required, record_terms(kp_no_sanction))
    assert is_candidate([], record_terms(za))


# ---------------------------------------------------------------------- explanation


def test_explain_names_the_entities_events_and_evidence_of_the_seed() -> None:
    rule = load_rule_file(SHIPPED)
    seed = _seed()
    why = explain(rule, seed, highlight={}, matched_queries=["countries", "event_types"])
    assert why.countries == ["KP"] and why.event_types == ["SANCTION"]
    assert why.matched_entities == ["North Korea", "Pyongyang"]
    assert why.matched_entity_ids == ["country:KP", "city:1871859"]
    assert why.snippets and all("«sanctions»" in s for s in why.snippets)
    assert why.reason.startswith("North Korea sanctions: names KP (North Korea, Pyongyang)")
    assert "reports SANCTION ('sanctions')" in why.reason


def test_explain_puts_elasticsearch_highlights_first() -> None:
    rule = _rule("name: N\ndescription: d\nquery: {countries: [KP], text: sanctions}\n")
    why = explain(rule, _seed(), highlight={"body": ["fresh «sanctions» on Pyongyang"]})
    assert why.snippets == ["fresh «sanctions» on Pyongyang"]
    assert "contains 'sanctions'" in why.reason


def test_explain_a_dsl_rule_from_the_values_its_query_names() -> None:
    rule = _rule(
        "name: D\ndescription: d\nquery:\n  dsl:\n    bool:\n      filter:\n"
        "        - {term: {entity_ids: person:fumio-kishida}}\n"
        "        - {term: {event_types: NUCLEAR_TEST}}\n"
    )
    why = explain(rule, _seed(), matched_queries=[])
    assert why.event_types == ["NUCLEAR_TEST"] and why.countries == []
    assert why.matched_entity_ids == ["person:fumio-kishida"]
    assert "mentions Fumio Kishida" in why.reason
    assert any("«test" in s for s in why.snippets)


def test_explain_event_targets_keeps_only_events_against_them() -> None:
    rule = _rule("name: T\ndescription: d\nquery: {event_types: [SANCTION], event_targets: [KP]}\n")
    record = _record(
        countries=["KP", "ZA"],
        event_types=["SANCTION"],
        entities=[
            Entity(
                text="N. Korea", label="GPE", canonical="North Korea", id="country:KP", country="KP"
            )
        ],
        events=[
            Event(
                type="SANCTION",
                target="ZA",
                evidence="Sanctions on South Africa.",
                trigger="sanctions",
            ),
            Event(
                type="SANCTION",
                target="KP",
                evidence="New sanctions on North Korea.",
                trigger="sanctions",
            ),
        ],
    )
    why = explain(rule, record)
    assert why.snippets == ["New «sanctions» on North Korea."]
    assert why.matched_entities == ["North Korea"] and "against KP" in why.reason


# ---------------------------------------------------------------------- alerts and documents


def test_make_alert_is_one_per_rule_and_story_and_tracks_webhook_delivery() -> None:
    rule = load_rule_file(SHIPPED)
    seed = _seed().model_copy(update={"story_id": "story-1"})
    why = explain(rule, seed)
    alert = make_alert(rule, seed, why, fired_at=NOW, webhook=True)
    assert alert.id == alert_id(rule.id, "story-1") == "north-korea-sanctions/story-1"
    assert alert.article_id == seed.id and alert.title == seed.title
    assert (alert.delivered, alert.delivery) == (False, "pending")
    no_url = make_alert(rule, seed, why, fired_at=NOW, webhook=False)
    assert (no_url.delivered, no_url.delivery) == (False, "failed")
    assert no_url.delivery_error == "no webhook URL is configured"
    plain = _rule(GOOD)
    quiet = make_alert(plain, seed, explain(plain, seed), fired_at=NOW, webhook=True)
    assert (quiet.delivered, quiet.delivery) == (True, "not_requested")
    lone = make_alert(plain, _seed(), why, fired_at=NOW, webhook=False)
    assert lone.story_id == f"article-{_seed().id}"


def test_rule_documents_round_trip() -> None:
    rule = load_rule_file(SHIPPED)
    doc = rule_document(rule, source_file="rules/x.yaml", synced_at=NOW)
    assert doc["query"] == to_es_query(rule) and doc["digest"] == rule.digest()
    assert rule_from_document(json.loads(json.dumps(doc))) == rule
