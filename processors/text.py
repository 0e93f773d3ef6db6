"""Text cleaning every article gets, whichever path it comes by: controls, markup, whitespace.

`clean_title` and `clean_body` are idempotent (cleaning a clean text changes nothing), which is
what lets the worker re-validate what the publisher built and get the same article back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

from processors.errors import InvalidArticle

_HTML_HINT = re.compile(
    r"<\s*(p|div|br|span|a|script|style|html|body|b|i|em|strong|h[1-6]|ul|li)\b", re.I
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
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
MAX_MARKUP_PASSES = 8
"""Markup escaped inside markup (`&lt;p&gt;` in a `<p>`) is removed pass by pass until a pass
changes nothing, so clean text never still looks like HTML; a text still changing after this
many passes is refused (`invalid_field`)."""


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


def has_surrogates(text: str) -> bool:
    """True when `text` holds a lone surrogate (no UTF-8 encoding, no JSON a decoder takes)."""
    return bool(_SURROGATE.search(text))


def strip_controls(text: str) -> str:
    """`text` without C0 control characters (tab and line breaks kept) and DEL."""
    return _CONTROLS.sub("", text)


def _body_pass(text: str) -> str:
    text = strip_controls(text).replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_html(text):
        text = html_to_text(text)
    return text.strip()


def _title_pass(text: str) -> str:
    text = strip_controls(text)
    if looks_like_html(text):
        text = html_to_text(text)
    return " ".join(text.split())


def clean_body(text: str) -> str:
    """Article text: controls dropped, line breaks made `\\n`, HTML made text, ends trimmed."""
    return _until_clean(text, _body_pass, "body")


def clean_title(text: str) -> str:
    """A headline: controls dropped, HTML made text, whitespace made single spaces."""
    return _until_clean(text, _title_pass, "title")


def _until_clean(text: str, one_pass: Callable[[str], str], field: str) -> str:
    for _ in range(MAX_MARKUP_PASSES):
        cleaned = one_pass(text)
        if cleaned == text:
            return text
        text = cleaned
    raise InvalidArticle(
        "invalid_field",
        detail=f"{field}: markup escaped inside markup more than {MAX_MARKUP_PASSES} levels deep",
    )
