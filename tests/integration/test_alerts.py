"""Alerts on the real stack: rules index, story clustering, once per (rule, story), channels.

Each test runs a real worker (enrich -> stories -> index -> alert) on private topics and
indices (the `isolated` fixture) and watches its alerts index, alerts topic and webhook.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from processors.ingest import parse_text_article
from streams.clients.indices import ensure_alert_indices
from streams.operations.rules import sync_rules
from streams.publishing.publisher import Publisher
from streams.settings import Settings
from tests.integration.conftest import REPO, Isolated, stop_process

SEEDS = REPO / "seeds"
SEED = SEEDS / "000_6842bcb70202069f.txt"
FIXTURES = REPO / "tests" / "fixtures" / "alerts"
RULES = REPO / "streams" / "resources" / "alerts"  # the packaged default rules
RULE = "north-korea-sanctions"
SECRET = "s3cr3t-hook-path"


def _id_of(path: Path) -> str:
    return parse_text_article(path.read_text(), name=str(path)).id


SEED_ID = _id_of(SEED)
REWRITE_ID = _id_of(FIXTURES / "seed_rewrite.txt")
UPDATE_ID = _id_of(FIXTURES / "nk_update.txt")
ZA_NEW_ID = _id_of(FIXTURES / "za_sanctions.txt")


class Hook:
    """A local webhook receiver: records every POST; fails the way the test asks."""

    def __init__(self, fail_first: int = 0, always_fail_for: str | None = None) -> None:
        self.posts: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.fail_first = fail_first
        self.always_fail_for = always_fail_for
        self.seen: dict[str, int] = {}
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.posts.append((self.path, dict(self.headers), body))
                n = hook.seen[body["id"]] = hook.seen.get(body["id"], 0) + 1
                failing = hook.always_fail_for and hook.always_fail_for in body["article_id"]
                status = 500 if failing else (503 if n <= hook.fail_first else 200)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook/{SECRET}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook(fail_first=2, always_fail_for="agnews-test-07459")
    yield h
    h.close()


def _env(iso: Isolated, **extra: str) -> None:
    iso.env.update({f"WIREWATCH_{k.upper()}": v for k, v in extra.items()})


def _checked(iso: Isolated) -> float:
    """Articles the alert agent has finished with (the worker's /metrics)."""
    port = iso.env["WIREWATCH_WORKER_WEB_PORT"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    m = re.search(r"^wirewatch_alert_checked_total (\S+)$", text, flags=re.M)
    return float(m.group(1)) if m else 0.0


def _alerts(iso: Isolated) -> list[dict[str, Any]]:
    index = iso.settings.alerts_index_name
    iso.es.indices.refresh(index=index)
    resp = iso.es.search(index=index, size=100, query={"match_all": {}}, sort=["fired_at"])
    return [h["_source"] for h in resp["hits"]["hits"]]


def _topic_alerts(settings: Settings, timeout_ms: int = 4000) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        settings.topic_alerts,
        bootstrap_servers=settings.kafka_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=timeout_ms,
        group_id=None,
    )
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def _publish(iso: Isolated, *paths: Path) -> list[str]:
    pub = Publisher(iso.settings)
    try:
        report = pub.publish_files(list(paths))
    finally:
        pub.close()
    assert report.errors == []
    return report.published


def _sync(iso: Isolated, folder: Path) -> None:
    ensure_alert_indices(iso.es, iso.settings)
    report = sync_rules(iso.es, iso.settings, folder)
    assert report.errors == [], report.errors


def _story(iso: Isolated, article_id: str) -> str:
    doc = iso.es.get(index=iso.settings.es_alias, id=article_id)["_source"]
    return str(doc["story_id"])


def test_a_story_alerts_once_across_rewrites_new_rules_and_restarts(
    isolated: Isolated, hook: Hook, tmp_path: Path
) -> None:
    iso = isolated
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES, rules_dir)
    _sync(iso, rules_dir)
    _env(
        iso,
        alert_webhook_url=hook.url,
        alert_webhook_token="tok-123",
        alert_webhook_attempts="3",
        alert_webhook_backoff="0.05",
        rules_refresh_seconds="0.5",
    )
    worker = iso.start_worker()
    try:
        # The seed, 2 NK sanctions items (other stories), 2 South Africa sanctions, 1 unrelated.
        published = _publish(iso, SEED, SEEDS / "samples.jsonl")
        assert len(published) == 6
        iso.wait_for(lambda: _checked(iso) >= 6, 180, "the alert agent to check 6 articles")
        first = _alerts(iso)
        assert sorted(a["article_id"] for a in first) == sorted(
            [SEED_ID, "agnews-test-07383", "agnews-test-07459"]
        )
        seed_alert = next(a for a in first if a["article_id"] == SEED_ID)
        seed_story = _story(iso, SEED_ID)
        assert seed_alert["id"] == f"{RULE}/{seed_story}" and seed_alert["rule"] == RULE
        assert seed_alert["rule_name"] == "North Korea sanctions"
        assert seed_alert["severity"] == "high"
        assert seed_alert["title"].startswith("Japan Confirms With U.S., S. Korea")
        assert seed_alert["story_id"] == seed_story
        assert seed_alert["countries"] == ["KP"] and seed_alert["event_types"] == ["SANCTION"]
        assert {"North Korea", "Pyongyang"} <= set(seed_alert["matched_entities"])
        assert any("«sanctions»" in s for s in seed_alert["snippets"])
        assert "reports SANCTION" in seed_alert["reason"]
        # The story id is a facet of the articles index. (Articles no rule could match are
        # checked without waiting for a refresh: make all six visible first.)
        iso.es.indices.refresh(index=iso.settings.es_alias)
        facet = iso.es.search(
            index=iso.settings.es_alias,
            size=0,
            aggs={"stories": {"terms": {"field": "story_id", "size": 20}}},
        )["aggregations"]["stories"]["buckets"]
        assert len(facet) == 6 and all(b["doc_count"] == 1 for b in facet)

        # A rewrite of the seed (new headline, reordered paragraphs): same story, no alert.
        assert _publish(iso, FIXTURES / "seed_rewrite.txt") == [REWRITE_ID]
        iso.wait_for(lambda: _checked(iso) >= 7, 120, "the rewrite to be checked")
        assert _story(iso, REWRITE_ID) == seed_story
        assert len(_alerts(iso)) == 3

        # A rule added while the worker runs applies to later articles (not retroactively).
        (rules_dir / "south-africa-sanctions.yaml").write_text(
            "name: South Africa sanctions\ndescription: Sanctions naming South Africa.\n"
            "severity: medium\nquery:\n  countries: [ZA]\n  event_types: [SANCTION]\n"
        )
        _sync(iso, rules_dir)
        time.sleep(1.0)  # > WIREWATCH_RULES_REFRESH_SECONDS: the next batch re-reads the rules
        assert _publish(iso, FIXTURES / "za_sanctions.txt") == [ZA_NEW_ID]
        iso.wait_for(lambda: _checked(iso) >= 8, 120, "the South Africa item to be checked")
        za = [a for a in _alerts(iso) if a["rule"] == "south-africa-sanctions"]
        assert [a["article_id"] for a in za] == [ZA_NEW_ID]
        assert za[0]["delivered"] is True and za[0]["delivery"] == "not_requested"

        # Webhook: retried (503, 503, 200) for the seed; failing for good for one item, which
        # stays in the index and the topic marked undelivered.
        iso.wait_for(
            lambda: all(a["delivery"] != "pending" for a in _alerts(iso)), 60, "deliveries"
        )
        by_article = {a["article_id"]: a for a in _alerts(iso)}
        assert by_article[SEED_ID]["delivered"] is True
        assert by_article[SEED_ID]["delivery_attempts"] == 3
        failed = by_article["agnews-test-07459"]
        assert failed["delivered"] is False and failed["delivery"] == "failed"
        assert failed["delivery_error"] == "HTTP 500" and failed["delivery_attempts"] == 3
        posted = [body for _, _, body in hook.posts]
        assert {b["article_id"] for b in posted} == {
            SEED_ID,
            "agnews-test-07383",
            "agnews-test-07459",
        }
        path, headers, body = hook.posts[0]
        assert path == f"/hook/{SECRET}" and headers["Authorization"] == "Bearer tok-123"
        assert headers["Content-Type"] == "application/json" and body["rule"] == RULE
    finally:
        stop_process(worker)
    assert SECRET not in iso.worker_log() and "tok-123" not in iso.worker_log()

    # A restarted worker recovers the story state: an update of the seed and the seed itself
    # again fire nothing.
    worker = iso.start_worker("worker2")
    try:
        assert _publish(iso, FIXTURES / "nk_update.txt", SEED) == [UPDATE_ID, SEED_ID]
        iso.wait_for(lambda: _checked(iso) >= 2, 180, "the restarted worker to check 2")
    finally:
        stop_process(worker)
    assert _story(iso, UPDATE_ID) == seed_story
    alerts = _alerts(iso)
    assert len(alerts) == 4
    assert [a["article_id"] for a in alerts if a["story_id"] == seed_story] == [SEED_ID]
    on_topic = _topic_alerts(iso.settings)
    assert sorted(a["id"] for a in on_topic) == sorted(a["id"] for a in alerts)


