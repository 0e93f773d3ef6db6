"""What the publisher remembers across runs: published articles, feed validators, files read.

One small JSON file per raw topic (default `<stack_dir>/publish-state/<topic>.json`), written
crash-safe: a temporary file in the same folder, fsync, then an atomic rename, so a crash
leaves the old state or the new one, never half of one. The state is saved only after Kafka
acknowledged what it records, so a crash can make the publisher re-send (same id, same
version: the index overwrites) but never forget to send.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processors.errors import WirewatchError
from processors.formats.versioning import Seen

FORMAT = 1
RETENTION_SECONDS = 30 * 24 * 3600
"""Articles not seen for this long are forgotten (feeds have dropped them long before)."""


class StateError(WirewatchError):
    """The state file cannot be read or belongs to another topic."""


def default_state_path(stack_dir: Path, topic: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in topic)
    return stack_dir / "publish-state" / f"{safe}.json"


@dataclass
class PublishState:
    """The publisher's memory for one topic; `path=None` keeps it in memory only."""

    topic: str
    path: Path | None = None
    articles: dict[str, tuple[Seen, float]] = field(default_factory=dict)
    """id -> (what was published, when it was last seen, epoch seconds)."""
    feeds: dict[str, dict[str, str]] = field(default_factory=dict)
    """feed URL -> {"etag": ..., "last_modified": ...} of the last response fully published."""
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    """watched file path -> (mtime_ns, size) when it was last read."""

    @classmethod
    def load(cls, path: Path | None, topic: str) -> PublishState:
        state = cls(topic=topic, path=path)
        if path is None or not path.exists():
            return state
        try:
            doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StateError(
                f"state file {path} cannot be read ({exc}); move it aside to start afresh "
                "(every article is then re-sent once and overwrites itself in the index)"
            ) from exc
        if doc.get("topic") != topic:
            raise StateError(
                f"state file {path} belongs to topic {doc.get('topic')!r}, not {topic!r}; "
                "use --state with another file"
            )
        for art_id, (digest, version, seen_at) in doc.get("articles", {}).items():
            state.articles[art_id] = (Seen(digest, version), float(seen_at))
        state.feeds = {k: dict(v) for k, v in doc.get("feeds", {}).items()}
        state.files = {k: (int(v[0]), int(v[1])) for k, v in doc.get("files", {}).items()}
        return state

    def seen(self, art_id: str) -> Seen | None:
        entry = self.articles.get(art_id)
        return entry[0] if entry else None

    def remember(self, art_id: str, seen: Seen, now: float | None = None) -> None:
        self.articles[art_id] = (seen, time.time() if now is None else now)

    def touch(self, art_id: str, now: float | None = None) -> None:
        """Mark an article as seen again (it is still on the feed: keep remembering it)."""
        entry = self.articles.get(art_id)
        if entry:
            self.articles[art_id] = (entry[0], time.time() if now is None else now)

    def save(self, now: float | None = None) -> None:
        if self.path is None:
            return
        cutoff = (time.time() if now is None else now) - RETENTION_SECONDS
        self.articles = {k: v for k, v in self.articles.items() if v[1] >= cutoff}
        doc = {
            "format": FORMAT,
            "topic": self.topic,
            "articles": {
                k: [s.content_hash, s.version, round(t)] for k, (s, t) in self.articles.items()
            },
            "feeds": self.feeds,
            "files": {k: list(v) for k, v in self.files.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
