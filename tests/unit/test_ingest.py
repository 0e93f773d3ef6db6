"""Reading the input formats of the walking skeleton, and stable article ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processors.articles import derive_id
from processors.errors import InputFileError
from processors.formats.jsonl import iter_json_lines
from processors.ingest import parse_text_article

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_6842bcb70202069f.txt"


def test_seed_file_is_title_blank_line_body() -> None:
    article = parse_text_article(SEED.read_text(), name=str(SEED))
    assert article.title == "Japan Confirms With U.s., S. Korea Plans To Coordinate Over N. Korea"
    # The body starts with the headline glued to the first sentence, as the wire sends it.
    assert article.body.startswith(
        "Japan confirms with U.S., S. Korea plans to coordinate over N. KoreaJapan confirmed"
    )
    assert article.body.endswith(
        "to dissuade North Korea from conducting the nuclear test, according to the officials."
    )
    assert "\n\n" in article.body  # paragraphs are kept
    assert article.id == derive_id(title=article.title, body=article.body)


@pytest.mark.parametrize(
    ("text", "title", "body"),
    [
        ("Title\n\nBody text.", "Title", "Body text."),
        ("\ufeffTitle\r\n\r\nBody\r\nmore", "Title", "Body\nmore"),  # BOM and CRLF
        ("\n\n  Title  \n\n\nBody", "Title", "Body"),  # leading blank lines, padding
        ("Title\nBody without blank line", "Title", "Body without blank line"),
    ],
)
def test_text_format_variants(text: str, title: str, body: str) -> None:
    article = parse_text_article(text, name="x.txt")
    assert (article.title, article.body) == (title, body)


@pytest.mark.parametrize("text", ["", "   \n\n", "Only a title\n\n   "])
def test_text_without_body_is_an_error_naming_the_file(text: str) -> None:
    with pytest.raises(InputFileError, match=r"wire/a\.txt"):
        parse_text_article(text, name="wire/a.txt")


def test_ids_are_stable_and_depend_on_what_identifies_the_article() -> None:
    a = derive_id(source="Kyodo", url="https://example.org/1", title="A", body="x")
    assert a == derive_id(source="kyodo ", url="https://example.org/1", title="B", body="y")
    assert a != derive_id(source="Kyodo", url="https://example.org/2")
    assert a != derive_id(source="AP", url="https://example.org/1")
    # Without a url the text decides; whitespace differences do not.
    t = derive_id(title="Quake  hits", body="An earthquake\nhit.")
    assert t == derive_id(title="Quake hits", body="An earthquake hit.")
    assert t != derive_id(title="Quake hits", body="Another earthquake hit.")
    assert t.startswith("ww-") and len(t) == 27


def test_jsonl_uses_given_ids_and_reports_bad_lines_with_position() -> None:
    lines = [
        json.dumps(
            {
                "id": "r-1",
                "title": "T",
                "body": "B",
                "source": "Reuters",
                "published_at": "1987-02-26T15:01:01",
            }
        ),
        "{not json",
        json.dumps({"title": "No id", "body": "B", "url": "https://x/1", "source": "AP"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "r-5", "title": "T", "body": "B", "published_at": "26-FEB-1987"}),
        json.dumps({"id": "r-6", "source": "AP"}),
    ]
    items = list(iter_json_lines("\n".join(lines) + "\n\n", name="f.jsonl"))
    assert [type(i).__name__ for i in items] == [
        "Article",
        "InputFileError",
        "Article",
        "InputFileError",
        "Article",
        "InputFileError",
    ]
    first, bad_json, derived, not_object, bad_date, no_text = items
    assert first.id == "r-1" and first.published_at is not None  # type: ignore[union-attr]
    assert str(bad_json).startswith("f.jsonl:2: invalid JSON")
    assert derived.id == derive_id(source="AP", url="https://x/1")  # type: ignore[union-attr]
    assert "f.jsonl:4" in str(not_object)
    assert bad_date.published_at is None  # type: ignore[union-attr]
    assert "26-FEB-1987" in (bad_date.date_problem or "")  # type: ignore[union-attr]
    assert "f.jsonl:6" in str(no_text) and "no title and no body" in str(no_text)
