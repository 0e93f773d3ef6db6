"""Throughput, CPU per article, latency, memory: bare spaCy against the whole pipeline, one run.

bare:        spaCy `nlp.pipe` of the enrichment pipeline over title + body, in one fresh process
             (spawned, model loaded once, no I/O): articles/s, CPU seconds per article, peak RSS.
layer:       `enrich_articles` (spaCy + the enrichment layer), same conditions.
one worker:  Reuters-21578 articles published to Kafka as fast as the publisher goes, one worker
             with one spaCy process (`WIREWATCH_SPACY_PROCESSES=1`) and the packaged alert
             rules, timed from the first publish to the last article searchable; CPU seconds
             used meanwhile by the worker's main process, its spaCy process, the Kafka broker
             and the Elasticsearch node. Before timing, the broker and the node are warmed
             once by `STACK_WARMUP_ARTICLES` other articles through a throwaway pipeline, and
             each run sends `WARMUP_ARTICLES` through its own before its clock starts (model
             loaded, JVMs past their just-in-time compilation), as in a running deployment:
             without the stack warm-up, the first timed run on a stack started a minute
             before paid the JVMs' compilation (Elasticsearch 9.7-12.7 ms of CPU per article
             against 3-4.5 in later runs of the same code).
latency:     the same worker, articles offered at half its measured rate one at a time;
             publish -> searchable per article.
two workers: the one-worker run again on a fresh pipeline with two workers.

Rounds: bare, one worker and two workers run `--rounds` times (3), interleaved, after one
stack warm-up; the figures reported are the medians of the rounds, each ratio the median of
the rounds' own ratios (every round's ratios are kept under `rounds`). On a shared virtual
machine one sample of each moves by 10% or more from run to run; the latency distribution
is taken once, in the first round.

Searchability is polled every 0.1-0.2 s with `count` / `ids` requests and never with a forced
refresh: an article counts when the index's own refresh (`refresh_interval`) made it
visible, as it would for a user in Kibana. Each pipeline run has its own topics, consumer
group and index (`bench.common.isolated_pipeline`).

Writes the figures under the `throughput` key of bench/results.json and draws
bench/throughput.png (latency distribution, throughput bars).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from bench.common import (
    REPO,
    SearchablePoller,
    cpu_seconds,
    free_port,
    isolated_pipeline,
    load_articles,
    machine,
    merge_results,
    percentile,
    process_tree,
    rss_mib,
    wait_until,
    worker,
)
from processors.enrich import enrich_articles, load_pipeline
from processors.models import Article
from streams.clients.elastic import make_client
from streams.clients.indices import ensure_alert_indices
from streams.clients.resources import rules_folder
from streams.operations.rules import sync_rules
from streams.publishing.publisher import Publisher
from streams.settings import Settings
from streams.stack.local import es_service, kafka_service

PLOT = REPO / "bench" / "throughput.png"


# -- in a fresh process -------------------------------------------------------------------


def _bare(articles: list[Article], model: str, batch_size: int) -> dict[str, float]:
    nlp = load_pipeline(model)
    texts = [f"{a.title}\n\n{a.body}" for a in articles]
    list(nlp.pipe(texts[:16], batch_size=batch_size))  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "articles_per_s": len(texts) / wall,
        "cpu_ms_per_article": 1000 * cpu / len(texts),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _layer(articles: list[Article], model: str, batch_size: int) -> dict[str, float]:
    enrich_articles(articles[:16], model=model, batch_size=batch_size)  # loads the model
    wall, cpu = time.perf_counter(), time.process_time()
    enrich_articles(articles, model=model, batch_size=batch_size)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "articles_per_s": len(articles) / wall,
        "cpu_ms_per_article": 1000 * cpu / len(articles),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_fresh_process(fn: Any, *args: Any) -> dict[str, float]:
    """Run `fn(*args)` in a new spawned process, as the worker runs spaCy."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(pool.submit(fn, *args).result())


# -- the pipeline ---------------------------------------------------------------------------


