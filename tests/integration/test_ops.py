"""Operations on the real stack: dead-letter list and replay, reindex with an alias switch,
and the worker's health and metrics endpoints."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

import streams.operations.reindex
from streams.clients.indices import write_index
from streams.core.send import Record
from streams.operations.ops import list_dead_letters, replay_dead_letters
from streams.operations.reindex import ReindexLocked, acquire_lock, reindex, release_lock
from streams.publishing.publisher import Publisher
from tests.integration.conftest import Isolated, stop_process

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_dead_letters_are_listed_and_replayed_after_a_fix(isolated: Isolated) -> None:
    big = {"id": "big-1", "title": "Long report", "body": "Sanctions talks went on. " * 200}
    broken = b'{"id": "broken-1", "title": "x"'
    pub = Publisher(isolated.settings)
    records = [Record(b"big-1", json.dumps(big).encode()), Record(b"broken-1", broken)]
    assert pub.publish_records(records) == []
    pub.close()
    # A worker whose size limit is too small for the report.
    worker = isolated.start_worker("small", env={"WIREWATCH_MAX_ARTICLE_BYTES": "2000"})
    try:
        isolated.wait_for(
            lambda: len(list_dead_letters(isolated.settings)) >= 2, 120, "two dead letters"
        )
    finally:
        stop_process(worker)
    letters = {d.article_id: d for d in list_dead_letters(isolated.settings)}
    assert letters["big-1"].reason == "too_large"
    assert json.loads(letters["big-1"].original_bytes()) == big
    assert letters["broken-1"].reason == "invalid_json"
    assert letters["broken-1"].original_bytes() == broken

    # The fix: the default limit. Replay only the oversized one; it gets indexed.
    worker = isolated.start_worker("fixed")
    try:
        report = replay_dead_letters(isolated.settings, reason="too_large")
        assert (report.replayed, report.skipped) == (1, 1)
        isolated.wait_for(lambda: "big-1" in isolated.indexed_ids(), 120, "the replayed article")
        # Replay progress is remembered: nothing is replayed twice.
        again = replay_dead_letters(isolated.settings, reason="too_large")
        assert again.replayed == 0
    finally:
        stop_process(worker)


def test_reindex_builds_a_new_index_and_switches_the_alias(
    isolated: Isolated, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(isolated.env["WIREWATCH_WORKER_WEB_PORT"])
    worker = isolated.start_worker()
    try:
        pub = Publisher(isolated.settings)
        report = pub.publish_files([SEEDS / "000_6842bcb70202069f.txt", SEEDS / "samples.jsonl"])
        pub.close()
        ids = set(report.published)
        isolated.wait_for(lambda: isolated.indexed_ids() >= ids, 120, "seeds indexed")
        status, body = _get(port, "/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert _get(port, "/live")[0] == 200
        status, text = _get(port, "/metrics")
        indexed = [ln for ln in text.splitlines() if ln.startswith("wirewatch_indexed_total ")]
        assert indexed and float(indexed[0].split()[1]) >= len(ids)
        assert "wirewatch_batch_seconds_bucket" in text
    finally:
        stop_process(worker)

    es, alias = isolated.es, isolated.settings.es_alias
    before = write_index(es, alias)
    stories = _story_ids(es, alias)
    assert set(stories) == ids and all(stories.values())

    # One reindex at a time: a held lock refuses a second one, which creates nothing.
    token = acquire_lock(es, isolated.settings)
    with pytest.raises(ReindexLocked, match="holds the lock"):
        reindex(es, isolated.settings)
    release_lock(es, isolated.settings, token)
    assert not es.indices.exists(index=f"{alias}-v2")

    # A reindex that fails half-way deletes its half-built index and frees the lock.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("streams.operations.reindex._run_range", broken)
    with pytest.raises(RuntimeError, match="disk is full"):
        reindex(es, isolated.settings)
    monkeypatch.undo()
    assert not es.indices.exists(index=f"{alias}-v2")
    assert write_index(es, alias) == before

    # The new index is filled without scheduled refreshes, and behind the alias with them.
    paused: list[str] = []
    real_run_range = streams.operations.reindex._run_range

    async def run_range(*args: Any) -> None:
        new = args[4].new_index  # (chain, consumer, start, end, report, progress, total)
        got = es.indices.get_settings(index=new, name="index.refresh_interval")
        paused.append(got[new]["settings"]["index"]["refresh_interval"])
        await real_run_range(*args)

    monkeypatch.setattr("streams.operations.reindex._run_range", run_range)
    progress: list[tuple[int, int]] = []
    result = reindex(es, isolated.settings, progress=lambda d, t: progress.append((d, t)))
    monkeypatch.undo()
    assert paused[0] == "-1" and paused[-1] == "1s"  # before the switch / the pass after it
    assert before == f"{alias}-v1" and result.new_index == f"{alias}-v2"
    assert result.switched and result.old_indices == [before]
    assert write_index(es, alias) == f"{alias}-v2"
    assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v2"]
    assert isolated.indexed_ids() == ids  # the same documents, now from v2
    assert result.indexed == len(ids) and result.invalid == 0
    assert progress and progress[-1][0] == progress[-1][1] == len(ids)
    # Through the same stages: every article keeps its story (alert de-duplication holds).
    assert _story_ids(es, alias) == stories and result.kept_story == len(ids)
    # The old index is kept for rollback (WIREWATCH_ES_KEEP_INDICES=1) ...
    assert es.indices.exists(index=before) and result.deleted == []
    # ... and the one before it goes when the next reindex switches.
    again = reindex(es, isolated.settings)
    assert again.new_index == f"{alias}-v3" and again.deleted == [before]
    assert es.indices.exists(index=f"{alias}-v2") and not es.indices.exists(index=before)
    assert _story_ids(es, alias) == stories


def _story_ids(es: Elasticsearch, alias: str) -> dict[str, str]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=1000, source=["story_id"])["hits"]["hits"]
    return {h["_id"]: h["_source"].get("story_id") for h in hits}
