"""`wirewatch search` on the real node, over real articles indexed by the real pipeline.

142 real articles (tests/fixtures/search_slice.jsonl, from ../shared/data) go through a
worker; the enriched records are read back from the enriched topic, and every facet count,
filter and highlight that `wirewatch search --json` reports is checked against what those
records say.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer

from processors.models import EnrichedArticle
from streams.publishing.publisher import Publisher
from streams.settings import Settings
from tests.integration.conftest import REPO, Isolated, isolation, stop_process

SLICE = REPO / "tests" / "fixtures" / "search_slice.jsonl"
FACETS = [
    "countries", "persons", "organizations", "places", "event_types", "event_actors",
    "entity_ids", "source", "language",
]  # fmt: skip


@pytest.fixture(scope="module")
def indexed(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Isolated, list[dict]]]:
    """One isolated pipeline for the module: publish the slice, index it, read it back.

    Module-scoped so the 142 articles are enriched once (spaCy on 2 cores), not per test.
    """
    with isolation({}, tmp_path_factory.mktemp("search")) as iso:
        worker = iso.start_worker()
        try:
            pub = Publisher(iso.settings)
            report = pub.publish_files([SLICE])
            pub.close()
            assert report.errors == []
            expected = set(report.published)
            assert len(expected) == 142
            iso.wait_for(lambda: iso.indexed_ids() >= expected, 300, "the slice indexed")
        finally:
            stop_process(worker)
        yield iso, read_enriched(iso, expected)


def read_enriched(iso: Isolated, ids: set[str]) -> list[dict[str, Any]]:
    """The enriched records as the worker wrote them to Kafka (last one per id)."""
    consumer = KafkaConsumer(
        iso.settings.topic_enriched,
        bootstrap_servers=iso.settings.kafka_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
        group_id=None,
    )
    latest: dict[str, dict[str, Any]] = {}
    try:
        for msg in consumer:
            rec = EnrichedArticle.model_validate_json(msg.value)
            latest[rec.id] = rec.document()
            if set(latest) >= ids:
                break
    finally:
        consumer.close()
    assert set(latest) == ids
    return list(latest.values())


def cli(iso: Isolated, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "search", "--json", *args],
        env=iso.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def all_ids(iso: Isolated, *args: str) -> tuple[int, set[str]]:
    result = cli(iso, *args, "--size", "500")
    return result["total"], {h["id"] for h in result["hits"]}


def expected_counts(records: list[dict[str, Any]], field: str) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for rec in records:
        value = rec.get(field)
        values = value if isinstance(value, list) else [value] if value is not None else []
        if field == "source":  # the `source` field's normaliser lowercases and folds
            values = [v.lower() for v in values]
        counts.update(set(values))  # a terms agg counts documents, not mentions
    return dict(counts)


def test_facet_counts_equal_the_counts_of_the_enriched_records(
    indexed: tuple[Isolated, list[dict]],
) -> None:
    iso, records = indexed
    args = [a for f in FACETS for a in ("--facet", f)]
    result = cli(iso, *args, "--facet-size", "1000", "--size", "1")
    assert result["total"] == len(records) == 142
    compared = 0
    for field in FACETS:
        got = {b["value"]: b["count"] for b in result["facets"][field]["buckets"]}
        assert result["facets"][field]["other"] == 0
        assert got == expected_counts(records, field), field
        compared += len(got)
    # Real enrichment, not empty facets: the slice names many countries, people and events.
    assert len(result["facets"]["countries"]["buckets"]) >= 20
    assert len(result["facets"]["persons"]["buckets"]) >= 20
    assert len(result["facets"]["event_types"]["buckets"]) >= 5
    assert compared > 300


def _published(rec: dict[str, Any]) -> datetime | None:
    if not rec.get("published_at"):
        return None
    when = datetime.fromisoformat(rec["published_at"].replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _filter_cases(records: list[dict[str, Any]]) -> list[tuple[list[str], Callable[..., bool]]]:
    persons = Counter(p for r in records for p in r["persons"])
    top_person = persons.most_common(1)[0][0]
    targets = Counter(
        e["target"] for r in records for e in r["events"] if e["type"] == "SANCTION" and e["target"]
    )
    target = targets.most_common(1)[0][0]
    march = datetime(1987, 3, 1, tzinfo=UTC)
    april_end = datetime(1987, 4, 2, tzinfo=UTC)  # `--until 1987-04-01` takes in that whole day
    week_ago = datetime.now(UTC) - timedelta(days=7)
    return [
        (["--country", "KP"], lambda r: "KP" in r["countries"]),
        (["--country", "kp", "--country", "JP"], lambda r: {"KP", "JP"} <= set(r["countries"])),
        (["--event", "SANCTION"], lambda r: "SANCTION" in r["event_types"]),
        # Typed in lower case: person and organisation filters ignore case.
        (["--person", top_person.lower()], lambda r: top_person in r["persons"]),
        (["--source", "reuters"], lambda r: (r["source"] or "").lower() == "reuters"),
        (
            ["--source", "AP", "--event", "ASSAULT"],
            lambda r: r["source"] == "AP" and "ASSAULT" in r["event_types"],
        ),
        (
            ["--since", "1987-03-01", "--until", "1987-04-01"],
            lambda r: (p := _published(r)) is not None and march <= p < april_end,
        ),
        (["--since", "7d"], lambda r: (p := _published(r)) is not None and p >= week_ago),
        (
            ["--event", "SANCTION", "--target", target],
            lambda r: any(e["type"] == "SANCTION" and e["target"] == target for e in r["events"]),
        ),
    ]


def test_each_filter_narrows_to_exactly_the_matching_records(
    indexed: tuple[Isolated, list[dict]],
) -> None:
    iso, records = indexed
    seen_nonempty = 0
    for args, keep in _filter_cases(records):
        expected = {r["id"] for r in records if keep(r)}
        total, got = all_ids(iso, *args)
        assert got == expected, (args, sorted(got ^ expected)[:10])
        assert total == len(expected) < len(records), args
        seen_nonempty += bool(expected)
    assert seen_nonempty >= 7  # the cases are not vacuous: most select something


def test_a_filter_narrows_a_full_text_query(indexed: tuple[Isolated, list[dict]]) -> None:
    iso, records = indexed
    total, everywhere = all_ids(iso, "sanctions")
    kp_total, in_kp = all_ids(iso, "sanctions", "--country", "KP")
    kp = {r["id"] for r in records if "KP" in r["countries"]}
    assert in_kp == everywhere & kp
    assert 0 < kp_total < total
    assert {"agnews-test-07383", "agnews-test-07459"} <= in_kp


@pytest.mark.parametrize(
    ("query", "words", "plain"),
    [
        ("sanctions", ["sanction"], [r"\bsanction"]),
        ("sanctions north", ["sanction", "north"], [r"\bsanction", r"\bnorth\b"]),
        ('"prime minister"', ["prime", "minist"], [r"\bprime minister"]),
    ],
)
def test_highlights_contain_the_query_terms(
    indexed: tuple[Isolated, list[dict]], query: str, words: list[str], plain: list[str]
) -> None:
    iso, records = indexed
    result = cli(iso, query, "--size", "100")
    assert result["total"] == len(result["hits"]) > 0
    stems = re.compile("^(" + "|".join(words) + ")", re.IGNORECASE)
    by_id = {r["id"]: r for r in records}
    for hit in result["hits"]:
        marked = re.findall(
            r"«([^»]+)»", " ".join(hit["snippets"]) + (hit["title_highlight"] or "")
        )
        assert marked, hit
        assert all(stems.match(word) for word in marked), (hit["id"], marked)
        # Every word must occur (default operator AND), in some form the english analyser folds.
        text = f"{by_id[hit['id']]['title']} {by_id[hit['id']]['body']}".lower()
        assert all(w in text for w in words), hit["id"]
    # And every record that has the words in plain form is found.
    having = {
        r["id"]
        for r in records
        if all(re.search(p, f"{r['title']} {r['body']}", re.IGNORECASE) for p in plain)
    }
    assert having and having <= {h["id"] for h in result["hits"]}


def test_pages_partition_the_hits(indexed: tuple[Isolated, list[dict]]) -> None:
    iso, records = indexed
    pages = [cli(iso, "--size", "50", "--page", str(n)) for n in (1, 2, 3)]
    ids = [h["id"] for page in pages for h in page["hits"]]
    assert [len(p["hits"]) for p in pages] == [50, 50, 42]
    assert len(set(ids)) == len(ids) == len(records)
    assert pages[0]["pages"] == 3
    dated = [h["published_at"] for h in pages[0]["hits"] if h["published_at"]]
    assert dated == sorted(dated, reverse=True)  # no query string: newest first


def test_the_table_output_and_the_error_messages(indexed: tuple[Isolated, list[dict]]) -> None:
    iso, _ = indexed

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streams", "search", *args],
            env={**iso.env, "COLUMNS": "200", **env},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    table = run("north korea", "--facet", "countries")
    assert table.returncode == 0, table.stderr
    assert "hit(s) for 'north korea'" in table.stdout and "«North»" in table.stdout
    assert "facets (over all hits)" in table.stdout and "KP" in table.stdout

    bad = run('"north korea')
    assert bad.returncode == 2 and "double quote is not closed" in bad.stderr

    down = run("x", WIREWATCH_ES_URL="http://127.0.0.1:9")
    assert down.returncode == 1
    assert "Elasticsearch at http://127.0.0.1:9 is unreachable" in down.stderr
    assert "Traceback" not in down.stderr

    missing = run("x", WIREWATCH_ES_ALIAS="no-such-alias-for-wirewatch")
    assert missing.returncode == 1 and "run `wirewatch init` first" in missing.stderr