def test_rules_sync_rejects_a_bad_rule_and_loads_the_others(
    isolated: Isolated, tmp_path: Path
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(RULES / f"{RULE}.yaml", folder)
    (folder / "typo.yaml").write_text(
        "name: Typo\ndescription: d\nquery:\n  countries: [KP]\n  event_type: [SANCTION]\n"
    )
    (folder / "wrong-field.yaml").write_text(
        "name: W\ndescription: d\nquery:\n  dsl: {term: {contries: KP}}\n"
    )
    (folder / "bad-dsl.yaml").write_text(
        "name: B\ndescription: d\nquery:\n  dsl: {no_such_query: {countries: KP}}\n"
    )
    cmd = [sys.executable, "-m", "streams", "rules", "sync", str(folder)]
    env = {**isolated.env, "COLUMNS": "1000"}  # one line per message
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"loaded    {RULE}" in out.stdout
    errors = " ".join(out.stderr.split())
    assert f"{folder / 'typo.yaml'}: query.event_type: unknown field" in errors
    assert f"{folder / 'wrong-field.yaml'}: query uses field(s) the articles index" in errors
    assert f"{folder / 'bad-dsl.yaml'}: Elasticsearch refuses the query" in errors
    stored = isolated.es.search(index=isolated.settings.rules_index_name, query={"match_all": {}})
    assert [h["_id"] for h in stored["hits"]["hits"]] == [RULE]

    # Unchanged on a second run; a deleted file's rule is removed.
    (folder / f"{RULE}.yaml").unlink()
    (folder / "kp.yaml").write_text("name: KP\ndescription: d\nquery: {countries: [KP]}\n")
    for bad in ("typo", "wrong-field", "bad-dsl"):
        (folder / f"{bad}.yaml").unlink()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "loaded    kp" in out.stdout and f"removed   {RULE}" in out.stdout


def test_rules_test_says_whether_and_why(isolated: Isolated, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "streams", "rules", "test", RULE]
    seed = subprocess.run(
        [*base, str(FIXTURES / "seed_enriched.json"), "--json"],
        env=isolated.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seed.returncode == 0, seed.stdout + seed.stderr
    result = json.loads(seed.stdout)
    assert result["matched"] is True and result["alert"]["countries"] == ["KP"]
    assert {"North Korea", "Pyongyang"} <= set(result["alert"]["matched_entities"])
    unrelated = tmp_path / "unrelated.txt"
    line = (SEEDS / "samples.jsonl").read_text().splitlines()[-1]
    item = json.loads(line)
    unrelated.write_text(f"{item['title']}\n\n{item['body']}\n")
    other = subprocess.run(
        [*base, str(unrelated)], env=isolated.env, capture_output=True, text=True, timeout=180
    )
    assert other.returncode == 1, other.stdout + other.stderr
    assert "NO MATCH" in other.stdout
    # The scratch index is gone.
    assert not isolated.es.indices.get(
        index=f"{isolated.settings.es_alias}-ruletest-*", expand_wildcards="all"
    )
