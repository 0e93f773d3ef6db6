"""Throughput: bare spaCy `nlp.pipe` (the baseline) against the whole pipeline, in one run.

baseline: the enrichment pipeline's spaCy `nlp.pipe` over title + body, one process, no I/O.
pipeline: published to Kafka -> Faust worker (enrich in a worker process, index) ->
          searchable in Elasticsearch, timed from the first publish to the last document
          found, with a warmed-up worker.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import (
    isolated_pipeline,
    load_articles,
    machine,
    merge_results,
    rss_mib,
    wait_until,
    worker,
)
from processors.enrich import enrich_articles, load_pipeline
from processors.models import Article
from streams.clients.elastic import make_client
from streams.publishing.publisher import Publisher
from streams.settings import Settings


def baseline(articles: list[Article], model: str, batch_size: int) -> tuple[float, float]:
    """Articles per second of bare `nlp.pipe` and of `enrich_articles`, one process."""
    nlp = load_pipeline(model)
    texts = [f"{a.title}\n\n{a.body}" for a in articles]
    list(nlp.pipe(texts[:16], batch_size=batch_size))  # warm-up
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    bare = len(texts) / (time.perf_counter() - start)
    enrich_articles(articles[:16], model=model, batch_size=batch_size)
    start = time.perf_counter()
    enrich_articles(articles, model=model, batch_size=batch_size)
    enriched = len(articles) / (time.perf_counter() - start)
    return bare, enriched


def pipeline(articles: list[Article], warmup: list[Article]) -> tuple[float, float, float]:
    """Articles per second published -> searchable, plus the worker's peak RSS (MiB)."""
    with isolated_pipeline() as (settings, env), tempfile.TemporaryDirectory() as tmp:
        es = make_client(settings)

        def count() -> int:
            es.indices.refresh(index=settings.es_alias)
            return int(es.count(index=settings.es_alias)["count"])

        with worker(env, Path(tmp) / "worker.log") as proc:
            pub = Publisher(settings)
            pub.publish(warmup)
            wait_until(lambda: count() >= len(warmup), 180, "the warm-up articles")
            peak = rss_mib(proc.pid)
            start = time.perf_counter()
            pub.publish(articles)
            target = len(warmup) + len(articles)

            def done() -> bool:
                nonlocal peak
                peak = max(peak, rss_mib(proc.pid))
                return count() >= target

            wait_until(done, 600, f"{len(articles)} articles indexed", interval=0.1)
            elapsed = time.perf_counter() - start
            pub.close()
        return len(articles) / elapsed, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()
    settings = Settings()
    articles = load_articles(args.articles, offset=100)
    warmup = load_articles(20)
    bare, enriched = baseline(articles, settings.spacy_model, settings.batch_size)
    e2e, elapsed, peak = pipeline(articles, warmup)
    result = {
        "articles": len(articles),
        "baseline_articles_per_s": round(bare, 1),
        "enrich_articles_per_s": round(enriched, 1),
        "pipeline_articles_per_s": round(e2e, 1),
        "ratio": round(e2e / bare, 3),
        "pipeline_seconds": round(elapsed, 2),
        "worker_peak_rss_mib": round(peak, 1),
        "machine": machine(),
    }
    merge_results(result)
    print(f"articles:                          {len(articles)} (Reuters-21578)")
    print(f"baseline spaCy nlp.pipe, 1 proc:   {bare:8.1f} articles/s")
    print(
        f"enrich_articles (full layer):      {enriched:8.1f} articles/s "
        f"({enriched / bare:.2f} of baseline)"
    )
    print(
        f"pipeline publish -> searchable:    {e2e:8.1f} articles/s "
        f"({elapsed:.1f} s for {len(articles)})"
    )
    print(f"ratio pipeline / baseline:         {e2e / bare:8.3f}")
    print(f"worker peak RSS (with its enrichment process): {peak:.0f} MiB")
    print(json.dumps(result["machine"]))


if __name__ == "__main__":
    main()
