"""Alert latency and rule-matching cost.

latency: a worker with 1,000 synthetic rules plus one that matches every article
         (`match_all`, so each new story fires); Reuters-21578 articles are published at a
         steady offered rate; for each article the bench records when it became searchable
         (an `ids` search polled every 50 ms, no forced refresh) and when its alert arrived on
         the alerts topic. Reports p50/p99 of publish -> searchable and publish -> alert.
matching: the per-article cost of running 1,000 stored rules against just-indexed articles
         with `_msearch` (the alert agent's code path), for batches of 1, 10 and 50, with
         and without candidate pre-selection.

Writes the figures under the `alerts` key of bench/results.json (other keys are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from bench.common import (
    SearchablePoller,
    isolated_pipeline,
    load_articles,
    machine,
    merge_results,
    percentile,
    wait_until,
    worker,
)
from processors.models import EnrichedArticle
from processors.rules import known_event_types
from streams.clients.elastic import make_async_client, make_client
from streams.clients.indices import ensure_alert_indices
from streams.operations.rule_files import load_rules_dir
from streams.operations.rules import sync_rules
from streams.publishing.publisher import Publisher
from streams.settings import Settings
from streams.stages.matching import ActiveRule, match_rules

COUNTRIES = [
    "US",
    "GB",
    "FR",
    "DE",
    "RU",
    "CN",
    "JP",
    "KP",
    "KR",
    "IR",
    "IQ",
    "SY",
    "IL",
    "PS",
    "UA",
    "IN",
    "PK",
    "AF",
    "SA",
    "EG",
    "TR",
    "ZA",
    "NG",
    "KE",
    "BR",
    "AR",
    "MX",
    "CA",
    "AU",
    "VE",
    "CU",
    "LY",
    "SD",
    "ET",
    "SO",
    "YE",
    "QA",
    "AE",
    "JO",
    "LB",
    "PL",
    "SE",
    "NO",
    "DK",
    "NL",
    "BE",
    "IT",
    "ES",
    "PT",
    "GR",
    "CH",
    "AT",
    "HU",
    "CZ",
    "RO",
    "BG",
    "RS",
]
WORDS = [
    "oil",
    "sanctions",
    "talks",
    "missile",
    "election",
    "strike",
    "coup",
    "tariff",
    "embargo",
    "vaccine",
    "drought",
    "protest",
    "ceasefire",
    "summit",
    "bank",
    "default",
    "inflation",
    "nuclear",
    "refugees",
    "pipeline",
    "wheat",
]


def synthetic_rules(folder: Path, n: int, seed: int = 7) -> None:
    """`n` plausible user rules: country + event type, some with text, some raw DSL."""
    rnd = random.Random(seed)
    types = sorted(known_event_types())
    for i in range(n):
        countries = rnd.sample(COUNTRIES, rnd.choice((1, 1, 2, 3)))
        kind = rnd.random()
        if kind < 0.1:
            query = {
                "dsl": {
                    "bool": {
                        "filter": [{"terms": {"countries": countries}}],
                        "must": [{"match": {"body": rnd.choice(WORDS)}}],
                    }
                }
            }
        else:
            query = {"countries": countries, "event_types": rnd.sample(types, rnd.choice((1, 2)))}
            if kind < 0.35:
                query["text"] = rnd.choice(WORDS)
        body = {
            "name": f"Synthetic {i}",
            "description": "bench rule",
            "severity": rnd.choice(["low", "medium", "high"]),
            "query": query,
        }
        (folder / f"synthetic-{i:04d}.yaml").write_text(json.dumps(body))  # JSON is YAML


class AlertWatcher(threading.Thread):
    """Records when each article's first alert arrives on the alerts topic."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(
            self.settings.topic_alerts,
            bootstrap_servers=self.settings.kafka_servers,
            group_id=None,
            auto_offset_reset="earliest",
            consumer_timeout_ms=200,
        )
        try:
            while not self.stop.is_set():
                for msg in consumer:
                    alert = json.loads(msg.value)
                    self.seen.setdefault(alert["article_id"], time.time())
                self.ready.set()
        finally:
            consumer.close()


