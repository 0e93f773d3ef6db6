"""Which format a document is in: by its content first, its file name when content is unclear.

Formats: `text` (seed text), `jsonl`, `json` (one object or an array: ninjs or our article
objects), `newsml` (NewsML-G2), `rss`, `atom`.
"""

from __future__ import annotations

import re

from processors.errors import InputFileError

FORMATS = ("text", "jsonl", "json", "ninjs", "newsml", "rss", "atom")
"""Values of `--format` besides `auto` (`ninjs` is read as `json`, whose objects may be ninjs)."""

_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_XML_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>)", re.S)
_ROOTS = {
    b"newsItem": "newsml",
    b"newsMessage": "newsml",
    b"rss": "rss",
    b"RDF": "rss",
    b"feed": "atom",
}
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def xml_root(data: bytes) -> str | None:
    """Local name of the root element of an XML document (`None` when not XML)."""
    pos = 0
    head = data[:65536].lstrip(b"\xef\xbb\xbf")
    while True:
        m = _XML_PROLOG.match(head, pos)
        if m is None:
            break
        pos = m.end()
    rest = head[pos:].lstrip()
    if not rest.startswith(b"<"):
        return None
    root = _XML_ROOT.match(rest)
    return root.group(2).decode("ascii") if root else None


def detect_format(data: bytes, name: str) -> str:
    """The format of `data` (named `name` for the error); `InputFileError` when unknown."""
    lower = name.lower()
    if lower.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(".txt"):
        return "text"
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        root = xml_root(data)
        if root is None:
            raise InputFileError(f"{name}: looks like XML but has no root element")
        fmt = _ROOTS.get(root.encode())
        if fmt is None:
            raise InputFileError(
                f"{name}: XML root <{root}> is not NewsML-G2 (newsItem, newsMessage), "
                "RSS (rss) or Atom (feed)"
            )
        return fmt
    if head.startswith((b"{", b"[")):
        first_line = head.split(b"\n", 1)[0].strip()
        # One object per line is JSON Lines; a document spread over lines is JSON.
        if lower.endswith(".json") or not (
            first_line.startswith(b"{") and first_line.endswith(b"}")
        ):
            return "json"
        return "jsonl"
    if lower.endswith((".xml", ".rss", ".atom", ".json")):
        ext = lower.rsplit(".", 1)[-1]
        raise InputFileError(f"{name}: empty or unrecognised content for a .{ext} file")
    return "text"
