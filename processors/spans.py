"""What the linker decides for a span, and a span's text as written (shared by the
spaCy components in `processors.components`, `processors.kinds` and `processors.orgs`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spacy.tokens import Span

POSSESSIVE_TOKENS: Final = frozenset({"'s", "'", "’s", "’"})


@dataclass(frozen=True, slots=True)
class Link:
    """What the linker decided for one entity span."""

    canonical: str
    entity_id: str
    country: str | None


def span_text(span: Span, drop: frozenset[str] = frozenset()) -> str:
    """The span as written in the text, whitespace collapsed, without leading or trailing
    tokens in `drop` (titles, possessives).

    Never the tokens joined with spaces: that turns "Kim Jong-un" into "Kim Jong - un".
    """
    start, end = span.start, span.end
    doc = span.doc
    while end - start > 1 and doc[end - 1].text in drop:
        end -= 1
    while end - start > 1 and doc[start].text in drop:
        start += 1
    # spaCy keeps each token's own whitespace, so the tokens' text is the text as written
    # (and far cheaper than slicing `doc.text`, which is rebuilt on every access).
    return " ".join(doc[start:end].text.split()) if end > start else ""