class Meter:
    """CPU seconds of the pipeline's processes, by component."""

    def __init__(self, settings: Settings, workers: list[int]) -> None:
        self.workers = workers
        kafka, es = kafka_service(settings).pid(), es_service(settings).pid()
        if kafka is None or es is None:
            raise SystemExit("benchmark: the local Kafka and Elasticsearch must be running")
        self.kafka: int = kafka
        self.es: int = es

    def read(self) -> dict[str, float]:
        spacy = sum(cpu_seconds(p) for w in self.workers for p in process_tree(w)[1:])
        return {
            "worker_main": sum(cpu_seconds(w) for w in self.workers),
            "spacy": spacy,
            "kafka": cpu_seconds(self.kafka),
            "elasticsearch": cpu_seconds(self.es),
            "bench_process": time.process_time(),
        }


def group_stable(settings: Settings, members: int) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    try:
        group = admin.describe_groups([settings.app_id]).get(settings.app_id) or {}
    except KafkaError:  # no coordinator yet: the group is forming
        return False
    else:
        state = group.get("group_state") or group.get("state")
        return bool(state == "Stable" and len(group.get("members") or ()) == members)
    finally:
        admin.close()


@contextmanager
def workers(env: dict[str, str], n: int, log_dir: Path) -> Iterator[list[int]]:
    with ExitStack() as stack:
        pids = []
        for i in range(n):
            own = {
                **env,
                "WIREWATCH_WORKER_INSTANCE_ID": f"bench-worker-{i}",
                "WIREWATCH_WORKER_WEB_PORT": str(free_port()),
            }
            proc = stack.enter_context(worker(own, log_dir / f"worker-{n}-{i}.log"))
            pids.append(proc.pid)
        yield pids


def run_pipeline(
    n_workers: int,
    articles: list[Article],
    warmup: list[Article],
    log_dir: Path,
    latency_articles: list[Article] | None = None,
    latency_fraction: float = 0.5,
) -> dict[str, Any]:
    """Throughput (and latency) of `n_workers` workers with one spaCy process each."""
    out: dict[str, Any] = {"workers": n_workers}
    with isolated_pipeline({"WIREWATCH_SPACY_PROCESSES": "1"}) as (settings, env):
        es = make_client(settings)
        ensure_alert_indices(es, settings)
        with rules_folder() as folder:
            synced = sync_rules(es, settings, folder)
        assert synced.loaded and not synced.errors, synced

        def count() -> int:
            return int(es.count(index=settings.es_alias)["count"])

        with workers(env, n_workers, log_dir) as pids:
            wait_until(lambda: group_stable(settings, n_workers), 240, "the consumer group")
            pub = Publisher(settings)
            pub.publish(warmup)
            wait_until(lambda: count() >= len(warmup), 240, "the warm-up articles")
            time.sleep(2)
            meter = Meter(settings, pids)
            peak = {pid: rss_mib(pid) for pid in pids}
            before = meter.read()
            start = time.perf_counter()
            pub.publish(articles)
            target = len(warmup) + len(articles)

            def done() -> bool:
                for pid in pids:
                    peak[pid] = max(peak[pid], rss_mib(pid))
                return count() >= target

            wait_until(done, 900, f"{len(articles)} articles searchable", interval=0.2)
            elapsed = time.perf_counter() - start
            after = meter.read()
            cpu = {k: (after[k] - before[k]) * 1000 / len(articles) for k in after}
            out.update(
                articles=len(articles),
                seconds=round(elapsed, 2),
                articles_per_s=round(len(articles) / elapsed, 2),
                cpu_ms_per_article={k: round(v, 1) for k, v in cpu.items()},
                worker_peak_rss_mib=round(max(peak.values()), 1),
            )
            if latency_articles:
                time.sleep(3)
                rate = latency_fraction * len(articles) / elapsed
                out["latency"] = offered_latency(settings, pub, latency_articles, rate)
            pub.close()
    return out


def offered_latency(
    settings: Settings, pub: Publisher, articles: list[Article], rate: float
) -> dict[str, Any]:
    """Publish -> searchable for articles offered one at a time at `rate` per second."""
    es = make_client(settings)
    with SearchablePoller(es, settings.es_alias, interval=0.1) as poller:
        poller.offer(pub.publish, articles, rate)
        wait_until(lambda: len(poller.searchable) >= len(articles), 300, "the offered articles")
    seconds = poller.latencies()
    return {
        "offered_articles_per_s": round(rate, 2),
        "articles": len(seconds),
        "p50_s": round(percentile(seconds, 0.5), 3),
        "p99_s": round(percentile(seconds, 0.99), 3),
        "max_s": round(seconds[-1], 3),
        "seconds": [round(s, 3) for s in seconds],
    }


