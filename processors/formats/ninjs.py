"""IPTC ninjs (News in JSON), generations 1.x and 2.x, to `Article`.

1.x carries `headline`, `body_text` / `body_html` and `located`; 2.x carries arrays of
`headlines` and `bodies` (each `{value, role, contenttype}`). Both carry `uri` (the only
required property, the item's guid), `version` (a string), `versioncreated`, `firstcreated`
and `copyrightholder`. The id is made from `uri`; the version is `version` when it is a
number, else the `versioncreated` time in milliseconds.
"""

from __future__ import annotations

from typing import Any

from processors.dates import parse_datetime
from processors.errors import InputFileError
from processors.formats.common import epoch_ms, int_version, item_article, plain_text
from processors.models import Article

_NINJS_ONLY = {"uri", "headlines", "bodies", "body_text", "body_html", "headline", "versioncreated"}


def looks_like_ninjs(record: Any) -> bool:
    """A JSON object in ninjs shape (it has `uri` or ninjs text fields, not our `body`/`title`)."""
    return (
        isinstance(record, dict)
        and bool(_NINJS_ONLY & record.keys())
        and "body" not in record
        and "title" not in record
    )


def generation(record: dict[str, Any]) -> int:
    """2 for the 2.x shape (`headlines`/`bodies` arrays), else 1."""
    return (
        2
        if isinstance(record.get("headlines"), list) or isinstance(record.get("bodies"), list)
        else 1
    )


def _pick(entries: Any, where: str, field: str) -> dict[str, Any] | None:
    """The main entry of a 2.x array: role "main" (or no role) first, else the first."""
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputFileError(f"{where}: {field} must be an array of objects")
    if not entries:
        return None
    for entry in entries:
        if entry.get("role") in (None, "main", "body", "text") and isinstance(
            entry.get("value"), str
        ):
            return dict(entry)
    return dict(entries[0])


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputFileError(f"{where}: {key} must be a string, got {type(value).__name__}")
    return value


def article_from_ninjs(
    record: dict[str, Any], *, where: str, default_source: str | None = None
) -> Article:
    """One ninjs object (1.x or 2.x) as an `Article`; `InputFileError` naming `where` if not."""
    if not isinstance(record, dict):
        raise InputFileError(f"{where}: expected a ninjs object, got {type(record).__name__}")
    uri = _text(record, "uri", where).strip()
    if not uri:
        raise InputFileError(f"{where}: ninjs object without uri (its one required property)")
    if record.get("type") not in (None, "text", "composite"):
        raise InputFileError(f"{where}: ninjs type {record.get('type')!r} is not a text item")
    if generation(record) == 2:
        head = _pick(record.get("headlines"), where, "headlines")
        body_entry = _pick(record.get("bodies"), where, "bodies")
        title = str(head["value"]) if head and isinstance(head.get("value"), str) else ""
        body = ""
        if body_entry and isinstance(body_entry.get("value"), str):
            body = plain_text(body_entry["value"], body_entry.get("contenttype"))
    else:
        title = _text(record, "headline", where)
        if record.get("body_text"):
            body = _text(record, "body_text", where).strip()
        else:
            body = plain_text(_text(record, "body_html", where), "text/html")
    version = int_version(record.get("version"))
    if version is None:
        version = epoch_ms(parse_datetime(record.get("versioncreated")))
    published = record.get("firstcreated") or record.get("versioncreated")
    source = record.get("copyrightholder") or record.get("provider") or default_source
    if isinstance(source, dict):  # some providers send {"name": ...}
        source = source.get("name") or default_source
    return item_article(
        where=where,
        guid=uri,
        title=title,
        body=body,
        published=published if isinstance(published, str) else None,
        source=str(source) if source else None,
        url=uri if uri.startswith(("http://", "https://")) else None,
        version=version,
    )
