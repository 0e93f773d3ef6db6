"""Reading article files (seed text format, JSON Lines) into `Article` records.

Pure: takes bytes/text and a name for error messages, returns articles. The publisher in
`streams/` does the file and Kafka I/O.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from processors.errors import InputFileError
from processors.models import Article

ID_PREFIX = "ww-"


def derive_id(
    *, source: str | None = None, url: str | None = None, title: str = "", body: str = ""
) -> str:
    """A stable article id: from source+url when there is a url, else from title+body.

    The same article re-sent by the same wire gets the same id, so indexing it again
    overwrites the document instead of adding a second one.
    """
    if url:
        basis = f"url\x1f{(source or '').strip().lower()}\x1f{url.strip()}"
    else:
        basis = f"text\x1f{' '.join(title.split())}\x1f{' '.join(body.split())}"
    return ID_PREFIX + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


def parse_text_article(text: str, *, name: str = "<text>", source: str | None = None) -> Article:
    """Parse the seed format: a title line, a blank line, then the body.

    A file whose second line is not blank is read as title + body all the same (first
    line = title); a file with no body is an error naming the file.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise InputFileError(f"{name}: empty file, expected a title line, a blank line, a body")
    title = lines[0].strip()
    body = "\n".join(lines[1:]).strip()
    if not body:
        raise InputFileError(f"{name}: line 1 is a title but no body follows")
    return Article(
        id=derive_id(source=source, title=title, body=body),
        title=title,
        body=body,
        source=source,
    )


def article_from_mapping(
    record: dict[str, Any], *, name: str = "<record>", default_source: str | None = None
) -> Article:
    """Build an article from a JSON object (`id, title, body, published_at, source, url`)."""
    if not isinstance(record, dict):
        raise InputFileError(f"{name}: expected a JSON object, got {type(record).__name__}")
    title = str(record.get("title") or "").strip()
    body = str(record.get("body") or "").strip()
    if not title and not body:
        raise InputFileError(f"{name}: no title and no body: not an article")
    source = record.get("source") or default_source
    url = record.get("url") or None
    art_id = record.get("id")
    if not art_id:
        art_id = derive_id(source=source, url=url, title=title, body=body)
    fields: dict[str, Any] = {
        "id": str(art_id),
        "title": title,
        "body": body,
        "source": source,
        "url": url,
        "version": record.get("version"),
    }
    published = record.get("published_at")
    try:
        return Article.model_validate({**fields, "published_at": published})
    except ValidationError as exc:
        if published is not None and any(e["loc"] == ("published_at",) for e in exc.errors()):
            # Keep the article; record the date problem instead of losing the story.
            return Article.model_validate(
                {**fields, "date_problem": f"unparseable published_at {published!r}"}
            )
        raise InputFileError(f"{name}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "record"
    return f"{loc}: {err['msg']}"


def parse_datetime(value: str) -> datetime | None:
    """Parse an ISO-8601 date or datetime; `None` when it cannot be read."""
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
