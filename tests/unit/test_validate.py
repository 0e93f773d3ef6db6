"""Validation at the edge: raw bytes -> Article, or a dead-letter reason."""

from __future__ import annotations

import json

import pytest

from processors.errors import InvalidArticle
from processors.text import html_to_text
from processors.validate import parse_raw_article


def _raw(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"id": "a", "title": "x"', "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe\x00garbage", "invalid_utf8"),
        (bytes(range(1, 32)) * 10, "binary"),
        (b'["a", "list"]', "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (_raw(id="a", title=["not", "text"], body="b"), "invalid_field"),
        (_raw(id="a", title="t", body=42), "invalid_field"),
        (_raw(id="", title="t", body="b"), "invalid_field"),
        (_raw(title="t", body="b"), "invalid_field"),  # no id
        (_raw(id="a", source="AP"), "missing_text"),
        (_raw(id="a", title="Headline", body="   "), "empty_body"),
        (_raw(id="a", title="t", body="<script>alert(1)</script>"), "empty_body"),
        (_raw(id="a", title="t", body="x" * 2000), "too_large"),
    ],
)
def test_bad_input_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidArticle) as info:
        parse_raw_article(raw, max_bytes=1000)
    assert info.value.reason == reason
    assert str(info.value)  # a readable message for the dead letter


def test_good_input_becomes_an_article() -> None:
    art = parse_raw_article(
        _raw(
            id="a1",
            title=" T ",
            body="Body.",
            source="Kyodo",
            url="https://k/1",
            published_at="2013-02-12T10:00:00Z",
            version=3,
        )
    )
    assert (art.id, art.title, art.body, art.source, art.version) == (
        "a1",
        "T",
        "Body.",
        "Kyodo",
        3,
    )
    assert art.published_at is not None and art.published_at.year == 2013
    assert art.date_problem is None


def test_unparseable_date_keeps_the_article_and_records_the_problem() -> None:
    art = parse_raw_article(_raw(id="a", title="t", body="b", published_at="yesterday-ish"))
    assert art.published_at is None
    assert art.date_problem is not None and "yesterday-ish" in art.date_problem


def test_html_body_is_stripped_to_text_never_markup_or_script() -> None:
    body = (
        "<html><head><style>p{}</style></head><body><p>Iran and the <b>IAEA</b> met.</p>"
        "<script>steal()</script><p>Talks go on &amp; on.</p></body></html>"
    )
    art = parse_raw_article(_raw(id="a", title="<b>Talks</b>", body=body))
    assert art.body == "Iran and the IAEA met.\n\nTalks go on & on."
    assert art.title == "Talks"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("a<br>b", "a\n\nb"),
        ("<div>x <span>y</span></div>", "x y"),
        ("<noscript>n</noscript>ok", "ok"),
        ("&lt;not a tag&gt;", "<not a tag>"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
