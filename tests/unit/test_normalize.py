"""Normalisers: tables of good and bad inputs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import normalize
from processors.normalize import (
    MappedText,
    normalise_article,
    normalise_text,
    repair_wire_casing,
    split_glued_headline,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Japan Confirms With U.s., S. Korea Plans", "Japan Confirms With U.S., S. Korea Plans"),
        ("U.n. Security Council Meets", "U.N. Security Council Meets"),
        ("U.s.a. And U.k. Agree", "U.S.A. And U.K. Agree"),
        ("Dprk Rejects Nato Claims", "DPRK Rejects NATO Claims"),
        # bad inputs: left alone
        ("E.g. A Headline", "E.g. A Headline"),
        ("Let Us Talk", "Let Us Talk"),
        ("nato in lower case", "nato in lower case"),
        ("", ""),
    ],
)
def test_repair_wire_casing(raw: str, expected: str) -> None:
    assert repair_wire_casing(raw, {"DPRK", "NATO"}) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a  b\t c", "a b c"),
        ("“Quoted” and ‘single’", "\"Quoted\" and 'single'"),
        ("line one\nline two\n\n\n\nnext para", "line one line two\n\nnext para"),
        ("non\u00a0breaking\u200bzero", "non breakingzero"),
        ("cafe\u0301 \ufb01ne", "café fine"),
        ("\r\nwindows\r\nlines\r\n", "windows lines"),
        ("  \n\t ", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_text(raw: str | None, expected: str | None) -> None:
    got = normalise_text(raw)
    assert (got.text if got is not None else None) == expected


def test_offsets_map_back_to_original() -> None:
    raw = "“North  Korea’s”\u00a0test\n\n\nin\u200b Pyongyang"
    norm = normalise_text(raw)
    assert norm is not None
    for word in ("North", "Korea", "test", "Pyongyang"):
        i = norm.text.index(word)
        s, e = norm.original_span(i, i + len(word))
        assert raw[s:e] == word


def test_original_span_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        MappedText.identity("abc").original_span(2, 5)


@pytest.mark.parametrize(
    ("title", "body", "head", "rest"),
    [
        (
            "Japan Confirms With U.s., S. Korea Plans To Coordinate Over N. Korea",
            "Japan confirms with U.S., S. Korea plans to coordinate over N. Korea"
            "Japan confirmed it.",
            "Japan confirms with U.S., S. Korea plans to coordinate over N. Korea",
            "Japan confirmed it.",
        ),
        (
            "Roadside bomb kills three",
            "Taliban attack kills 12 in AfghanistanKANDAHAR, Afghanistan (AP) - Twelve died.",
            "Taliban attack kills 12 in Afghanistan",
            "KANDAHAR, Afghanistan (AP) - Twelve died.",
        ),
        # bad inputs: nothing glued, so nothing is split
        ("Quake hits Japan", "Quake hits Japan\n\nA quake hit Japan.", None, None),
        ("Sony news", "Sony will launch a new PlayStation console soon. It sells.", None, None),
        ("Short", "McDonald opened a store in the city centre today.", None, None),
        ("Firm", "The company said YouTube was down for an hour.", None, None),
    ],
)
def test_split_glued_headline(title: str, body: str, head: str | None, rest: str | None) -> None:
    got_head, got_body = split_glued_headline(title, MappedText.identity(body))
    assert got_head == head
    assert got_body.text == (rest if rest is not None else body)


def test_normalise_article_keeps_body_offsets_into_the_original() -> None:
    body = "Japan says hello to N. KoreaJapan confirmed with the\u00a0United States."
    art = normalise_article("Japan Says Hello To N. Korea", body)
    assert art.body.text == "Japan confirmed with the United States."
    i = art.body.text.index("the United")
    s, e = art.body.original_span(i, i + len("the United States"))
    assert body[s:e] == "the\u00a0United States"


# The whitespace rules as first written: each matches every space and line break, and
# `normalise_text` must give exactly what they give (text and offset map).
_REFERENCE_WHITESPACE = [
    (re.compile(r"[^\S\n]+"), " "),
    (re.compile(r" *\n *"), "\n"),
    (re.compile(r"\n{2,}"), "\n\n"),
    (re.compile(r"(?<!\n)\n(?!\n)"), " "),
]


def _reference(text: str) -> tuple[str, tuple[int, ...]] | None:
    mt = MappedText.identity(text).sub(normalize._CR, "\n")
    mt = mt.sub(normalize._INVISIBLE, "").sub(normalize._CONTROL, " ")
    mt = mt.sub(normalize._CLUSTER, normalize._unicode_cluster)
    mt = MappedText(mt.text.translate(normalize._QUOTES), mt.offsets)
    for pattern, repl in _REFERENCE_WHITESPACE:
        mt = mt.sub(pattern, repl)
    mt = mt.strip()
    return (mt.text, mt.offsets) if mt.text else None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t\n\r\u00a0\u2003\u200bab.\u2019\u0301", max_size=80))
def test_whitespace_rules_skip_only_what_would_not_change(text: str) -> None:
    got = normalise_text(text)
    assert (None if got is None else (got.text, got.offsets)) == _reference(text)
