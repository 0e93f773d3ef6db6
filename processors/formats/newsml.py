"""IPTC NewsML-G2 text items (`newsItem`, alone or in a `newsMessage`) to `Article`.

Read: `@guid` (the id) and `@version` (default 1), `itemMeta/versionCreated`,
`itemMeta/firstCreated`, `itemMeta/provider` (`@literal`, a `name`, or the code of
`@qcode`), `itemMeta/pubStatus`, `contentMeta/headline`, and the body from
`contentSet/inlineXML` (XHTML or NITF: paragraphs kept, heads dropped) or else
`contentSet/inlineData` (plain text, or HTML by `@contenttype`).

Parsed with defusedxml: a DTD is refused, so entity expansion and external entities cannot
happen whatever the input.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from processors.errors import InputFileError
from processors.formats.common import (
    int_version,
    item_article,
    plain_text,
    refuse_entity_declarations,
)
from processors.models import Article

NAR = "http://iptc.org/std/nar/2006-10-01/"
_N = f"{{{NAR}}}"
# Parts of an inline document that are not the story text.
_SKIP = {"head", "body.head", "body.end", "script", "style", "title"}
_BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hl2", "block", "pre", "td"}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_xml(data: bytes, name: str) -> ET.Element:
    """The root element of a safe XML document; `InputFileError` with line and column if not."""
    refuse_entity_declarations(data, name)
    try:
        root: ET.Element = SafeET.fromstring(data, forbid_dtd=True)
    except ET.ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise InputFileError(f"{name}:{line}:{col + 1}: not well-formed XML ({reason})") from exc
    except DefusedXmlException as exc:
        raise InputFileError(
            f"{name}: refused: {type(exc).__name__} (DTDs and entity declarations are not accepted)"
        ) from exc
    return root


def _paragraphs(elem: ET.Element, out: list[str], buf: list[str]) -> None:
    name = _local(elem.tag)
    if name in _SKIP:
        if elem.tail:
            buf.append(elem.tail)
        return
    block = name in _BLOCKS
    if block:
        out.append("".join(buf))
        buf.clear()
    if elem.text:
        buf.append(elem.text)
    for child in elem:
        _paragraphs(child, out, buf)
    if block:
        out.append("".join(buf))
        buf.clear()
    if elem.tail:
        buf.append(elem.tail)


def inline_xml_text(container: ET.Element) -> str:
    """Story text of an `inlineXML` element: one paragraph per block, heads and titles dropped."""
    out: list[str] = []
    buf: list[str] = []
    for child in container:
        _paragraphs(child, out, buf)
    out.append("".join(buf))
    paragraphs = (" ".join(p.split()) for p in out)
    return "\n\n".join(p for p in paragraphs if p)


def _text(elem: ET.Element | None) -> str:
    return " ".join("".join(elem.itertext()).split()) if elem is not None else ""


def _provider(meta: ET.Element | None) -> str | None:
    prov = meta.find(f"{_N}provider") if meta is not None else None
    if prov is None:
        return None
    if prov.get("literal"):
        return prov.get("literal")
    name = _text(prov.find(f"{_N}name"))
    if name:
        return name
    qcode = prov.get("qcode") or ""
    return qcode.split(":", 1)[-1] or None


def _body(item: ET.Element, where: str) -> str:
    content = item.find(f"{_N}contentSet")
    if content is None:
        raise InputFileError(f"{where}: no contentSet")
    inline_xml = content.find(f"{_N}inlineXML")
    if inline_xml is not None:
        return inline_xml_text(inline_xml)
    inline_data = content.find(f"{_N}inlineData")
    if inline_data is not None:
        return plain_text(inline_data.text or "", inline_data.get("contenttype"))
    if content.find(f"{_N}remoteContent") is not None:
        raise InputFileError(f"{where}: the body is remoteContent only (no inline text to index)")
    raise InputFileError(f"{where}: contentSet has neither inlineXML nor inlineData")


def article_from_news_item(
    item: ET.Element, *, where: str, default_source: str | None = None
) -> Article:
    """One `newsItem` element as an `Article`; `InputFileError` naming `where` if it is not one."""
    guid = (item.get("guid") or "").strip()
    if not guid:
        raise InputFileError(f"{where}: newsItem without guid")
    where = f"{where} guid={guid}"
    raw_version = item.get("version")
    version = 1 if raw_version is None else int_version(raw_version)
    if version is None:
        raise InputFileError(f"{where}: version {raw_version!r} is not a non-negative integer")
    meta = item.find(f"{_N}itemMeta")
    item_class = meta.find(f"{_N}itemClass") if meta is not None else None
    if item_class is not None and item_class.get("qcode") not in (None, "ninat:text"):
        raise InputFileError(f"{where}: itemClass {item_class.get('qcode')} is not a text item")
    status = meta.find(f"{_N}pubStatus") if meta is not None else None
    if status is not None and status.get("qcode") == "stat:canceled":
        raise InputFileError(f"{where}: pubStatus stat:canceled (a withdrawn item)")
    cmeta = item.find(f"{_N}contentMeta")
    headline = _text(cmeta.find(f"{_N}headline")) if cmeta is not None else ""
    published: str | None = None
    if meta is not None:
        published = (
            (meta.findtext(f"{_N}firstCreated") or "").strip()
            or (meta.findtext(f"{_N}versionCreated") or "").strip()
            or None
        )
    return item_article(
        where=where,
        guid=guid,
        title=headline,
        body=_body(item, where),
        published=published,
        source=_provider(meta) or default_source,
        url=None,
        version=version,
    )


def iter_newsml(
    data: bytes, *, name: str, default_source: str | None = None
) -> Iterator[Article | InputFileError]:
    """Articles of a NewsML-G2 document (`newsItem` or `newsMessage`); errors name the item."""
    try:
        root = parse_xml(data, name)
    except InputFileError as exc:
        yield exc
        return
    kind = _local(root.tag)
    if root.tag == f"{_N}newsItem":
        items = [root]
    elif root.tag == f"{_N}newsMessage":
        items = root.findall(f"{_N}itemSet/{_N}newsItem")
        if not items:
            yield InputFileError(f"{name}: newsMessage without newsItem")
    else:
        yield InputFileError(f"{name}: root <{kind}> is not a NewsML-G2 newsItem or newsMessage")
        return
    for i, item in enumerate(items, start=1):
        where = name if len(items) == 1 and item is root else f"{name}: newsItem {i}"
        try:
            yield article_from_news_item(item, where=where, default_source=default_source)
        except InputFileError as exc:
            yield exc
