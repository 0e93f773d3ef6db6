"""The packaged Kibana saved objects (streams/resources/kibana/) fit the import API and our
real mappings.

Kibana cannot run on this machine, so these tests check what Kibana would check on import
(types, ids, attributes, references that resolve) and what it would only show as broken
panels later (a field that does not exist, or a facet on a field that cannot be aggregated).
They read the real index template, so renaming a field there breaks them.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pycountry
import pytest
import yaml

from streams.clients import resources
from streams.clients.kibana import SavedObjectsFileError, read_saved_objects

REPO = Path(__file__).resolve().parents[2]
ARTICLES_TEMPLATE = resources.INDEX_TEMPLATE
ALERTS_TEMPLATE = resources.ALERTS_TEMPLATE
EVENT_TYPES = set(
    yaml.safe_load((REPO / "processors" / "data" / "events.yaml").read_text())["types"]
)

KNOWN_TYPES = {"index-pattern", "search", "visualization", "dashboard", "lens"}
AGGREGATABLE = {
    "keyword", "constant_keyword", "date", "date_nanos", "long", "integer", "short", "byte",
    "float", "double", "half_float", "scaled_float", "boolean", "ip",
}  # fmt: skip
STRINGIFIED = {
    "index-pattern": ["fieldAttrs", "fieldFormatMap", "fields", "runtimeFieldMap", "sourceFilters"],
    "visualization": ["visState", "uiStateJSON"],
    "dashboard": ["panelsJSON", "optionsJSON"],
}
KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")
KQL_VALUE = re.compile(r'"([^"]+)"')


# --------------------------------------------------------------------------- mapping model


def flatten(properties: dict[str, Any], prefix: str = "", nested: str | None = None) -> dict:
    """Every field path of a mapping -> {type, aggregatable, searchable, nested}."""
    fields: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        ftype = spec.get("type", "object")
        inner_nested = path if ftype == "nested" else nested
        if "properties" in spec:
            fields[path] = {"type": ftype, "aggregatable": False, "searchable": False}
            fields.update(flatten(spec["properties"], f"{path}.", inner_nested))
            continue
        fields[path] = {
            "type": ftype,
            "aggregatable": ftype in AGGREGATABLE and spec.get("doc_values", True) is not False,
            "searchable": spec.get("index", True) is not False,
            "nested": nested,
        }
        for sub, sub_spec in (spec.get("fields") or {}).items():
            sub_type = sub_spec.get("type")
            fields[f"{path}.{sub}"] = {
                "type": sub_type,
                "aggregatable": sub_type in AGGREGATABLE,
                "searchable": sub_spec.get("index", True) is not False,
                "nested": nested,
            }
    return fields


def template_fields(name: str) -> dict[str, dict[str, Any]]:
    template = resources.read_json(name)
    return flatten(template["template"]["mappings"]["properties"])


# The fields the alerts feature agreed to write (keyword unless noted); the dashboard's
# "latest alerts" panel relies on them.
ALERTS_CONTRACT = {
    "rule": "keyword", "rule_name": "keyword", "article_id": "keyword", "title": "text",
    "url": "keyword", "published_at": "date", "fired_at": "date", "story_id": "keyword",
    "countries": "keyword", "event_types": "keyword", "severity": "keyword",
    "delivered": "boolean",
}  # fmt: skip


def alerts_fields() -> dict[str, dict[str, Any]]:
    return template_fields(ALERTS_TEMPLATE)


# --------------------------------------------------------------------------- the checker


def _loads(text: str, where: str, problems: list[str]) -> Any:
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        problems.append(f"{where}: not a JSON string: {exc}")
        return None


def check_saved_objects(
    objects: list[dict[str, Any]], mappings: dict[str, dict[str, dict[str, Any]]]
) -> list[str]:
    """Problems Kibana's import or rendering would hit; `mappings` is keyed by data view title."""
    problems: list[str] = []
    by_key = {(o["type"], o["id"]): o for o in objects}
    if len(by_key) != len(objects):
        problems.append("duplicate (type, id) pairs")
    views = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}

    def fields_of(view_id: str) -> dict[str, dict[str, Any]]:
        return mappings.get(views.get(view_id, ""), {})

    def need(view_id: str, field: str, where: str, *, agg: bool = False, search: bool = False):
        fields = fields_of(view_id)
        spec = fields.get(field)
        if spec is None:
            problems.append(
                f"{where}: field {field!r} is not in the mapping of {views.get(view_id)}"
            )
            return
        if agg and not spec["aggregatable"]:
            problems.append(f"{where}: field {field!r} ({spec['type']}) is not aggregatable")
        if agg and spec.get("nested"):
            problems.append(f"{where}: field {field!r} is inside nested {spec['nested']!r}")
        if search and not spec["searchable"]:
            problems.append(f"{where}: field {field!r} is not indexed")

    for obj in objects:
        where = f"{obj['type']} {obj['id']}"
        if obj["type"] not in KNOWN_TYPES:
            problems.append(f"{where}: unknown type")
        if not isinstance(obj.get("attributes"), dict) or not obj["attributes"].get("title"):
            problems.append(f"{where}: attributes without a title")
            continue
        attrs = obj["attributes"]
        refs = {r["name"]: r for r in obj.get("references", [])}
        for ref in refs.values():
            if (ref["type"], ref["id"]) not in by_key:
                problems.append(
                    f"{where}: reference {ref['name']} -> {ref['type']} {ref['id']} "
                    "is not in the file"
                )
        for key in STRINGIFIED.get(obj["type"], []):
            if key in attrs:
                _loads(attrs[key], f"{where}.{key}", problems)

        def source_of(attrs: dict[str, Any] = attrs, where: str = where) -> Any:
            meta = attrs.get("kibanaSavedObjectMeta", {})
            return _loads(meta.get("searchSourceJSON", "{}"), f"{where}.searchSourceJSON", problems)

        def view_of(source: dict[str, Any], refs: dict[str, Any] = refs, where: str = where):
            ref_name = source.get("indexRefName")
            if ref_name not in refs:
                problems.append(f"{where}: indexRefName {ref_name!r} has no reference")
                return None
            if refs[ref_name]["type"] != "index-pattern":
                problems.append(f"{where}: {ref_name} does not point to a data view")
            return refs[ref_name]["id"]

        def check_search_source(
            source: dict[str, Any], view: str, where: str = where, refs: dict[str, Any] = refs
        ) -> None:
            query = (source.get("query") or {}).get("query", "")
            for field in KQL_FIELD.findall(query):
                need(view, field, f"{where} query", search=True)
                if field == "event_types":
                    for value in KQL_VALUE.findall(query):
                        if value not in EVENT_TYPES:
                            problems.append(f"{where}: event type {value!r} not in events.yaml")
            for i, flt in enumerate(source.get("filter", [])):
                meta = flt.get("meta", {})
                ref_name = meta.get("indexRefName")
                if ref_name and ref_name not in refs:
                    problems.append(f"{where}: filter[{i}] {ref_name!r} has no reference")
                need(view, meta.get("key", ""), f"{where} filter[{i}]", search=True)
                if meta.get("key") == "countries":
                    code = meta.get("params", {}).get("query", "")
                    if pycountry.countries.get(alpha_2=code) is None:
                        problems.append(f"{where}: filter[{i}] {code!r} is no ISO country")

        if obj["type"] == "index-pattern":
            fields = mappings.get(attrs["title"])
            if fields is None:
                problems.append(f"{where}: no mapping known for pattern {attrs['title']!r}")
                continue
            need(obj["id"], attrs.get("timeFieldName", ""), f"{where} timeFieldName", agg=True)
            if fields.get(attrs.get("timeFieldName", ""), {}).get("type") != "date":
                problems.append(f"{where}: time field is not a date")
            for key in ("fieldFormatMap", "fieldAttrs"):
                for field in _loads(attrs.get(key, "{}"), f"{where}.{key}", problems) or {}:
                    need(obj["id"], field, f"{where} {key}")
        elif obj["type"] == "search":
            source = source_of()
            if not isinstance(source, dict):
                continue
            view = view_of(source)
            if view is None:
                continue
            check_search_source(source, view)
            for column in attrs.get("columns", []):
                need(view, column, f"{where} column")
            for field, _order in attrs.get("sort", []):
                need(view, field, f"{where} sort", agg=True)
        elif obj["type"] == "visualization":
            source = source_of()
            state = _loads(attrs.get("visState", "{}"), f"{where}.visState", problems) or {}
            if not isinstance(source, dict):
                continue
            view = view_of(source)
            if view is None:
                continue
            check_search_source(source, view)
            if not state.get("aggs"):
                problems.append(f"{where}: visState has no aggregations")
            for agg in state.get("aggs", []):
                field = (agg.get("params") or {}).get("field")
                if field is not None:
                    need(view, field, f"{where} {agg['type']} agg", agg=True)
                spec = fields_of(view).get(field or "", {})
                if agg["type"] == "date_histogram" and spec and spec["type"] != "date":
                    problems.append(f"{where}: date_histogram on a non-date field")
        elif obj["type"] == "dashboard":
            panels = _loads(attrs.get("panelsJSON", "[]"), f"{where}.panelsJSON", problems) or []
            indexes = [p.get("panelIndex") for p in panels]
            if len(set(indexes)) != len(indexes):
                problems.append(f"{where}: duplicate panelIndex")
            for panel in panels:
                # Kibana 8 names a panel's reference "<panelIndex>:<panelRefName>".
                name = f"{panel.get('panelIndex')}:{panel.get('panelRefName')}"
                if name not in refs:
                    problems.append(f"{where}: panel {panel.get('panelIndex')} has no reference")
                elif refs[name]["type"] != panel.get("type"):
                    problems.append(f"{where}: panel {name} type differs from its reference")
                grid = panel.get("gridData", {})
                if (
                    grid.get("i") != panel.get("panelIndex")
                    or grid.get("x", 0) + grid.get("w", 0) > 48
                ):
                    problems.append(f"{where}: panel {name} has a bad gridData {grid}")
    return problems


