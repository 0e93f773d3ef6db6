"""Which version an article travels with, and whether a re-sent one is new at all.

The index writes with `version_type=external_gte`, so the highest version wins and an equal
one overwrites. Rules, given what the publisher remembers of this id (`Seen`):

- First sight: the wire's version (NewsML-G2 `@version`, ninjs `version`, our `version`, or
  the item's own updated time in milliseconds for Atom/ninjs), else the time the publisher
  read it, in milliseconds.
- Same content (hash of title, body, url) and no newer wire version: skip, already seen.
- A wire version older than the one published: skip, stale.
- Otherwise (changed content, or a newer wire version): publish with the wire's version, or,
  when the item has none, `max(now_ms, previous + 1)`, which is above the one published.
  A changed body under an unchanged wire version keeps that version: `external_gte` lets an
  equal version overwrite, so the newest copy read wins.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from processors.models import Article


@dataclass(frozen=True)
class Seen:
    """What the publisher remembers of one published article."""

    content_hash: str
    version: int | None


Verdict = Literal["new", "updated", "seen", "stale"]


def content_hash(article: Article) -> str:
    """Hash of what a reader sees (title, body, url), blind to whitespace changes."""
    basis = "\x1f".join(
        (" ".join(article.title.split()), " ".join(article.body.split()), article.url or "")
    )
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def decide(article: Article, previous: Seen | None, *, now_ms: int) -> tuple[Verdict, Article]:
    """The verdict for `article` and the article to publish (with its version set)."""
    wire = article.version
    if previous is None:
        version = wire if wire is not None else now_ms
        return "new", article.model_copy(update={"version": version})
    changed = content_hash(article) != previous.content_hash
    if wire is not None and previous.version is not None:
        if wire < previous.version:
            return "stale", article
        if wire == previous.version and not changed:
            return "seen", article
    elif not changed:
        return "seen", article
    version = wire if wire is not None else max(now_ms, (previous.version or 0) + 1)
    return "updated", article.model_copy(update={"version": version})
