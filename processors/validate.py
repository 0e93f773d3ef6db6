"""Validation at the edge: raw Kafka bytes -> `Article`, or `InvalidArticle` with a reason.

Reasons are short stable words (they become the dead letter's `reason`):
`too_large`, `invalid_utf8`, `binary`, `too_deep`, `invalid_json`, `invalid_number`,
`invalid_string`, `not_an_object`, `invalid_field`, `missing_text`, `empty_body`.

Nothing else sees a message before these checks: size, then UTF-8, then control characters,
then nesting depth (checked before decoding, see `processors.safejson`), numbers (finite,
64-bit), strings (no lone surrogates), then the fields (`version` within Elasticsearch's
external version range, 0 to 2^63-1, is checked by the `Article` model).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from pydantic import ValidationError

from processors.errors import InvalidArticle
from processors.models import Article
from processors.safejson import JSONRejected, decode_json

_HTML_HINT = re.compile(
    r"<\s*(p|div|br|span|a|script|style|html|body|b|i|em|strong|h[1-6]|ul|li)\b", re.I
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SKIP_TAGS = {"script", "style", "noscript", "template", "head"}
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text))


def html_to_text(text: str) -> str:
    """Plain text of an HTML fragment: markup, scripts and styles dropped, paragraphs kept."""
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    raw = html.unescape("".join(parser.parts))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", raw)]
    return "\n\n".join(p for p in paragraphs if p)


def _is_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\n\r")
    return controls > max(8, len(text[:4096]) // 20)


def parse_raw_article(raw: bytes, *, max_bytes: int = 1_000_000) -> Article:
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
    return validate_mapping(data)


def validate_mapping(data: dict[str, Any]) -> Article:
    """Validate a decoded JSON object as an article (types, text, date, HTML)."""
    for key in ("title", "body", "source", "url"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidArticle(
                "invalid_field", detail=f"{key} must be a string, got {type(data[key]).__name__}"
            )
    # Control characters that arrive escaped in the JSON ("\u0000") are dropped from the
    # text: they carry nothing a reader sees and break tokenisers and Kibana displays.
    title = _CONTROLS.sub("", data.get("title") or "").strip()
    body = _CONTROLS.sub("", data.get("body") or "").strip()
    if not title and not body:
        raise InvalidArticle("missing_text", detail="neither title nor body")
    if not body:
        raise InvalidArticle("empty_body", detail="the body is empty")
    if looks_like_html(body):
        body = html_to_text(body)
        if not body:
            raise InvalidArticle("empty_body", detail="the HTML body has no text")
    if looks_like_html(title):
        title = html_to_text(title)
    fields = {**data, "title": title, "body": body}
    date_problem = None
    published = data.get("published_at")
    if published is not None and _parse_date(published) is None:
        date_problem = f"unparseable published_at {str(published)[:100]!r}"
        fields["published_at"] = None
    fields["date_problem"] = date_problem
    try:
        return Article.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        raise InvalidArticle("invalid_field", detail=f"{loc}: {err['msg']}") from exc


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
