"""Readers of the wire formats: each turns a document into `Article`s or positioned errors.

`read_document(data, name=..., fmt="auto")` is the one entry point: it detects the format
(`detect.py`) and dispatches to one module per format. Pure: bytes in, articles out.
"""

from __future__ import annotations

from collections.abc import Iterator

from processors.articles import MAX_ARTICLE_BYTES, check_size
from processors.errors import InputFileError, InvalidArticle
from processors.formats.detect import FORMATS, detect_format
from processors.formats.feeds import iter_feed
from processors.formats.jsonl import iter_json_document, iter_json_lines
from processors.formats.newsml import iter_newsml
from processors.ingest import parse_text_article
from processors.models import Article

__all__ = ["FORMATS", "detect_format", "read_document"]


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name}: byte {exc.start}: not UTF-8 ({exc.reason})") from exc


def read_document(
    data: bytes,
    *,
    name: str,
    fmt: str = "auto",
    source: str | None = None,
    base_url: str | None = None,
    max_bytes: int = MAX_ARTICLE_BYTES,
) -> Iterator[Article | InputFileError]:
    """Articles of one document; what cannot be read is yielded as an `InputFileError`.

    Every article is made by `processors.articles.build_article`, so each one yielded is one
    the worker takes (`parse_raw_article` with the same `max_bytes`); an item the worker would
    refuse is an `InputFileError` with the worker's `reason` (`empty_body`, `too_large`, ...).
    """
    for item in _read(data, name=name, fmt=fmt, source=source, base_url=base_url):
        if isinstance(item, Article):
            try:
                check_size(item, max_bytes)
            except InvalidArticle as exc:
                yield InputFileError(f"{name}: article {item.id}: {exc}", reason=exc.reason)
                continue
        yield item


def _read(
    data: bytes, *, name: str, fmt: str, source: str | None, base_url: str | None
) -> Iterator[Article | InputFileError]:
    try:
        kind = detect_format(data, name) if fmt == "auto" else fmt
        if kind not in FORMATS:
            raise InputFileError(f"{name}: unknown format {kind!r} (one of {', '.join(FORMATS)})")
        if kind == "newsml":
            yield from iter_newsml(data, name=name, default_source=source)
        elif kind in ("rss", "atom"):
            yield from iter_feed(data, name=name, default_source=source, base_url=base_url)
        elif kind == "jsonl":
            yield from iter_json_lines(_decode(data, name), name=name, default_source=source)
        elif kind in ("json", "ninjs"):
            yield from iter_json_document(_decode(data, name), name=name, default_source=source)
        else:
            yield parse_text_article(_decode(data, name), name=name, source=source, max_bytes=None)
    except InputFileError as exc:
        yield exc
