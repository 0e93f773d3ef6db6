"""JSON documents and JSON Lines: our own article objects and ninjs objects, line by line.

A `.json` document is one object or an array of objects; a JSON Lines text has one object
per line. Each object is read as ninjs when it has ninjs shape, else as our article mapping
(`id, title, body, published_at, source, url, version`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from processors.errors import InputFileError
from processors.formats.ninjs import article_from_ninjs, looks_like_ninjs
from processors.ingest import article_from_mapping
from processors.models import Article
from processors.safejson import JSONRejected, decode_json


def _what(exc: JSONRejected) -> str:
    return "invalid JSON" if exc.reason == "invalid_json" else exc.reason.replace("_", " ")


def article_from_object(record: Any, *, where: str, default_source: str | None = None) -> Article:
    if looks_like_ninjs(record):
        return article_from_ninjs(record, where=where, default_source=default_source)
    # The size is checked by read_document, against the publisher's limit.
    return article_from_mapping(record, name=where, default_source=default_source, max_bytes=None)


def iter_json_lines(
    text: str, *, name: str, default_source: str | None = None
) -> Iterator[Article | InputFileError]:
    """Articles of a JSON Lines text; a bad line yields an `InputFileError` naming file:line."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            record = decode_json(line)
        except JSONRejected as exc:
            column = f" at column {exc.at[1]}" if exc.at else ""
            yield InputFileError(f"{where}: {_what(exc)} ({exc.msg}{column})")
            continue
        try:
            yield article_from_object(record, where=where, default_source=default_source)
        except InputFileError as exc:
            yield exc


def iter_json_document(
    text: str, *, name: str, default_source: str | None = None
) -> Iterator[Article | InputFileError]:
    """Articles of one JSON document: an object, or an array of objects (`name[i]` in errors)."""
    try:
        doc = decode_json(text)
    except JSONRejected as exc:
        where = f"{name}:{exc.at[0]}:{exc.at[1]}" if exc.at else name
        yield InputFileError(f"{where}: {_what(exc)} ({exc.msg})")
        return
    if isinstance(doc, list):
        for i, record in enumerate(doc):
            try:
                yield article_from_object(
                    record, where=f"{name}[{i}]", default_source=default_source
                )
            except InputFileError as exc:
                yield exc
    else:
        try:
            yield article_from_object(doc, where=name, default_source=default_source)
        except InputFileError as exc:
            yield exc
