"""RSS 2.0 and Atom 1.0 feeds to `Article`, with feedparser (pure parsing: no fetching here).

Per entry: the id from the entry's guid (RSS `<guid>`, Atom `<id>`), else its link; the
body from the full content (Atom `<content>`, RSS `content:encoded`) else the summary
(`<description>`/`<summary>`), HTML made text; `published_at` from the published time,
else the updated time; the source from the entry's `<source>`, else the feed title. The
version is the entry's own updated time (Atom `<updated>`, RSS `atom:updated` or
`dc:modified`) in milliseconds; RSS items without one get theirs from the publisher's state
(see `processors/formats/versioning.py`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any
from xml.sax import SAXParseException

import feedparser

from processors.errors import InputFileError
from processors.formats.common import (
    epoch_ms,
    item_article,
    plain_text,
    refuse_entity_declarations,
)
from processors.models import Article


def _get(entry: Any, key: str) -> Any:
    # Plain dict access: FeedParserDict aliases `updated` to `published` and we must not.
    return dict.get(entry, key)


def _body(entry: Any) -> str:
    contents = _get(entry, "content") or []
    for content in contents:
        value = content.get("value") or ""
        if value.strip():
            return plain_text(value, content.get("type"))
    detail = _get(entry, "summary_detail") or {}
    summary = _get(entry, "summary") or ""
    return plain_text(summary, detail.get("type")) if summary else ""


def _source(entry: Any, feed: Any, default: str | None) -> str | None:
    src = _get(entry, "source") or {}
    title = src.get("title") if isinstance(src, dict) else None
    return title or _get(feed, "title") or default


def article_from_entry(
    entry: Any, feed: Any, *, where: str, default_source: str | None = None
) -> Article:
    guid = (_get(entry, "id") or "").strip() or None
    link = (_get(entry, "link") or "").strip() or None
    updated: time.struct_time | None = _get(entry, "updated_parsed")
    published: time.struct_time | None = _get(entry, "published_parsed")
    raw_date = _get(entry, "published") or _get(entry, "updated")
    return item_article(
        where=where,
        guid=guid,
        title=_get(entry, "title") or "",
        body=_body(entry),
        # feedparser's parsed time when it read the date, else the text as the wire sent it
        published=published or updated or raw_date,
        source=_source(entry, feed, default_source),
        url=link,
        version=epoch_ms(updated),
    )


def iter_feed(
    data: bytes,
    *,
    name: str,
    default_source: str | None = None,
    base_url: str | None = None,
) -> Iterator[Article | InputFileError]:
    """Articles of an RSS or Atom document.

    A document that is not a feed is one error. A feed that is not well-formed XML is reported
    with its line and column; the entries feedparser's lenient parser still recovered from it
    are published all the same (feeds in the wild often carry a stray `&`).
    """
    try:
        refuse_entity_declarations(data, name)
    except InputFileError as exc:
        yield exc
        return
    headers = {"content-location": base_url} if base_url else None
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version"):
        detail = f" ({_describe(problem)})" if problem is not None else ""
        yield InputFileError(f"{name}{_position(problem)}: not an RSS or Atom feed{detail}")
        return
    if isinstance(problem, SAXParseException):
        yield InputFileError(
            f"{name}{_position(problem)}: not well-formed XML ({problem.getMessage()}); "
            f"{len(parsed.entries)} entr(ies) recovered by the lenient parser"
        )
    for i, entry in enumerate(parsed.entries, start=1):
        where = f"{name}: entry {i}"
        try:
            yield article_from_entry(entry, parsed.feed, where=where, default_source=default_source)
        except InputFileError as exc:
            yield exc


def _position(problem: object) -> str:
    if isinstance(problem, SAXParseException):
        line, col = problem.getLineNumber(), problem.getColumnNumber()
        return f":{line}:{(col or 0) + 1}"
    return ""


def _describe(problem: object) -> str:
    if isinstance(problem, SAXParseException):
        return str(problem.getMessage())
    return str(problem)
