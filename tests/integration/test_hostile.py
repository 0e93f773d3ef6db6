"""Hostile and odd messages between good articles, on the real broker and node: the worker
stays up, every good article is indexed, every hostile one is indexed sanely or dead-lettered
with its reason, and no good article reaches the dead-letter topic."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from streams.core.send import Record
from streams.publishing.publisher import Publisher
from tests.integration.conftest import Isolated, stop_process
from tests.integration.test_pipeline import read_dead_letters

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "search_slice.jsonl"


def _article(art_id: str, **fields: Any) -> bytes:
    record = {"id": art_id, "title": "Japan and China held talks", "body": "Talks in Tokyo."}
    return json.dumps({**record, **fields}).encode()


def _many_names() -> str:
    """21,000 words naming some 440 different people (first x last names), in English."""
    first = [
        "James",
        "Maria",
        "Kenji",
        "Ahmed",
        "Olga",
        "Pierre",
        "Chen",
        "Fatima",
        "Lars",
        "Priya",
        "Diego",
        "Hannah",
    ]
    last = [
        "Smith",
        "Lopez",
        "Tanaka",
        "Khan",
        "Petrova",
        "Dubois",
        "Wang",
        "Haddad",
        "Nilsson",
        "Sharma",
        "Garcia",
    ]
    return " ".join(
        f"{first[i % 12]} {last[(i // 12) % 11]} told reporters in London that the talks "
        f"with {first[(i * 7) % 12]} {last[(i * 3) % 11]} would go on."
        for i in range(1400)
    )


# What each hostile message must become: a dead-letter reason, or "indexed", or either.
HOSTILE: dict[str, tuple[bytes, set[str]]] = {
    "deep-array": (b"[" * 100_000, {"too_deep"}),
    "deep-object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, {"too_deep"}),
    "version-negative": (_article("h-vneg", version=-5), {"invalid_field"}),
    "version-huge": (
        _article("h-vhuge").replace(b"}", b', "version": 1' + b"0" * 400 + b"}"),
        {"invalid_number"},
    ),
    "version-float": (_article("h-vfloat", version=1.5), {"invalid_field"}),
    "version-nan": (_article("h-vnan").replace(b"}", b', "version": NaN}'), {"invalid_number"}),
    "number-inf": (_article("h-inf").replace(b"}", b', "source": 1e400}'), {"invalid_number"}),
    "body-not-string": (_article("h-body", body=["x"]), {"invalid_field"}),
    "invalid-utf8": (b'{"id": "h-utf8", "title": "caf\xe9", "body": "x"}', {"invalid_utf8"}),
    "lone-surrogate": (
        b'{"id": "h-sur", "title": "t", "body": "half a pair \\ud800 here"}',
        {"invalid_string"},
    ),
    "nul-controls": (_article("h-nul", body="a\x00b" + "\x01\x02" * 50 + " c"), {"indexed"}),
    "raw-nul": (b'{"id": "h-rawnul", "title": "t", "body": "a\x00b"}', {"binary"}),
    "single-token": (_article("h-token", body="x" * 500_000), {"indexed", "index_rejected"}),
    "zero-width-bidi": (
        _article("h-zw", body="Tokyo\u200b talks \u202eevil\u202c in Japan."),
        {"indexed"},
    ),
    "emoji": (_article("h-emoji", body="Japan 🇯🇵 and China 🇨🇳 met in Tokyo 🤝."), {"indexed"}),
    "huge-title": (_article("h-title", title="Japan " * 20_000), {"indexed"}),
    "duplicate-keys": (
        b'{"id": "h-dup", "id": "h-dup2", "title": "Talks", "body": "Japan met China."}',
        {"indexed"},
    ),
    "far-future-date": (_article("h-date", published_at="99999-01-01T00:00:00Z"), {"indexed"}),
    "many-names": (_article("h-names", body=_many_names()), {"indexed"}),
}
HOSTILE_IDS = {
    "nul-controls": "h-nul",
    "zero-width-bidi": "h-zw",
    "emoji": "h-emoji",
    "huge-title": "h-title",
    "duplicate-keys": "h-dup2",
    "far-future-date": "h-date",
    "many-names": "h-names",
    "single-token": "h-token",
}


def test_hostile_messages_between_good_articles(isolated: Isolated) -> None:
    good = [json.loads(line) for line in SLICE.read_text().splitlines()[:16]]
    pub = Publisher(isolated.settings)
    hostile = list(HOSTILE.items())
    records = []
    for i, art in enumerate(good):
        records.append(Record(art["id"].encode(), json.dumps(art).encode()))
        if i < len(hostile):
            name, (value, _) = hostile[i]
            records.append(Record(name.encode(), value))
    records += [Record(name.encode(), value) for name, (value, _) in hostile[len(good) :]]
    assert pub.publish_records(records) == []
    pub.close()
    good_ids = {a["id"] for a in good}

    worker = isolated.start_worker()
    letters: list[dict[str, Any]] = []
    try:
        missing: list[str] = []

        def settled() -> bool:
            nonlocal letters
            letters = read_dead_letters(isolated, timeout_ms=2000)
            originals = {base64.b64decode(d["original"]) for d in letters}
            indexed = isolated.indexed_ids()
            missing[:] = sorted(good_ids - indexed) + [
                name
                for name, (value, _) in HOSTILE.items()
                if value not in originals and HOSTILE_IDS.get(name) not in indexed
            ]
            return not missing

        try:
            isolated.wait_for(settled, 240, "every good article indexed, every hostile one handled")
        except AssertionError as exc:
            raise AssertionError(f"still missing: {missing}\n{exc}") from None
        assert worker.poll() is None, "the worker stopped"
    finally:
        stop_process(worker)

    by_original = {base64.b64decode(d["original"]): d for d in letters}
    indexed = isolated.indexed_ids()
    for name, (value, allowed) in HOSTILE.items():
        if value in by_original:
            letter = by_original[value]
            assert letter["reason"] in allowed, (name, letter["reason"], letter["detail"])
            assert letter["detail"]
        else:
            assert "indexed" in allowed and HOSTILE_IDS[name] in indexed, name
    assert not good_ids & {d.get("article_id") for d in letters}, "a good article was dead-lettered"
    assert good_ids <= indexed

    many = isolated.es.get(index=isolated.settings.es_alias, id="h-names")["_source"]
    assert many["truncated"] and len(many["persons"]) <= 100 and len(many["entities"]) <= 300
    cleaned = isolated.es.get(index=isolated.settings.es_alias, id="h-nul")["_source"]
    assert cleaned["body"] == "ab c"
    dated = isolated.es.get(index=isolated.settings.es_alias, id="h-date")["_source"]
    assert dated["published_at"] is None and "99999" in dated["date_problem"]
