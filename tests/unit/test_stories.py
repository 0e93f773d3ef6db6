"""Story clustering: shingles, signatures and the LSH index (pure, no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processors.ingest import parse_text_article
from processors.models import Article
from processors.stories import (
    NUM_PERM,
    StoryIndex,
    new_story_id,
    shingles,
    signature,
    similarity,
    story_text,
    words,
)

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seeds" / "000_6842bcb70202069f.txt"
FIXTURES = REPO / "tests" / "fixtures" / "alerts"


def _article(path: Path) -> Article:
    return parse_text_article(path.read_text(encoding="utf-8"), name=str(path))


def _sig(article: Article) -> list[int]:
    return signature(story_text(article.title, article.body))


def _samples() -> list[Article]:
    lines = (REPO / "seeds" / "samples.jsonl").read_text().splitlines()
    return [Article.model_validate(json.loads(line)) for line in lines if line.strip()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("North Korea's test", ["north", "korea", "s", "test"]),
        ("U.N. Security-Council", ["u", "n", "security", "council"]),
        ("Pyongyang  Pyongyang", ["pyongyang", "pyongyang"]),
        ("Café déjà vu", ["cafe", "deja", "vu"]),
        ("", []),
        ("—!?", []),
    ],
)
def test_words_fold_case_accents_and_punctuation(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_shingles_are_word_trigrams_and_short_texts_are_one_shingle() -> None:
    assert shingles("a b c d") == {"a b c", "b c d"}
    assert shingles("Sanctions now") == {"sanctions now"}
    assert shingles("  ") == set()


def test_story_text_uses_the_body_unless_it_is_too_short() -> None:
    body = "one two three four five six seven eight nine"
    assert story_text("Headline", body) == body
    assert story_text("Headline", "short body") == "Headline\nshort body"


def test_signature_is_plain_ints_stable_and_empty_without_words() -> None:
    sig = signature("Japan and South Korea coordinate on North Korea sanctions")
    assert len(sig) == NUM_PERM and all(type(v) is int for v in sig)
    assert json.loads(json.dumps(sig)) == sig  # table- and changelog-safe
    assert signature("Japan and South Korea coordinate on North Korea sanctions") == sig
    assert signature("!!!") == []


def test_similarity_estimates_jaccard() -> None:
    a = signature(" ".join(f"w{i}" for i in range(200)))
    b = signature(" ".join(f"w{i}" for i in range(100, 300)))  # true Jaccard 98/298 = 0.33
    assert similarity(a, a) == 1.0
    assert 0.2 < similarity(a, b) < 0.45
    assert similarity(a, []) == 0.0


def test_a_rewrite_and_an_update_of_the_seed_are_near_duplicates() -> None:
    seed, rewrite, update = (
        _article(SEED),
        _article(FIXTURES / "seed_rewrite.txt"),
        _article(FIXTURES / "nk_update.txt"),
    )
    assert seed.id != rewrite.id and seed.title != rewrite.title
    assert similarity(_sig(seed), _sig(rewrite)) >= 0.75
    assert similarity(_sig(seed), _sig(update)) >= 0.75


def test_other_stories_on_the_same_topic_are_not_near_duplicates() -> None:
    seed = _sig(_article(SEED))
    for other in _samples():
        assert similarity(seed, _sig(other)) < 0.1, other.id


def test_index_gives_rewrites_the_first_articles_story_and_others_new_ones() -> None:
    index = StoryIndex()
    seed, rewrite, update = (
        _article(SEED),
        _article(FIXTURES / "seed_rewrite.txt"),
        _article(FIXTURES / "nk_update.txt"),
    )
    first = index.assign(seed.id, _sig(seed))
    assert first.story_id == new_story_id(seed.id) and first.matched_article is None
    second = index.assign(rewrite.id, _sig(rewrite))
    assert second.story_id == first.story_id and second.matched_article == seed.id
    assert second.similarity >= 0.75
    third = index.assign(update.id, _sig(update))
    assert third.story_id == first.story_id
    stories = {index.assign(a.id, _sig(a)).story_id for a in _samples()}
    assert len(stories) == 5 and first.story_id not in stories
    assert len(index) == 8


def test_a_known_article_keeps_its_story_even_if_its_text_changed() -> None:
    index = StoryIndex()
    index.assign("a1", signature("the quick brown fox jumps over the lazy dog again"))
    again = index.assign("a1", signature("completely different words in this version of it"))
    assert again.known and again.story_id == new_story_id("a1")
    assert len(index) == 1


def test_articles_without_words_never_cluster() -> None:
    index = StoryIndex()
    a = index.assign("e1", [])
    b = index.assign("e2", [])
    assert a.story_id != b.story_id


def test_rebuild_from_stored_entries_restores_the_assignments() -> None:
    seed, rewrite = _article(SEED), _article(FIXTURES / "seed_rewrite.txt")
    stored = [(seed.id, "story-from-table", _sig(seed))]
    index = StoryIndex()
    index.assign("stale", signature("something that must be gone after the rebuild"))
    index.rebuild(stored)
    assert "stale" not in index and len(index) == 1
    assert index.assign(rewrite.id, _sig(rewrite)).story_id == "story-from-table"


def test_remove_forgets_an_article() -> None:
    seed, rewrite = _article(SEED), _article(FIXTURES / "seed_rewrite.txt")
    index = StoryIndex()
    index.assign(seed.id, _sig(seed))
    index.remove(seed.id)
    assert index.assign(rewrite.id, _sig(rewrite)).story_id == new_story_id(rewrite.id)


def test_ties_go_to_the_smaller_article_id() -> None:
    sig = signature("identical text of a wire story sent twice by the agency")
    index = StoryIndex()
    index.add("b", "story-b", sig)
    index.add("a", "story-a", sig)
    assert index.match("c", sig).story_id == "story-a"


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_threshold_out_of_range_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        StoryIndex(threshold=threshold)


def test_signatures_stay_those_of_datasketch_drawn_from_the_seed() -> None:
    # Stored signatures (the story table) must stay comparable: the cached permutations
    # are exactly those a fresh MinHash with SEED draws.
    from datasketch import MinHash

    from processors.stories import SCHEME, SEED, shingles

    text = "Japan and South Korea coordinate on North Korea sanctions after the missile test"
    fresh = MinHash(num_perm=128, seed=SEED, scheme=SCHEME)
    fresh.update_batch([g.encode("utf-8") for g in shingles(text)])
    assert signature(text) == [int(v) for v in fresh.hashvalues]
