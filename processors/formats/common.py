"""What the format readers share: ids from guids, versions, dates, the XML guard, articles."""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from processors.errors import InputFileError
from processors.ingest import ID_PREFIX, parse_datetime
from processors.models import Article
from processors.validate import html_to_text, looks_like_html

# A DTD that declares entities is how entity-expansion ("billion laughs") and external-entity
# attacks start; no wire format we read needs one, so such a document is refused unparsed.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def guid_id(guid: str) -> str:
    """A stable article id from the item's globally unique id (or its canonical URL).

    Hashed so that any guid (a URN, a long URL with a query) becomes a short, safe key, and
    the same guid always gives the same id whichever feed or file carried the item.
    """
    basis = f"guid\x1f{guid.strip()}"
    return ID_PREFIX + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


def int_version(value: Any) -> int | None:
    """A wire version as a non-negative int (`"3"` -> 3); `None` when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
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


def when(value: Any) -> datetime | None:
    """An ISO-8601 timestamp, or `None`."""
    return parse_datetime(value) if isinstance(value, str) and value.strip() else None


def struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


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


def build_article(
    *,
    where: str,
    guid: str | None,
    title: str,
    body: str,
    published: str | datetime | None,
    source: str | None,
    url: str | None,
    version: int | None,
) -> Article:
    """The `Article` of one item; a date that cannot be read is kept as `date_problem`.

    The id comes from the guid, else the canonical URL; an item with neither falls back to a
    hash of its text (stable only while the text does not change).
    """
    title = " ".join(title.split())
    body = body.strip()
    if not title and not body:
        raise InputFileError(f"{where}: no headline and no body: not an article")
    key = guid or url
    if key:
        art_id = guid_id(key)
    else:
        from processors.ingest import derive_id

        art_id = derive_id(source=source, title=title, body=body)
    fields: dict[str, Any] = {
        "id": art_id,
        "title": title,
        "body": body,
        "source": source or None,
        "url": url or None,
        "version": version,
    }
    parsed = published if isinstance(published, datetime) else when(published)
    if published is not None and parsed is None:
        fields["date_problem"] = f"unparseable date {published!r}"
    else:
        fields["published_at"] = parsed
    try:
        return Article.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        raise InputFileError(f"{where}: {loc}: {err['msg']}") from exc
