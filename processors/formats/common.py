"""What the format readers share: versions, HTML bodies, the XML guard, and the one builder."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any

from processors.articles import build_article, refused_as_input_error
from processors.errors import InputFileError
from processors.models import Article
from processors.text import html_to_text, looks_like_html

# A DTD that declares entities is how entity-expansion ("billion laughs") and external-entity
# attacks start; no wire format we read needs one, so such a document is refused unparsed.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def int_version(value: Any) -> int | None:
    """A wire version as a non-negative int (`"3"` -> 3); `None` when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())  # ASCII only: "²".isdigit() is true, int("²") raises
    return None


def epoch_ms(when: datetime | time.struct_time | None) -> int | None:
    """Milliseconds since the epoch (UTC), the version of an item that has only a timestamp."""
    if when is None:
        return None
    if isinstance(when, time.struct_time):
        return calendar.timegm(when) * 1000
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def plain_text(value: str, content_type: str | None = None) -> str:
    """Body text: HTML (declared, or recognised) becomes text with its paragraphs kept."""
    declared_html = bool(content_type) and "html" in (content_type or "").lower()
    if declared_html or looks_like_html(value):
        return html_to_text(value)
    return value.strip()


def refuse_entity_declarations(data: bytes, name: str) -> None:
    """Raise when an XML document declares entities (entity-expansion and XXE attacks)."""
    match = _ENTITY_DECL.search(data)
    if match is not None:
        line = data.count(b"\n", 0, match.start()) + 1
        raise InputFileError(
            f"{name}:{line}: refused: the document declares XML entities (<!ENTITY ...>), "
            "which wire formats never need and entity-expansion attacks use"
        )


def item_article(
    *,
    where: str,
    guid: str | None,
    title: str,
    body: str,
    published: object,
    source: str | None,
    url: str | None,
    version: int | None,
) -> Article:
    """The `Article` of one item (`build_article`); one the worker would refuse is an
    `InputFileError` naming `where` and carrying the reason (`empty_body`, ...).

    The id comes from the guid, else the canonical URL; an item with neither falls back to a
    hash of its text (stable only while the text does not change).
    """
    with refused_as_input_error(where):
        return build_article(
            guid=guid or url,
            title=title,
            body=body,
            published=published,
            source=source,
            url=url,
            version=version,
            max_bytes=None,  # read_document checks the size, against the publisher's limit
        )
