"""Versions of re-sent items (pure decision table) and the publisher's crash-safe state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processors.formats.versioning import Seen, content_hash, decide
from processors.models import Article
from streams.publishing.state import PublishState, StateError

NOW = 1_700_000_000_000


def art(body: str = "Body.", version: int | None = None) -> Article:
    return Article(id="a", title="T", body=body, version=version)


H = content_hash(art())


@pytest.mark.parametrize(
    ("article", "previous", "verdict", "version"),
    [
        # First sight: the wire's version, else the time it was read.
        (art(version=3), None, "new", 3),
        (art(), None, "new", NOW),
        # Same content again: skipped, whatever its (equal) version.
        (art(version=3), Seen(H, 3), "seen", None),
        (art(), Seen(H, NOW - 5), "seen", None),
        # A newer wire version: published with it, even with the same text.
        (art(version=4), Seen(H, 3), "updated", 4),
        # An older wire version: stale, never sent.
        (art("New body.", version=2), Seen(H, 3), "stale", None),
        # Changed body, same wire version: sent with that version (external_gte lets it in).
        (art("New body.", version=3), Seen(H, 3), "updated", 3),
        # Changed body, no wire version: now, or previous + 1 if the clock is behind.
        (art("New body."), Seen(H, NOW - 5), "updated", NOW),
        (art("New body."), Seen(H, NOW + 50), "updated", NOW + 51),
        (art("New body."), Seen(H, None), "updated", NOW),
    ],
)
def test_decide(article: Article, previous: Seen | None, verdict: str, version: int | None) -> None:
    got, out = decide(article, previous, now_ms=NOW)
    assert got == verdict
    if version is not None:
        assert out.version == version


def test_content_hash_ignores_whitespace_but_not_words() -> None:
    assert content_hash(art("Body.  \n")) == content_hash(art("Body."))
    assert content_hash(art("Body!")) != content_hash(art("Body."))


def test_state_round_trip_and_atomic_write(tmp_path: Path) -> None:
    path = tmp_path / "s" / "topic.json"
    state = PublishState.load(path, "t1")
    state.remember("a", Seen("h", 3), now=1e9 * 2)
    state.feeds["http://x/feed"] = {"etag": '"v1"'}
    state.files["/in/a.xml"] = (123, 45)
    state.save(now=1e9 * 2)
    assert [p.name for p in path.parent.iterdir()] == ["topic.json"]  # no temp file left
    again = PublishState.load(path, "t1")
    assert again.seen("a") == Seen("h", 3)
    assert again.feeds == {"http://x/feed": {"etag": '"v1"'}}
    assert again.files == {"/in/a.xml": (123, 45)}


def test_state_forgets_old_articles(tmp_path: Path) -> None:
    state = PublishState.load(tmp_path / "s.json", "t")
    state.remember("old", Seen("h", 1), now=1_000.0)
    state.remember("new", Seen("h", 1), now=1e9 * 2)
    state.save(now=1e9 * 2)
    assert set(PublishState.load(tmp_path / "s.json", "t").articles) == {"new"}


def test_state_of_another_topic_or_corrupt_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": 1, "topic": "other", "articles": {}}))
    with pytest.raises(StateError, match="belongs to topic 'other'"):
        PublishState.load(path, "mine")
    path.write_text('{"format": 1, "topic": "mi')
    with pytest.raises(StateError, match="cannot be read"):
        PublishState.load(path, "mine")


def test_a_failed_write_keeps_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    state = PublishState.load(path, "t")
    state.remember("a", Seen("h", 1))
    state.save()
    state.remember("b", Seen("h", 1))

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("streams.publishing.state.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        state.save()
    assert set(PublishState.load(path, "t").articles) == {"a"}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
