"""Publishing from feeds, folders and files into the real broker (and, once, the real index).

The RSS and Atom feeds are served by a local HTTP server inside the test that honours
conditional GET (ETag and Last-Modified) and counts what it was asked.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from processors.articles import guid_id
from streams.publishing.follow import Follower
from streams.publishing.publisher import Publisher
from streams.publishing.state import PublishState
from tests.integration.conftest import REPO, Isolated, stop_process

FIXTURES = REPO / "tests" / "fixtures" / "formats"
KENYA = guid_id("https://wire.example.com/world/kenya-election")


@dataclass
class Doc:
    body: bytes
    etag: str
    modified: float
    content_type: str = "application/xml"


@dataclass
class FeedServer:
    docs: dict[str, Doc] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    not_modified: int = 0
    fail_with: int | None = None
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def put(self, path: str, body: bytes) -> None:
        n = len([d for d in self.docs.values()]) + len(self.requests)
        self.docs[path] = Doc(body, f'"{path}-{n}-{len(body)}"', time.time())


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server_state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append((self.path, dict(self.headers.items())))
            if server_state.fail_with is not None:
                self.send_response(server_state.fail_with)
                self.send_header("Retry-After", "120")
                self.end_headers()
                return
            doc = server_state.docs.get(self.path)
            if doc is None:
                self.send_error(404)
                return
            last_modified = formatdate(doc.modified, usegmt=True)
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (inm is not None and inm == doc.etag) or (inm is None and ims == last_modified):
                server_state.not_modified += 1
                self.send_response(304)
                self.send_header("ETag", doc.etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", doc.content_type)
            self.send_header("ETag", doc.etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Content-Length", str(len(doc.body)))
            self.end_headers()
            self.wfile.write(doc.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


def read_topic(iso: Isolated, idle_ms: int = 4000) -> list[dict]:
    consumer = KafkaConsumer(
        iso.settings.topic_raw,
        bootstrap_servers=iso.settings.kafka_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=idle_ms,
        group_id=None,
    )
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def test_follow_rss_and_atom_with_conditional_get_and_new_versions(
    isolated: Isolated, feeds: FeedServer, tmp_path: Path
) -> None:
    rss = (FIXTURES / "rss2.xml").read_bytes()
    feeds.put("/world.rss", rss)
    feeds.put("/markets.atom", (FIXTURES / "atom.xml").read_bytes())
    urls = [feeds.url("/world.rss"), feeds.url("/markets.atom")]
    state_path = tmp_path / "state.json"
    pub = Publisher(isolated.settings)
    try:
        follower = Follower(
            pub, PublishState.load(state_path, isolated.settings.topic_raw), urls, interval=60
        )
        first = follower.poll_due()
        assert len(first.published) == 4 and first.errors == []
        assert all("If-None-Match" not in h for _, h in feeds.requests)

        # Nothing changed: two conditional GETs answered 304, nothing sent.
        for src in follower.sources:
            follower.poll(src)
        assert feeds.not_modified == 2
        assert feeds.requests[-1][1]["If-None-Match"] == feeds.docs["/markets.atom"].etag
        assert "If-Modified-Since" in feeds.requests[-1][1]

        # The wire corrects a story: same guid, new body, new ETag.
        feeds.put(
            "/world.rss", rss.replace(b"Turnout was higher than in 2017.", b"Turnout hit 70%.")
        )
        changed = follower.poll(follower.sources[0])
        assert changed.published == [KENYA] and changed.updated == 1
        assert changed.skipped_seen == 1  # the other item is unchanged

        # A restart remembers the validators and what was published.
        again = Follower(
            pub, PublishState.load(state_path, isolated.settings.topic_raw), urls, interval=60
        )
        report = again.poll_due()
        assert report.published == [] and feeds.not_modified == 4

        # Validators lost (say the feed stopped sending ETags): the full feed comes back and
        # every item is recognised as already published.
        state = PublishState.load(state_path, isolated.settings.topic_raw)
        state.feeds.clear()
        full = Follower(pub, state, urls[:1], interval=60).poll_due()
        assert full.published == [] and full.skipped_seen == 2
    finally:
        pub.close()

    messages = read_topic(isolated)
    assert len(messages) == 5
    kenya = [m for m in messages if m["id"] == KENYA]
    assert len(kenya) == 2
    assert kenya[1]["version"] > kenya[0]["version"]
    assert kenya[1]["body"].endswith("Turnout hit 70%.")
    oil = next(m for m in messages if m["title"].startswith("Oil prices"))
    assert oil["version"] == 1709810100000  # the entry's <updated>, in milliseconds


def test_a_failing_feed_backs_off_and_honours_retry_after(
    isolated: Isolated, feeds: FeedServer, tmp_path: Path
) -> None:
    feeds.fail_with = 503
    pub = Publisher(isolated.settings)
    try:
        now = [1000.0]
        follower = Follower(
            pub,
            PublishState.load(tmp_path / "s.json", isolated.settings.topic_raw),
            [feeds.url("/down.rss")],
            interval=5,
            clock=lambda: now[0],
        )
        report = follower.poll_due()
        src = follower.sources[0]
        assert report.published == [] and "HTTP 503" in report.errors[0]
        assert src.failures == 1 and src.next_due - now[0] >= 120  # Retry-After: 120
        feeds.fail_with = None
        feeds.put("/down.rss", (FIXTURES / "rss2.xml").read_bytes())
        assert follower.poll_due().published == []  # not due yet
        now[0] += 121
        assert len(follower.poll_due().published) == 2 and src.failures == 0
    finally:
        pub.close()


NEWSML_V3 = (FIXTURES / "newsml-g2-item.xml").read_bytes()
SANCTIONS = guid_id("urn:newsml:wire.example.com:20240304:sanctions-vote")


def consumed(iso: Isolated) -> bool:
    """The worker's group has committed up to the end of the raw and enriched topics."""
    # A consumer in the worker's group that never joins it: it only reads committed offsets.
    consumer = KafkaConsumer(
        bootstrap_servers=iso.settings.kafka_servers,
        group_id=iso.settings.app_id,
        enable_auto_commit=False,
    )
    try:
        parts = [
            TopicPartition(t, p)
            for t in (iso.settings.topic_raw, iso.settings.topic_enriched)
            for p in consumer.partitions_for_topic(t) or ()
        ]
        ends = consumer.end_offsets(parts)
        return all(end == 0 or (consumer.committed(tp) or 0) >= end for tp, end in ends.items())
    finally:
        consumer.close()


