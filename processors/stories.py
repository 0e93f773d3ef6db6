"""Story clustering: near-duplicate detection with MinHash over word shingles, and LSH.

Rewrites, updates and re-sends of one wire story share most of their word 3-shingles: a new
headline changes none of the body's shingles, reordered sentences change only the few that
cross a sentence boundary, an update that adds a paragraph keeps the old ones. The Jaccard
similarity of the shingle sets (estimated by MinHash signatures) is therefore high within a
story and near zero between stories, even stories on the same topic, which share words but
rarely the same runs of three words.

`StoryIndex` is the in-memory side: an LSH index (datasketch `MinHashLSH`) of the signatures
of recent articles, with each article's story id. It finds candidates in constant time per
article; each candidate is then verified with the estimated Jaccard so LSH's false
positives do not merge stories. The durable state (article id -> story id, signature) lives
elsewhere (a Faust table, see `streams/stages/stories.py`); the index is rebuilt from it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
"""MinHash permutations: the standard error of the Jaccard estimate is about 1/sqrt(128)."""
SHINGLE_WORDS = 3
"""Words per shingle: long enough that two stories on one topic share few, short enough
that a reworded sentence keeps some."""
DEFAULT_THRESHOLD = 0.5
"""Estimated Jaccard at or above which two articles are one story (reordered rewrites score
about 0.8-0.95, an update that doubles the text about 0.5, different stories below 0.1)."""
MIN_BODY_WORDS = 8
"""A body shorter than this is shingled together with the headline."""
SEED = 1
"""MinHash seed: every process must use the same one, or signatures are not comparable."""
SCHEME = "affine32"
"""datasketch's hashing scheme; stored signatures are only comparable within one scheme."""

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased, accent-folded word tokens (punctuation and casing do not count)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(folded)


def story_text(title: str, body: str) -> str:
    """The text that identifies a story: the body, since rewrites change headlines first."""
    if len(words(body)) >= MIN_BODY_WORDS:
        return body
    return f"{title}\n{body}"


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Word `size`-grams of the text; a text shorter than `size` words is one shingle."""
    tokens = words(text)
    if not tokens:
        return set()
    if len(tokens) < size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def signature(text: str, num_perm: int = NUM_PERM) -> list[int]:
    """MinHash signature of the text's shingles, as plain ints (JSON- and table-safe).

    An empty list for a text without words: it must never be clustered with anything.
    """
    grams = shingles(text)
    if not grams:
        return []
    mh = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME, permutations=_permutations(num_perm))
    mh.update_batch([g.encode("utf-8") for g in grams])
    return [int(v) for v in mh.hashvalues]


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> Any:
    """The permutation parameters datasketch derives from `SEED` (drawn once, not per
    signature: drawing them is most of a MinHash's cost)."""
    return MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures (share of equal positions)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def new_story_id(article_id: str) -> str:
    """Story id of a story whose first article is `article_id` (stable across replays)."""
    return "story-" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StoryMatch:
    """The story an article was assigned to, and why."""

    story_id: str
    matched_article: str | None = None
    """The earlier article it is a near-duplicate of (None: it starts a new story)."""
    similarity: float = 0.0
    known: bool = False
    """The article id was already in the index (a redelivery): its stored story is kept."""


class StoryIndex:
    """LSH over the signatures of recent articles; assigns each article a story id."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, num_perm: int = NUM_PERM) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"story threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._entries: dict[str, tuple[str, list[int]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def story_of(self, article_id: str) -> str | None:
        entry = self._entries.get(article_id)
        return entry[0] if entry else None

    def _minhash(self, sig: Sequence[int]) -> MinHash:
        return MinHash(
            num_perm=self.num_perm,
            seed=SEED,
            hashvalues=list(sig),
            scheme=SCHEME,
            permutations=_permutations(self.num_perm),
        )

    def add(self, article_id: str, story_id: str, sig: Sequence[int]) -> None:
        """Remember an article (replacing an earlier entry of the same id)."""
        if article_id in self._entries:
            self.remove(article_id)
        self._entries[article_id] = (story_id, list(sig))
        if len(sig) == self.num_perm:
            self._lsh.insert(article_id, self._minhash(sig))

    def remove(self, article_id: str) -> None:
        entry = self._entries.pop(article_id, None)
        if entry is not None and article_id in self._lsh:
            self._lsh.remove(article_id)

    def rebuild(self, entries: Iterable[tuple[str, str, Sequence[int]]]) -> None:
        """Replace the whole index with (article id, story id, signature) entries."""
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        self._entries = {}
        for article_id, story_id, sig in entries:
            self.add(article_id, story_id, sig)

    def match(self, article_id: str, sig: Sequence[int]) -> StoryMatch:
        """The story of this article: a known id keeps its story, else the most similar
        earlier article at or above the threshold gives it, else a new story starts."""
        known = self._entries.get(article_id)
        if known is not None:
            return StoryMatch(story_id=known[0], known=True)
        if len(sig) != self.num_perm:
            return StoryMatch(story_id=new_story_id(article_id))
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(self._minhash(sig)):
            score = similarity(sig, self._entries[candidate][1])
            # Ties go to the smaller id so every replay picks the same story.
            if score < self.threshold:
                continue
            if best is None or score > best[0] or (score == best[0] and candidate < best[1]):
                best = (score, candidate)
        if best is None:
            return StoryMatch(story_id=new_story_id(article_id))
        score, other = best
        return StoryMatch(story_id=self._entries[other][0], matched_article=other, similarity=score)

    def assign(self, article_id: str, sig: Sequence[int]) -> StoryMatch:
        """`match`, then remember the article under the story found."""
        found = self.match(article_id, sig)
        if not found.known:
            self.add(article_id, found.story_id, sig)
        return found