# -- report -------------------------------------------------------------------------------


def summarise(
    bare: dict[str, float], layer: dict[str, float], one: dict[str, Any], two: dict[str, Any]
) -> dict[str, Any]:
    """One round's figures and ratios."""
    pipeline_cpu = sum(v for k, v in one["cpu_ms_per_article"].items() if k != "bench_process")
    return {
        "bare_spacy": {k: round(v, 2) for k, v in bare.items()},
        "enrichment_layer": {k: round(v, 2) for k, v in layer.items()},
        "one_worker": {k: v for k, v in one.items() if k != "latency"},
        "two_workers": two,
        "one_worker_over_bare": round(one["articles_per_s"] / bare["articles_per_s"], 3),
        "two_workers_over_one": round(two["articles_per_s"] / one["articles_per_s"], 3),
        "pipeline_cpu_ms_per_article": round(pipeline_cpu, 1),
        "pipeline_cpu_over_bare": round(pipeline_cpu / bare["cpu_ms_per_article"], 3),
        "worker_rss_over_bare": round(one["worker_peak_rss_mib"] / bare["peak_rss_mib"], 3),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Key by key, the median of the rounds' numbers (ratios too: the median of the rounds'
    own ratios, each taken from measurements a minute apart)."""
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = median_of([r[key] for r in runs])
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = round(statistics.median(r[key] for r in runs), 3)
        else:
            out[key] = value
    return out


TARGETS = [
    ("one worker / bare nlp.pipe", "one_worker_over_bare", ">=", 0.85),
    ("two workers / one worker", "two_workers_over_one", ">=", 1.3),
    ("pipeline CPU / bare spaCy CPU", "pipeline_cpu_over_bare", "<=", 1.4),
    ("worker RSS / bare spaCy RSS", "worker_rss_over_bare", "<=", 1.5),
]


RATIO_KEYS = (
    "one_worker_over_bare",
    "two_workers_over_one",
    "pipeline_cpu_over_bare",
    "worker_rss_over_bare",
)


def round_line(r: dict[str, Any]) -> str:
    return "  ".join(f"{k} {r[k]:.3f}" for k in RATIO_KEYS)


def report(r: dict[str, Any]) -> None:
    one, two, lat = r["one_worker"], r["two_workers"], r["latency_half_rate"]
    print(
        f"articles: {one['articles']} (Reuters-21578); one spaCy process per worker; medians "
        f"of {len(r['rounds'])} interleaved rounds (bare, one worker, two workers)"
    )
    print(f"bare spaCy nlp.pipe, 1 process:  {r['bare_spacy']['articles_per_s']:7.2f} articles/s")
    print(
        "enrich_articles (the layer):     "
        f"{r['enrichment_layer']['articles_per_s']:7.2f} articles/s"
    )
    print(f"one worker, publish->searchable: {one['articles_per_s']:7.2f} articles/s")
    print(f"two workers:                     {two['articles_per_s']:7.2f} articles/s")
    print("CPU ms per article        bare spaCy  one worker  two workers")
    print(f"  spaCy process(es)       {r['bare_spacy']['cpu_ms_per_article']:10.1f}", end="")
    print(
        f"  {one['cpu_ms_per_article']['spacy']:10.1f}  {two['cpu_ms_per_article']['spacy']:11.1f}"
    )
    for key in ("worker_main", "kafka", "elasticsearch", "bench_process"):
        print(
            f"  {key:24}{'':10}  {one['cpu_ms_per_article'][key]:10.1f}  "
            f"{two['cpu_ms_per_article'][key]:11.1f}"
        )
    print(f"  pipeline total (no bench){'':9}{r['pipeline_cpu_ms_per_article']:10.1f}")
    print(
        f"latency at {lat['offered_articles_per_s']:.2f} articles/s offered (half one worker): "
        f"p50 {lat['p50_s']:.3f} s  p99 {lat['p99_s']:.3f} s  (target p99 <= 2.0 s)"
    )
    print(
        f"peak RSS: worker with its spaCy process {one['worker_peak_rss_mib']:.0f} MiB, "
        f"bare spaCy process {r['bare_spacy']['peak_rss_mib']:.0f} MiB"
    )
    for label, key, op, target in TARGETS:
        value = r[key]
        ok = value >= target if op == ">=" else value <= target
        print(f"  {label:32} {value:6.3f}  (target {op} {target})  {'met' if ok else 'NOT MET'}")
    ok = lat["p99_s"] <= 2.0
    print(
        f"  {'p99 publish->searchable, half rate':32} {lat['p99_s']:6.3f}  (target <= 2.0)  "
        f"{'met' if ok else 'NOT MET'}"
    )


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    seconds = r["latency_half_rate"]["seconds"]
    left.hist(seconds, bins=30, color="#4477aa")
    for q, style in ((0.5, "--"), (0.99, ":")):
        value = percentile(seconds, q)
        left.axvline(value, color="black", linestyle=style, label=f"p{int(q * 100)} {value:.2f} s")
    left.set_xlabel("publish -> searchable (s)")
    left.set_ylabel("articles")
    left.set_title(
        f"Latency at {r['latency_half_rate']['offered_articles_per_s']:.1f} articles/s offered"
    )
    left.legend()
    labels = ["bare nlp.pipe", "enrich layer", "1 worker", "2 workers"]
    values = [
        r["bare_spacy"]["articles_per_s"],
        r["enrichment_layer"]["articles_per_s"],
        r["one_worker"]["articles_per_s"],
        r["two_workers"]["articles_per_s"],
    ]
    bars = right.bar(labels, values, color=["#999999", "#bbbbbb", "#4477aa", "#228833"])
    right.bar_label(bars, fmt="%.1f")
    right.set_ylabel("articles/s")
    right.set_title("Throughput, one spaCy process per worker")
    fig.suptitle(f"wirewatch on {machine()['cpus']} cores: {machine()['cpu']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


WARMUP_ARTICLES = 100
"""Articles each pipeline run sends through before its timed run (not timed, not counted)."""
STACK_WARMUP_ARTICLES = 1500
"""Articles of the one throwaway run that warms the broker's and the node's JVMs."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--latency-articles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="bare / one / two, interleaved")
    args = parser.parse_args()
    settings = Settings()
    warmup = load_articles(WARMUP_ARTICLES)  # the first ones; then the timed ones
    articles = load_articles(args.articles, offset=WARMUP_ARTICLES)
    offered = load_articles(args.latency_articles, offset=WARMUP_ARTICLES + args.articles)
    stack_warmup = load_articles(
        STACK_WARMUP_ARTICLES, offset=WARMUP_ARTICLES + args.articles + args.latency_articles
    )
    model, batch = settings.spacy_model, settings.batch_size
    layer = in_fresh_process(_layer, articles, model, batch)
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        run_pipeline(1, stack_warmup, warmup, Path(tmp))  # warms the JVMs; not reported
        for i in range(args.rounds):
            bare = in_fresh_process(_bare, articles, model, batch)
            first = i == 0
            one = run_pipeline(1, articles, warmup, Path(tmp), offered if first else None)
            two = run_pipeline(2, articles, warmup, Path(tmp))
            if first:
                latency = one["latency"]
            rounds.append(summarise(bare, layer, one, two))
            print(f"round {i + 1}: " + round_line(rounds[-1]), flush=True)
    result = median_of(rounds)
    result["latency_half_rate"] = latency
    result["rounds"] = [{k: r[k] for k in RATIO_KEYS} for r in rounds]
    result["machine"] = machine()
    merge_results(
        {"throughput": result},
        drop=(
            "articles",
            "baseline_articles_per_s",
            "enrich_articles_per_s",
            "pipeline_articles_per_s",
            "pipeline_seconds",
            "ratio",
            "worker_peak_rss_mib",
        ),
    )
    plot(result, PLOT)
    report(result)
    print(f"figures: bench/results.json (throughput), plot: {PLOT.relative_to(REPO)}")
    print(json.dumps(result["machine"]))


if __name__ == "__main__":
    main()