def latency(
    n: int, rate: float, rules: int, log_dir: Path
) -> tuple[dict[str, Any], Settings, dict[str, str]]:
    """Publish -> searchable and publish -> alert at a steady offered rate."""
    articles = load_articles(n, offset=400)
    warmup = load_articles(10, offset=380)
    out: dict[str, Any] = {}
    with isolated_pipeline({"WIREWATCH_INDEX_BATCH_SECONDS": "0.2"}) as (settings, env):
        es = make_client(settings)
        ensure_alert_indices(es, settings)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            synthetic_rules(folder, rules)
            (folder / "every-story.yaml").write_text(
                json.dumps(
                    {
                        "name": "Every story",
                        "description": "bench: fires once for every new story",
                        "severity": "info",
                        "query": {"dsl": {"match_all": {}}},
                    }
                )
            )
            report = sync_rules(es, settings, folder)
            assert not report.errors, report.errors[:3]
        watcher = AlertWatcher(settings)
        watcher.start()
        with worker(env, log_dir / "alerts-worker.log"):
            pub = Publisher(settings)
            pub.publish(warmup)
            wait_until(lambda: len(watcher.seen) >= len(warmup) // 2, 240, "warm-up alerts")
            time.sleep(2)
            with SearchablePoller(es, settings.es_alias, interval=0.05) as poller:
                poller.offer(pub.publish, articles, rate)
                wait_until(
                    lambda: len(poller.searchable) >= len(articles), 300, "all articles searchable"
                )
                published, to_search = poller.published, poller.latencies()
            # Near-duplicates among the articles share a story and fire once: wait for quiet.
            last = -1
            while last != len(watcher.seen):
                last = len(watcher.seen)
                time.sleep(3)
            pub.close()
        watcher.stop.set()
        to_alert = [watcher.seen[i] - published[i] for i in published if i in watcher.seen]
        out = {
            "articles": len(articles),
            "offered_rate_per_s": rate,
            "stored_rules": rules + 1,
            "alerts": len(to_alert),
            "publish_to_searchable_p50_s": round(percentile(to_search, 0.5), 3),
            "publish_to_searchable_p99_s": round(percentile(to_search, 0.99), 3),
            "publish_to_alert_p50_s": round(percentile(to_alert, 0.5), 3),
            "publish_to_alert_p99_s": round(percentile(to_alert, 0.99), 3),
        }
        out["p99_alert_minus_searchable_s"] = round(
            out["publish_to_alert_p99_s"] - out["publish_to_searchable_p99_s"], 3
        )
        out["matching"] = asyncio.run(matching_cost(settings, folder_rules(rules), published))
    return out, settings, env


def folder_rules(n: int) -> list[ActiveRule]:
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_rules(Path(tmp), n)
        rules, errors = load_rules_dir(Path(tmp))
    assert not errors
    return [ActiveRule.of(r) for r in rules]


async def matching_cost(
    settings: Settings, rules: list[ActiveRule], published: dict[str, float]
) -> dict[str, Any]:
    """ms per article to run the rules on just-indexed articles (the alert agent's request)."""
    es = make_async_client(settings)
    try:
        ids = list(published)[:200]
        resp = await es.search(index=settings.es_alias, query={"ids": {"values": ids}}, size=200)
        records = {
            h["_id"]: EnrichedArticle.model_validate(h["_source"]) for h in resp["hits"]["hits"]
        }
        ordered = list(records)
        out: dict[str, Any] = {"rules": len(rules)}
        for candidates in (True, False):
            for size in (1, 10, 50):
                times: list[float] = []
                searches: list[int] = []
                for start in range(0, min(len(ordered), 150), size):
                    batch = {i: records[i] for i in ordered[start : start + size]}
                    if len(batch) < size:
                        break
                    began = time.perf_counter()
                    _, stats = await match_rules(
                        es, settings.es_alias, rules, batch, candidates=candidates
                    )
                    times.append((time.perf_counter() - began) / size * 1000)
                    searches.append(stats.searches)
                    if len(times) >= 20:
                        break
                key = f"{'candidates' if candidates else 'all_rules'}_batch{size}"
                out[key] = {
                    "ms_per_article_p50": round(statistics.median(times), 2),
                    "ms_per_article_max": round(max(times), 2),
                    "searches_per_batch_mean": round(statistics.mean(searches), 1),
                    "batches": len(times),
                }
        return out
    finally:
        await es.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=120)
    parser.add_argument("--rate", type=float, default=4.0, help="offered articles per second")
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result, _, _ = latency(args.articles, args.rate, args.rules, Path(tmp))
    result["machine"] = machine()
    merge_results({"alerts": result})
    m = result["matching"]
    print(
        f"articles: {result['articles']} (Reuters-21578) at {args.rate}/s offered, "
        f"{result['stored_rules']} stored rules, {result['alerts']} alerts"
    )
    print(
        f"publish -> searchable  p50 {result['publish_to_searchable_p50_s']:.3f} s  "
        f"p99 {result['publish_to_searchable_p99_s']:.3f} s"
    )
    print(
        f"publish -> alert       p50 {result['publish_to_alert_p50_s']:.3f} s  "
        f"p99 {result['publish_to_alert_p99_s']:.3f} s  "
        f"(p99 difference {result['p99_alert_minus_searchable_s']:+.3f} s; target <= +0.5 s)"
    )
    print(f"rule matching, {m['rules']} rules, ms per article (p50):")
    for size in (1, 10, 50):
        c, a = m[f"candidates_batch{size}"], m[f"all_rules_batch{size}"]
        print(
            f"  batch {size:3}: with candidate selection {c['ms_per_article_p50']:8.2f} "
            f"({c['searches_per_batch_mean']:.0f} searches)   all rules "
            f"{a['ms_per_article_p50']:8.2f} ({a['searches_per_batch_mean']:.0f} searches)"
        )


if __name__ == "__main__":
    main()