# --------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return read_saved_objects(resources.saved_objects())


@pytest.fixture(scope="module")
def mappings() -> dict[str, dict[str, dict[str, Any]]]:
    return {"articles": template_fields(ARTICLES_TEMPLATE), "articles-alerts": alerts_fields()}


def test_every_line_is_a_saved_object_the_import_api_accepts(objects: list[dict]) -> None:
    for obj in objects:
        assert set(obj) >= {"type", "id", "attributes", "references"}, obj.get("id")
        assert re.fullmatch(r"[a-z0-9-]+", obj["id"]), obj["id"]
        # Kibana refuses objects from a newer version than itself: stay at 8.x migrations.
        assert obj["coreMigrationVersion"].startswith("8.")
        assert obj["typeMigrationVersion"].startswith("8.")
        for ref in obj["references"]:
            assert set(ref) == {"id", "name", "type"}


def test_the_saved_objects_fit_the_real_mappings(
    objects: list[dict], mappings: dict[str, dict[str, dict[str, Any]]]
) -> None:
    assert check_saved_objects(objects, mappings) == []


def test_the_file_has_what_analysts_were_promised(objects: list[dict]) -> None:
    titles = {(o["type"], o["attributes"]["title"]) for o in objects}
    assert ("index-pattern", "articles") in titles
    assert ("index-pattern", "articles-alerts") in titles  # WIREWATCH_ALERTS_INDEX default
    for name in ("North Korea sanctions", "Nuclear and missile tests", "All sanctions"):
        assert ("search", name) in titles
    views = {
        o["attributes"]["title"]: o["attributes"] for o in objects if o["type"] == "index-pattern"
    }
    assert views["articles"]["timeFieldName"] == "published_at"
    assert views["articles-alerts"]["timeFieldName"] == "fired_at"
    # The facet fields come first in Discover: they carry the highest popularity counts.
    attrs = json.loads(views["articles"]["fieldAttrs"])
    ranked = sorted(attrs, key=lambda f: -attrs[f]["count"])
    assert set(ranked[:5]) == {"countries", "persons", "organizations", "event_types", "source"}

    dashboard = next(o for o in objects if o["type"] == "dashboard")
    by_id = {o["id"]: o for o in objects}
    panel_targets = [by_id[r["id"]] for r in dashboard["references"]]
    faceted = set()
    for target in panel_targets:
        if target["type"] == "visualization":
            state = json.loads(target["attributes"]["visState"])
            faceted |= {a["params"]["field"] for a in state["aggs"] if "field" in a["params"]}
    assert faceted == {
        "countries", "persons", "organizations", "event_types", "source", "published_at"
    }  # fmt: skip
    alerts_view = next(o["id"] for o in objects if o["attributes"]["title"] == "articles-alerts")
    assert any(
        t["type"] == "search" and t["references"][0]["id"] == alerts_view for t in panel_targets
    ), "the dashboard shows the latest alerts"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t["properties"].update(country_codes=t["properties"].pop("countries")),
         "field 'countries' is not in the mapping"),
        (lambda t: t["properties"]["source"].update(type="text"),
         "field 'source' (text) is not aggregatable"),
        (lambda t: t["properties"]["persons"].update(doc_values=False),
         "field 'persons' (keyword) is not aggregatable"),
        (lambda t: t["properties"].pop("published_at"),
         "field 'published_at' is not in the mapping"),
    ],
)  # fmt: skip
def test_a_changed_template_breaks_the_check(
    objects: list[dict], mutate: Any, expected: str
) -> None:
    template = resources.index_template()["template"]["mappings"]
    changed = copy.deepcopy(template)
    mutate(changed)
    problems = check_saved_objects(
        objects, {"articles": flatten(changed["properties"]), "articles-alerts": alerts_fields()}
    )
    assert any(expected in p for p in problems), problems