def test_resent_items_update_the_one_document(
    isolated: Isolated, feeds: FeedServer, tmp_path: Path
) -> None:
    """A newer version (NewsML-G2 folder drop) and a changed body without a version (RSS)
    update the indexed article in place; an older re-send changes nothing."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "newsml-g2-item.xml", inbox / "sanctions-v3.xml")
    rss = (FIXTURES / "rss2.xml").read_bytes()
    feeds.put("/world.rss", rss)
    es, alias = isolated.es, isolated.settings.es_alias
    worker = isolated.start_worker()
    pub = Publisher(isolated.settings)
    try:
        state = PublishState.load(tmp_path / "state.json", isolated.settings.topic_raw)
        follower = Follower(
            pub, state, [str(inbox), feeds.url("/world.rss")], interval=60, settle=0
        )
        assert len(follower.poll_due().published) == 3
        isolated.wait_for(
            lambda: {SANCTIONS, KENYA} <= isolated.indexed_ids(), 150, "first versions indexed"
        )

        # Version 4 of the NewsML item, dropped as a new file; the RSS body corrected.
        (inbox / "sanctions-v4.xml").write_bytes(
            NEWSML_V3.replace(b'version="3"', b'version="4"').replace(
                b"votes on North Korea sanctions</headline>",
                b"adopts North Korea sanctions</headline>",
            )
        )
        feeds.put("/world.rss", rss.replace(b"Turnout was higher", b"Turnout was lower"))
        for src in follower.sources:
            follower.poll(src)

        def updated() -> bool:
            es.indices.refresh(index=alias)
            a = es.get(index=alias, id=SANCTIONS)
            k = es.get(index=alias, id=KENYA)
            return a["_version"] == 4 and "lower" in k["_source"]["body"]

        isolated.wait_for(updated, 90, "new versions indexed")
        doc = es.get(index=alias, id=SANCTIONS)["_source"]
        assert "adopts North Korea sanctions" in doc["title"]
        assert doc["version"] == 4

        # An old copy re-sent without the publisher's state: the index keeps version 4.
        old = Publisher(isolated.settings)
        (inbox / "sanctions-v2.xml").write_bytes(NEWSML_V3.replace(b'version="3"', b'version="2"'))
        report = old.publish_files([inbox / "sanctions-v2.xml"])
        old.close()
        assert report.published == [SANCTIONS]
        isolated.wait_for(lambda: consumed(isolated), 60, "the old copy processed")
        es.indices.refresh(index=alias)
        assert es.get(index=alias, id=SANCTIONS)["_version"] == 4
        # ... and with the state, it is not even sent.
        assert follower.poll(follower.sources[0]).skipped_stale == 1
    finally:
        pub.close()
        stop_process(worker)

    hits = es.search(index=alias, query={"ids": {"values": [SANCTIONS, KENYA]}}, size=10)
    assert hits["hits"]["total"]["value"] == 2  # one document each, never a second
    assert len(isolated.indexed_ids()) == 3


def _cli(
    iso: Isolated, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "publish", *args],
        env=env or iso.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_file_run_counts_published_skipped_rejected(isolated: Isolated, tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    first = _cli(isolated, str(FIXTURES), "--state", state, "--rate", "200")
    assert first.returncode == 0, first.stderr
    assert "published 12 (0 new versions), skipped 0 already seen and 0 stale, rejected 1" in (
        first.stdout
    )
    assert "mixed.jsonl:3: invalid JSON" in first.stderr
    second = _cli(isolated, str(FIXTURES), "--state", state)
    assert second.returncode == 0, second.stderr
    assert "published 0 (0 new versions), skipped 12 already seen" in second.stdout
    assert len(read_topic(isolated)) == 12  # nothing sent twice


def test_cli_follow_once_watches_a_folder(isolated: Isolated, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "ninjs-2.json", inbox / "a.json")
    (inbox / ".partial.json").write_text("{")  # hidden files are not read
    args = ["--follow", str(inbox), "--once", "--settle", "0", "--state", str(tmp_path / "s")]
    run = _cli(isolated, *args)
    assert run.returncode == 0, run.stderr
    assert "published 2 " in run.stdout
    again = _cli(isolated, *args)
    assert again.returncode == 0, again.stderr
    assert "published 0 " in again.stdout  # the state remembers the file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_unreachable_broker_is_a_clear_error(isolated: Isolated, tmp_path: Path) -> None:
    env = {**isolated.env, "WIREWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{_free_port()}"}
    run = _cli(isolated, str(FIXTURES / "atom.xml"), "--no-state", env=env)
    assert run.returncode == 1
    assert "no Kafka broker answers at 127.0.0.1:" in run.stderr
    assert "Traceback" not in run.stderr
