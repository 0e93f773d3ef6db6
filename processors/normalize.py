"""Text normalisation that keeps every character mappable to the original text.

`MappedText` is a string plus, for each of its characters, the offset of the character in
the original text it came from, so an entity or event found in normalised text can be
highlighted in the text the wire sent. Every edit (unicode, quotes, whitespace, headline
split, casing repair) goes through `MappedText.sub`, which carries the mapping along.

Normalisers that cannot produce a usable value return `None` instead of raising
(followthemoney's `clean()` convention).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class MappedText:
    """Normalised text with a map back to the original."""

    text: str
    """The normalised text."""
    offsets: tuple[int, ...]
    """`offsets[i]` is the original offset of `text[i]`; one extra entry maps the end."""

    @classmethod
    def identity(cls, text: str) -> MappedText:
        return cls(text, tuple(range(len(text) + 1)))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that `text[start:end]` came from."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} outside text of length {len(self.text)}")
        if start == end:
            return self.offsets[start], self.offsets[start]
        # The end maps through the last character kept, so removed trailing text is not included.
        return self.offsets[start], self.offsets[end - 1] + 1

    def sub(
        self, pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str]
    ) -> MappedText:
        """`re.sub` that keeps the offset map.

        A replacement of the same length maps character by character; otherwise every
        character of the replacement maps to the start of the match.
        """
        parts: list[str] = []
        offs: list[int] = []
        pos = 0
        for m in pattern.finditer(self.text):
            parts.append(self.text[pos : m.start()])
            offs.extend(self.offsets[pos : m.start()])
            new = repl(m) if callable(repl) else m.expand(repl)
            if len(new) == m.end() - m.start():
                offs.extend(self.offsets[m.start() : m.end()])
            else:
                offs.extend([self.offsets[m.start()]] * len(new))
            parts.append(new)
            pos = m.end()
        if pos == 0 and not parts:
            return self
        parts.append(self.text[pos:])
        offs.extend(self.offsets[pos:])
        return MappedText("".join(parts), tuple(offs))

    def slice(self, start: int, end: int | None = None) -> MappedText:
        end = len(self.text) if end is None else end
        tail = self.offsets[end] if end < len(self.offsets) else self.offsets[-1]
        return MappedText(self.text[start:end], (*self.offsets[start:end], tail))

    def strip(self) -> MappedText:
        start = len(self.text) - len(self.text.lstrip())
        end = len(self.text.rstrip())
        return self.slice(start, max(start, end))


# Characters mapped one to one (same length, so the map stays exact).
_QUOTES: Final = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
        "`": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-",
    }
)  # fmt: skip
_INVISIBLE: Final = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CLUSTER: Final = re.compile(r"[^\W\d_]?[\u0300-\u036f]+|[^\x00-\x7f]")
_CR: Final = re.compile(r"\r\n?")
# The next three match only what their replacement changes (not a lone space, a bare line
# break, a single blank line), so the common case costs no Python call per match.
_SPACES: Final = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_LINE_EDGE: Final = re.compile(r" +\n *| *\n +")
_PARAGRAPH: Final = re.compile(r"\n{3,}")
_SOFT_BREAK: Final = re.compile(r"(?<!\n)\n(?!\n)")


def _unicode_cluster(m: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", m.group(0))


def normalise_text(text: str | None) -> MappedText | None:
    """Unicode (NFKC), quotes, invisible and control characters, whitespace.

    Paragraph breaks survive as one blank line; a single line break inside a paragraph
    (hard-wrapped wire copy) becomes a space. `None` when nothing printable is left.
    """
    if text is None:
        return None
    mt = MappedText.identity(text).sub(_CR, "\n")
    mt = mt.sub(_INVISIBLE, "")
    mt = mt.sub(_CONTROL, " ")
    mt = mt.sub(_CLUSTER, _unicode_cluster)
    mt = MappedText(mt.text.translate(_QUOTES), mt.offsets)
    mt = mt.sub(_SPACES, " ")
    mt = mt.sub(_LINE_EDGE, "\n")
    mt = mt.sub(_PARAGRAPH, "\n\n")
    mt = mt.sub(_SOFT_BREAK, " ").strip()
    return mt if mt.text else None


# "U.s." / "U.n." / "N.k." in title-cased headlines: dotted single letters are initialisms.
_DOTTED: Final = re.compile(r"\b[A-Z]\.(?:[A-Za-z]\.)+")
_DOTTED_EXCEPTIONS: Final = frozenset({"E.g.", "I.e."})


def repair_wire_casing(title: str, acronyms: Iterable[str] = ()) -> str:
    """Undo the title-casing wires apply to initialisms: "U.s." -> "U.S.", "Dprk" -> "DPRK".

    `acronyms` are the upper-case forms to restore when a headline spells them title-cased
    (a reviewed list in `processors/data/`; "US" is not in it, since "Us" is a word).
    """
    return repair_wire_casing_mapped(MappedText.identity(title), frozenset(acronyms)).text


def repair_wire_casing_mapped(mt: MappedText, acronyms: frozenset[str]) -> MappedText:
    mt = mt.sub(
        _DOTTED, lambda m: m.group(0) if m.group(0) in _DOTTED_EXCEPTIONS else m.group(0).upper()
    )
    if acronyms:
        # Only words spelled exactly like a title-cased acronym ("Nato"), not lower-case ones.
        titled = {a.title(): a for a in acronyms if len(a) > 1}
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(titled))) + r")\b")
        mt = mt.sub(pattern, lambda m: titled[m.group(0)])
    return mt


def _fold(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.casefold())


# A headline glued to the next sentence leaves a lower->upper transition inside a word:
# "...Over N. KoreaJapan confirmed", "...in AfghanistanKANDAHAR, Afghanistan". The left part
# must look like a proper name ("Korea"), the right part a word or a dateline.
_GLUE: Final = re.compile(r"\b([A-Z][a-z]{2,})([A-Z](?:[a-z]{2,}|[A-Z]{2,}))\b")
_CAMEL_PREFIXES: Final = ("Mc", "Mac", "Play", "You", "Power", "Java", "Face", "Linked", "Post")


def split_glued_headline(title: str, body: MappedText) -> tuple[str | None, MappedText]:
    """Split a headline that the feed glued to the body's first sentence.

    Returns the glued headline as the body spells it (often better cased than the title)
    and the body without it. Two cases: the body starts with the title (compared without
    case, punctuation and spaces) and the next character starts a new word with no space
    between; or, with no title match, the first sentence has a word like "KoreaJapan"
    after at least four words. `None` and the body unchanged when neither holds.
    """
    folded_title = _fold(title)
    if len(folded_title) >= 8:
        seen = ""
        for i, ch in enumerate(body.text[:600]):
            seen += _fold(ch)
            if len(seen) < len(folded_title):
                continue
            if seen != folded_title:
                break
            rest = body.text[i + 1 :]
            if rest and not rest[0].isspace() and rest[0].isupper():
                return body.text[: i + 1].strip(), body.slice(i + 1).strip()
            break
    first_line = body.text.split("\n", 1)[0]
    first_sentence = re.split(r"(?<=[a-z]{2}[.!?])\s", first_line, maxsplit=1)[0]
    for m in _GLUE.finditer(first_sentence[:400]):
        head = first_sentence[: m.start(2)]
        if len(head.split()) >= 4 and not m.group(1).startswith(_CAMEL_PREFIXES):
            return head.strip(), body.slice(m.start(2)).strip()
    return None, body


@dataclass(frozen=True, slots=True)
class NormalisedArticle:
    """Title and body after normalisation, each with its map to the original field."""

    title: MappedText
    body: MappedText
    split_headline: str | None
    """The headline text that was cut off the start of the body, if any."""


def normalise_article(
    title: str, body: str, acronyms: frozenset[str] = frozenset()
) -> NormalisedArticle:
    """Normalise an article's title and body; the body loses a glued headline."""
    t = normalise_text(title) or MappedText.identity("")
    b = normalise_text(body) or MappedText.identity("")
    head, b = split_glued_headline(t.text, b)
    if not t.text and head:
        t = MappedText.identity(head)
    t = repair_wire_casing_mapped(t, acronyms)
    return NormalisedArticle(title=t, body=b, split_headline=head)
