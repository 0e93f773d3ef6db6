"""Edge validation against hostile input: the decoder and `parse_raw_article` never crash.

Table tests pin each refusal; property tests (hypothesis) check that any bytes at all give
either an `Article` or an `InvalidArticle` with a known reason, never another exception.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.errors import InvalidArticle
from processors.models import MAX_VERSION
from processors.safejson import MAX_DEPTH, JSONRejected, decode_json, nesting_depth
from processors.validate import parse_raw_article

REASONS = {
    "too_large",
    "invalid_utf8",
    "binary",
    "too_deep",
    "invalid_json",
    "invalid_number",
    "invalid_string",
    "not_an_object",
    "invalid_field",
    "missing_text",
    "empty_body",
}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000, "too_deep"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "too_deep"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "too_deep"),
        ("1e400", "invalid_number"),
        ("-1e400", "invalid_number"),
        ('{"v": NaN}', "invalid_number"),
        ('{"v": Infinity}', "invalid_number"),
        ("1" + "0" * 5000, "invalid_number"),
        (str(2**63), "invalid_number"),
        ('"\\ud800"', "invalid_string"),
        ('{"\\udfff": 1}', "invalid_string"),
        ('{"a": ', "invalid_json"),
        ("", "invalid_json"),
    ],
)
def test_hostile_json_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(JSONRejected) as err:
        decode_json(text)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[" * MAX_DEPTH + "]" * MAX_DEPTH, json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)),
        ('{"body": "[[[[ {{{{ brackets in text do not nest"}', None),
        ('"\\ud83d\\ude00"', "😀"),  # a surrogate pair is one real character
        (str(2**63 - 1), 2**63 - 1),
        (str(-(2**63)), -(2**63)),
        ('{"a": 1, "a": 2}', {"a": 2}),  # duplicate keys: the last wins, as json does
    ],
)
def test_ordinary_json_decodes_as_the_standard_library_does(text: str, value: Any) -> None:
    assert decode_json(text) == (json.loads(text) if value is None else value)


def test_nesting_depth_skips_strings_and_escaped_quotes() -> None:
    assert nesting_depth('{"a": "\\"[[[", "b": [[1]]}') == 3
    assert nesting_depth("[" * 1000, limit=10) == 11  # the scan stops past the limit


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"version": -5}, "invalid_field"),
        ({"version": MAX_VERSION + 1}, "invalid_number"),  # beyond 64 bits
        ({"version": 10**400}, "invalid_number"),
        ({"version": 1.5}, "invalid_field"),
    ],
)
def test_versions_outside_elasticsearch_range_are_refused_at_the_edge(
    fields: dict[str, Any], reason: str
) -> None:
    raw = json.dumps({"id": "v1", "title": "t", "body": "b", **fields}).encode()
    with pytest.raises(InvalidArticle) as err:
        parse_raw_article(raw)
    assert err.value.reason == reason


def test_largest_external_version_is_accepted() -> None:
    raw = json.dumps({"id": "v1", "title": "t", "body": "b", "version": MAX_VERSION}).encode()
    assert parse_raw_article(raw).version == MAX_VERSION


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@given(json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    assert decode_json(json.dumps(value)) == value


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from('[]{}",:0123456789.eE-+\\u' + "tfnalsr aN")))
def test_any_text_decodes_or_is_refused_never_crashes(text: str) -> None:
    try:
        decode_json(text)
    except JSONRejected as exc:
        assert exc.reason in {"too_deep", "invalid_json", "invalid_number", "invalid_string"}


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_any_bytes_give_an_article_or_a_dead_letter_reason(raw: bytes) -> None:
    try:
        article = parse_raw_article(raw)
    except InvalidArticle as exc:
        assert exc.reason in REASONS
    else:
        assert article.id and article.body


article_fields = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=20), "title": st.text(), "body": st.text(min_size=1)},
    optional={
        "version": st.one_of(st.integers(), st.floats(), st.text(), st.none()),
        "published_at": st.one_of(st.text(), st.integers(), st.none()),
        "source": st.one_of(st.text(), st.integers(), st.none()),
        "url": st.one_of(st.text(), st.lists(st.integers()), st.none()),
    },
)


@settings(max_examples=300)
@given(article_fields)
def test_any_article_shaped_object_is_accepted_sanely_or_refused(fields: dict[str, Any]) -> None:
    raw = json.dumps(fields).encode("utf-8", "surrogatepass")
    try:
        article = parse_raw_article(raw)
    except InvalidArticle as exc:
        assert exc.reason in REASONS
    else:
        assert article.version is None or 0 <= article.version <= MAX_VERSION
        article.model_dump_json()  # what the worker will send on must serialise
