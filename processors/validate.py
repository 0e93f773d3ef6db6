"""Validation at the edge: raw Kafka bytes -> `Article`, or `InvalidArticle` with a reason.

Reasons are short stable words (they become the dead letter's `reason`):
`too_large`, `invalid_utf8`, `binary`, `too_deep`, `invalid_json`, `invalid_number`,
`invalid_string`, `not_an_object`, `invalid_field`, `missing_text`, `empty_body`.

Nothing else sees a message before these checks: size, then UTF-8, then control characters,
then nesting depth (checked before decoding, see `processors.safejson`), numbers (finite,
64-bit), strings (no lone surrogates); then the decoded object becomes an article through
`processors.articles` (field types, an id, text cleaning, the date, `version` within
Elasticsearch's external version range, 0 to 2^63-1), the same builder the publisher uses.
"""

from __future__ import annotations

from typing import Any

from processors.articles import MAX_ARTICLE_BYTES, article_from_mapping
from processors.errors import InvalidArticle
from processors.models import Article
from processors.safejson import JSONRejected, decode_json


def _is_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\n\r")
    return controls > max(8, len(text[:4096]) // 20)


def parse_raw_article(raw: bytes, *, max_bytes: int = MAX_ARTICLE_BYTES) -> Article:
    """Decode and validate one raw message value."""
    if len(raw) > max_bytes:
        raise InvalidArticle("too_large", detail=f"{len(raw)} bytes, limit {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArticle("invalid_utf8", detail=f"byte {exc.start}: {exc.reason}") from exc
    if _is_binary(text):
        raise InvalidArticle("binary", detail="control characters: not a JSON text")
    try:
        data: Any = decode_json(text)
    except JSONRejected as exc:
        raise InvalidArticle(exc.reason, detail=exc.detail) from exc
    if not isinstance(data, dict):
        raise InvalidArticle("not_an_object", detail=f"got a JSON {type(data).__name__}")
    return validate_mapping(data, max_bytes=max_bytes)


def validate_mapping(data: dict[str, Any], *, max_bytes: int = MAX_ARTICLE_BYTES) -> Article:
    """Validate a decoded JSON object as an article (types, id, text, date, HTML, size)."""
    return article_from_mapping(data, id_required=True, max_bytes=max_bytes)
