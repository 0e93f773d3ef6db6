"""Reading article files (seed text format, JSON Lines objects) into `Article` records.

Pure: takes text or decoded JSON and a name for error messages, returns articles built by
`processors.articles.build_article`; an item that is not an article the worker would take is
an `InputFileError` naming the file (and carrying the worker's reason). The publisher in
`streams/` does the file and Kafka I/O.
"""

from __future__ import annotations

from typing import Any

from processors.articles import MAX_ARTICLE_BYTES, build_article, refused_as_input_error
from processors.articles import article_from_mapping as _from_mapping
from processors.errors import InputFileError
from processors.models import Article


def parse_text_article(
    text: str,
    *,
    name: str = "<text>",
    source: str | None = None,
    max_bytes: int | None = MAX_ARTICLE_BYTES,
) -> Article:
    """Parse the seed format: a title line, a blank line, then the body.

    A file whose second line is not blank is read as title + body all the same (first
    line = title); a file with no body is an error naming the file (`empty_body`).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise InputFileError(
            f"{name}: empty file, expected a title line, a blank line, a body",
            reason="missing_text",
        )
    with refused_as_input_error(name):
        return build_article(
            title=lines[0], body="\n".join(lines[1:]), source=source, max_bytes=max_bytes
        )


def article_from_mapping(
    record: Any,
    *,
    name: str = "<record>",
    default_source: str | None = None,
    max_bytes: int | None = MAX_ARTICLE_BYTES,
) -> Article:
    """Build an article from a JSON object (`id, title, body, published_at, source, url`)."""
    if not isinstance(record, dict):
        raise InputFileError(f"{name}: expected a JSON object, got {type(record).__name__}")
    with refused_as_input_error(name):
        return _from_mapping(record, default_source=default_source, max_bytes=max_bytes)