def test_broken_references_and_nested_facets_are_caught(objects: list[dict]) -> None:
    mappings = {"articles": template_fields(ARTICLES_TEMPLATE), "articles-alerts": alerts_fields()}
    broken = copy.deepcopy(objects)
    dashboard = next(o for o in broken if o["type"] == "dashboard")
    dashboard["references"][0]["id"] = "no-such-visualization"
    vis = next(o for o in broken if o["id"] == "wirewatch-vis-top-event-types")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][1]["params"]["field"] = "events.type"  # nested: a flat terms agg sees nothing
    vis["attributes"]["visState"] = json.dumps(state)
    problems = check_saved_objects(broken, mappings)
    assert any("no-such-visualization is not in the file" in p for p in problems), problems
    assert any("'events.type' is inside nested 'events'" in p for p in problems), problems


def test_the_alerts_template_keeps_the_agreed_fields() -> None:
    """The alerts data view was designed on these fields; the alerts template must keep them."""
    from processors.rules import Alert

    fields = alerts_fields()
    for name, ftype in ALERTS_CONTRACT.items():
        assert fields[name]["type"] == ftype, name
        assert name in Alert.model_fields, name


def test_the_mapping_model_reads_the_template() -> None:
    fields = template_fields(ARTICLES_TEMPLATE)
    assert fields["title"] == {
        "type": "text",
        "aggregatable": False,
        "searchable": True,
        "nested": None,
    }
    assert fields["title.keyword"]["aggregatable"] is True
    assert fields["events.type"]["nested"] == "events"
    assert fields["url"]["searchable"] is False and fields["url"]["aggregatable"] is False


def test_read_saved_objects_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"type":"search","id":"a","attributes":{}}\n{"type": "search", "id"\n')
    with pytest.raises(SavedObjectsFileError, match=r"bad.ndjson:2: not JSON"):
        read_saved_objects(bad)
    bad.write_text('{"type":"search","attributes":{}}\n')
    with pytest.raises(SavedObjectsFileError, match=r":1: missing id"):
        read_saved_objects(bad)


def test_a_changed_alerts_template_breaks_the_check(objects: list[dict]) -> None:
    alerts = alerts_fields()
    alerts["fired"] = alerts.pop("fired_at")
    alerts.pop("rule_name")
    problems = check_saved_objects(
        objects, {"articles": template_fields(ARTICLES_TEMPLATE), "articles-alerts": alerts}
    )
    assert any("timeFieldName: field 'fired_at' is not in the mapping" in p for p in problems)
    assert any("column: field 'rule_name'" in p for p in problems), problems
    assert any("sort: field 'fired_at'" in p for p in problems), problems
