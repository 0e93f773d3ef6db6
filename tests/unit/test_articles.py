"""The one Article builder: cleaning, ids, dates, reasons; and the rule that what the publisher
accepts, the worker accepts and gives back equal."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.articles import (
    MAX_ARTICLE_BYTES,
    build_article,
    check_size,
    derive_id,
    guid_id,
)
from processors.errors import InputFileError, InvalidArticle
from processors.formats import read_document
from processors.models import MAX_VERSION, Article
from processors.text import MAX_MARKUP_PASSES
from processors.validate import parse_raw_article

BUILDER_REASONS = {"missing_text", "empty_body", "too_large", "invalid_field", "invalid_string"}


def build(**fields: Any) -> Article:
    return build_article(**{"title": "T", "body": "B", **fields})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": "", "body": ""}, "missing_text"),
        ({"title": " \n\t", "body": None}, "missing_text"),
        ({"title": "\x00\x01", "body": "\x7f"}, "missing_text"),
        ({"title": "<b></b>", "body": "<p> </p>"}, "missing_text"),
        ({"title": "Headline only", "body": ""}, "empty_body"),
        ({"title": "Headline only", "body": "   \r\n "}, "empty_body"),
        ({"title": "t", "body": "<script>alert(1)</script>"}, "empty_body"),
        ({"body": "x" * 2000, "max_bytes": 1000}, "too_large"),
        ({"title": "x" * 2000, "max_bytes": 1000}, "too_large"),
        ({"version": -1}, "invalid_field"),
        ({"version": MAX_VERSION + 1}, "invalid_field"),
        ({"id": ""}, "invalid_field"),
        ({"id": "x" * 513}, "invalid_field"),
        ({"body": "half a pair \ud800 here"}, "invalid_string"),
        ({"source": "\udfff"}, "invalid_string"),
    ],
)
def test_what_can_never_be_an_article_is_refused_with_the_workers_reason(
    fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidArticle) as info:
        build(**fields)
    assert info.value.reason == reason
    assert info.value.detail


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _nested(levels: int) -> str:
    """A body that takes `levels` passes to clean: markup inside escaped markup (escaped twice
    per level, since a pass decodes entities twice: the parser, then `html.unescape`)."""
    text = "<p>story</p>"
    for _ in range(levels - 1):
        text = "<b>x</b>" + _escape(_escape(text))
    return text


def test_markup_escaped_inside_markup_is_peeled_to_text_up_to_a_depth() -> None:
    assert build(body="<p>Use &lt;script&gt;steal()&lt;/script&gt; here</p>").body == "Use here"
    assert build(body=_nested(MAX_MARKUP_PASSES - 1)).body.endswith("story")
    with pytest.raises(InvalidArticle) as info:
        build(body=_nested(MAX_MARKUP_PASSES + 1))
    assert info.value.reason == "invalid_field"


def test_text_is_cleaned_as_the_worker_cleans_it() -> None:
    art = build(
        title="  <b>Quake</b>\x00 hits\n  coast \x07",
        body="\r\nFirst\x01 line.\r\n\r\nSecond\tpara.\x1f  ",
        source="  Kyodo\x00 ",
        url=" https://k/1 ",
    )
    assert art.title == "Quake hits coast"
    assert art.body == "First line.\n\nSecond\tpara."
    assert (art.source, art.url) == ("Kyodo", "https://k/1")
    html = build(body="<html><head><style>p{}</style></head><p>Iran and the <b>IAEA</b> met.</p>")
    assert html.body == "Iran and the IAEA met."
    assert build(source="  ", url="").source is None


def test_ids_given_else_from_the_guid_else_url_else_text() -> None:
    assert build(id="r-1", guid="g", url="https://x/1").id == "r-1"
    assert build(guid="urn:x:1", url="https://x/1").id == guid_id("urn:x:1")
    assert build(source="AP", url="https://x/1").id == derive_id(source="AP", url="https://x/1")
    assert build(title="Quake  hits", body="An <b>earthquake</b>").id == derive_id(
        title="Quake hits", body="An earthquake"
    )


def test_dates_go_through_the_one_parser_and_a_problem_travels_with_the_article() -> None:
    assert build(published="Wed, 06 Mar 2024 10:00:00 +0100").published_at == datetime(
        2024, 3, 6, 9, tzinfo=UTC
    )
    assert build(published=time.gmtime(0)).published_at == datetime(1970, 1, 1, tzinfo=UTC)
    bad = build(published="26-FEB-1987")
    assert bad.published_at is None and bad.date_problem == "unparseable date '26-FEB-1987'"
    assert build(published=["x"]).date_problem == "unparseable date \"['x']\""
    kept = build(date_problem="unparseable date 'x'")
    assert kept.published_at is None and kept.date_problem == "unparseable date 'x'"
    assert build(published="2024-03-01", date_problem="old").date_problem is None


def test_the_size_is_checked_on_the_largest_form_the_article_travels_in() -> None:
    art = build(body="x" * 100)
    largest = len(art.model_copy(update={"version": MAX_VERSION}).model_dump_json().encode())
    check_size(art, largest)
    with pytest.raises(InvalidArticle, match="too_large"):
        check_size(art, largest - 1)
    with pytest.raises(InvalidArticle, match="too_large"):
        build(body="x" * 100, max_bytes=largest - 1)
    assert build(body="é" * 100, max_bytes=None).body  # the caller checks


# ---------------------------------------------------------------- title-only at publish time


TITLE_ONLY = [
    ("a.jsonl", b'{"id": "t1", "title": "Headline only", "body": "  "}\n'),
    ("a.jsonl", b'{"title": "Headline only"}\n'),
    ("a.json", b'{"uri": "urn:t:1", "headline": "Headline only"}'),
    ("a.txt", b"Headline only\n\n"),
    (
        "a.rss",
        b'<rss version="2.0"><channel><title>W</title><item><title>Headline only</title>'
        b"<guid>g1</guid></item></channel></rss>",
    ),
    (
        "a.xml",
        b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:n:1" version="1">'
        b"<contentMeta><headline>Headline only</headline></contentMeta>"
        b"<contentSet><inlineData>  </inlineData></contentSet></newsItem>",
    ),
]


@pytest.mark.parametrize(("name", "data"), TITLE_ONLY)
def test_a_title_only_article_is_refused_at_publish_time_with_empty_body(
    name: str, data: bytes
) -> None:
    (item,) = read_document(data, name=name)
    assert isinstance(item, InputFileError), item
    assert item.reason == "empty_body"
    assert str(item).startswith(name) and "empty_body" in str(item)


class _Sent:
    """A kafka-python future the broker already acknowledged."""

    def add_callback(self, callback: Any) -> _Sent:
        callback(None)
        return self

    def add_errback(self, errback: Any) -> _Sent:
        return self


class _FakeProducer:
    def __init__(self) -> None:
        self.values: list[bytes] = []

    def send(self, topic: str, *, key: bytes | None = None, value: bytes) -> _Sent:
        self.values.append(value)
        return _Sent()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_publisher_reports_a_title_only_article_as_rejected_and_sends_the_rest(
    tmp_path: Any,
) -> None:
    from streams.publishing.publisher import Publisher
    from streams.settings import Settings

    producer = _FakeProducer()

    path = tmp_path / "wire.jsonl"
    path.write_text(
        json.dumps({"id": "good", "title": "Quake hits coast", "body": "An earthquake hit."})
        + "\n"
        + json.dumps({"id": "head", "title": "Headline only", "body": ""})
        + "\n"
    )
    pub = Publisher(Settings(), producer=producer)  # type: ignore[arg-type]
    report = pub.publish_files([path])
    assert report.published == ["good"]
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"{path}:2: empty_body")
    assert report.summary().endswith("rejected 1")
    (sent,) = producer.values
    assert parse_raw_article(sent).id == "good"  # and the worker takes what was sent


# ---------------------------------------------------------------- the publisher/worker rule

_FRAGMENTS = st.sampled_from(
    [
        "Quake",
        " hits ",
        "\n\n",
        "\r\n",
        "\t",
        "\xa0",
        "\x00",
        "\x07",
        "\x1f",
        "<p>",
        "</p>",
        "<b>",
        "<br>",
        "<script>x()</script>",
        "&amp;",
        "&lt;p&gt;",
        "&lt;",
        "<",
        ">",
        "<p",
        "é",
        "東京",
        "\u200b",
        "🇯🇵",
        '"',
        "\\",
    ]
)
_TEXT = st.one_of(
    st.none(), st.text(max_size=30), st.lists(_FRAGMENTS | st.text(max_size=4)).map("".join)
)
_DATES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(),
    st.floats(),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.sampled_from(
        [
            "2013-02-12T10:00:00Z",
            "1987-02-26T15:01:01",
            "Wed, 06 Mar 2024 10:00:00 +0100",
            "20240301T090500Z",
            "1700000000000",
            "26-FEB-1987",
            "99999-01-01T00:00:00Z",
            time.gmtime(1709717400),
        ]
    ),
)
_FIELDS = st.fixed_dictionaries(
    {
        "title": _TEXT,
        "body": _TEXT,
        "source": _TEXT,
        "url": _TEXT,
        "published": _DATES,
        "id": st.none() | st.text(max_size=12),
        "guid": st.none() | st.text(max_size=12),
        "version": st.none() | st.integers(min_value=-2, max_value=MAX_VERSION + 2),
        "date_problem": st.none() | st.text(max_size=12),
        "max_bytes": st.sampled_from([200, 400, MAX_ARTICLE_BYTES]),
    }
)


def _worker_takes_it_back(article: Article, max_bytes: int) -> None:
    for sent in (
        article.model_dump_json(),
        article.model_dump_json(exclude_none=True),  # what Publisher.send writes
    ):
        assert parse_raw_article(sent.encode(), max_bytes=max_bytes) == article
    versioned = article.model_copy(update={"version": MAX_VERSION})  # any version decide() sets
    raw = versioned.model_dump_json(exclude_none=True).encode()
    assert parse_raw_article(raw, max_bytes=max_bytes) == versioned


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(_FIELDS)
def test_what_the_builder_accepts_the_worker_accepts_and_gives_back_equal(
    fields: dict[str, Any],
) -> None:
    try:
        article = build_article(**fields)
    except InvalidArticle as exc:
        assert exc.reason in BUILDER_REASONS
        return
    _worker_takes_it_back(article, fields["max_bytes"])
    rebuilt = build_article(
        **{k: getattr(article, k) for k in ("id", "title", "body", "source", "url", "version")},
        published=article.published_at,
        date_problem=article.date_problem,
    )
    assert rebuilt == article  # cleaning is idempotent


_RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.none() | st.text(max_size=8) | st.integers(),
        "title": _TEXT | st.integers(),
        "body": _TEXT,
        "source": _TEXT,
        "url": _TEXT,
        "published_at": st.none() | st.text(max_size=30) | st.integers() | st.floats(),
        "version": st.none() | st.integers(min_value=-1) | st.text(max_size=3),
        "date_problem": st.none() | st.text(max_size=8),
        "uri": st.text(max_size=8),
        "headline": _TEXT,
        "body_text": _TEXT,
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RECORDS, min_size=1, max_size=3), st.sampled_from([400, MAX_ARTICLE_BYTES]))
def test_every_article_a_json_lines_file_gives_the_worker_takes_back_equal(
    records: list[dict[str, Any]], max_bytes: int
) -> None:
    data = "\n".join(json.dumps(r, allow_nan=True) for r in records).encode()
    for item in read_document(data, name="p.jsonl", max_bytes=max_bytes):
        if isinstance(item, Article):
            _worker_takes_it_back(item, max_bytes)


@settings(max_examples=200)
@given(st.lists(_FRAGMENTS | st.text(max_size=6)).map("".join))
def test_every_article_a_text_file_gives_the_worker_takes_back_equal(text: str) -> None:
    for item in read_document(text.encode(), name="p.txt"):
        if isinstance(item, Article):
            _worker_takes_it_back(item, MAX_ARTICLE_BYTES)
