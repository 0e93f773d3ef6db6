"""`make soak`: thousands of real articles through the pipeline while the worker is killed
(SIGKILL) again and again; then the ledger: published, indexed, dead-lettered, duplicates,
and the worker's memory.

Duplicates are documents indexed more often than the index agent received them (their
`_version` above their copies on the enriched topic plus the restarts): 0 is the target.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from bench.common import isolated_pipeline, load_articles, machine, merge_results, rss_mib, worker
from streams.clients.elastic import make_client
from streams.logs import delivery_counts
from streams.operations.ops import read_topic
from streams.publishing.publisher import Publisher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--kill-every", type=float, default=20.0, help="seconds between kills")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument(
        "--static",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="static group membership for the restarted worker (WIREWATCH_WORKER_INSTANCE_ID)",
    )
    args = parser.parse_args()
    batch = load_articles(args.articles, corpus="reuters21578.jsonl.gz", offset=500)
    published = {a.id for a in batch}
    # A stable instance id: the restarted worker is the same group member (static membership).
    extra = {"WIREWATCH_WORKER_INSTANCE_ID": "soak-worker-1"} if args.static else {}
    # Every worker logs each batch the index agent writes, so deliveries are counted.
    extra |= {"WIREWATCH_AUDIT_DELIVERIES": "true", "WIREWATCH_LOG_JSON": "true"}
    with isolated_pipeline(extra) as (settings, env), tempfile.TemporaryDirectory() as tmp:
        es = make_client(settings)
        kills = 0
        rss_samples: list[float] = []
        start = time.monotonic()

        def indexed() -> set[str]:
            es.indices.refresh(index=settings.es_alias)
            seen: set[str] = set()
            for hit in es.search(
                index=settings.es_alias, size=10000, source=False, query={"match_all": {}}
            )["hits"]["hits"]:
                seen.add(hit["_id"])
            return seen

        def dead() -> set[str]:
            return {
                json.loads(v or b"{}").get("article_id")
                for _, v in read_topic(settings, settings.topic_dlq)
            }

        def publish() -> None:
            pub = Publisher(settings)
            for start in range(0, len(batch), 100):
                pub.publish(batch[start : start + 100])
                time.sleep(0.5)  # a steady stream, not one burst
            pub.close()

        feeder = threading.Thread(target=publish, daemon=True)
        feeder.start()
        proc_cm = worker(env, Path(tmp) / "worker-0.log")
        proc = proc_cm.__enter__()
        first_rss: float | None = None
        last_kill = time.monotonic()
        indexed_at_kill = 0
        try:
            while time.monotonic() - start < args.timeout:
                time.sleep(1.0)
                rss = rss_mib(proc.pid)
                if rss:
                    rss_samples.append(rss)
                    if first_rss is None and time.monotonic() - start > 15:
                        first_rss = rss
                got = indexed()
                if got | dead() >= published:
                    break
                # Kill again only once the restarted worker has made progress: a kill loop
                # that never lets a worker recover proves nothing.
                if (
                    time.monotonic() - last_kill > args.kill_every
                    and len(got) > indexed_at_kill
                    and len(got) < len(published) * 0.9
                ):
                    indexed_at_kill = len(got)
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                    kills += 1
                    proc_cm.__exit__(None, None, None)
                    proc_cm = worker(env, Path(tmp) / f"worker-{kills}.log")
                    proc = proc_cm.__enter__()
                    last_kill = time.monotonic()
            # The last worker runs a while longer so its RSS growth is measured.
            steady_start = rss_mib(proc.pid)
            time.sleep(10)
            steady_end = rss_mib(proc.pid)
        finally:
            proc_cm.__exit__(None, None, None)
        elapsed = time.monotonic() - start
        # Records the guarded consumer found skipped and fetched again (streams/offsets.py).
        logs = "\n".join(p.read_text(errors="replace") for p in Path(tmp).glob("worker-*.log"))
        holes = logs.count("offsets.hole")
        deliveries = delivery_counts(logs)
        stale_acks = logs.count("offsets.stale_ack")
        feeder.join(timeout=60)
        got, gone = indexed(), dead()
        hits = es.search(
            index=settings.es_alias, size=10000, version=True, source=False, query={"match_all": {}}
        )["hits"]["hits"]
        # A duplicate: a document written more often than the index agent received it.
        duplicates = sum(1 for h in hits if h["_version"] > deliveries[h["_id"]])
        lost = len(published - got - gone)
    result = {
        "published": len(published),
        "indexed": len(got & published),
        "dead_lettered": len(gone & published),
        "lost": lost,
        "duplicates": duplicates,
        "kills": kills,
        "offset_holes_refetched": holes,
        "stale_acks_not_counted": stale_acks,
        "seconds": round(elapsed, 1),
        "worker_peak_rss_mib": round(max(rss_samples, default=0.0), 1),
        "worker_rss_growth_mib_last_10s": round(steady_end - steady_start, 1),
        "worker_rss_first_mib": round(first_rss or 0.0, 1),
    }
    merge_results({"soak": {**result, "machine": machine()}})
    for key, value in result.items():
        print(f"{key:34} {value}")
    if lost or duplicates:
        raise SystemExit("soak: articles were lost or duplicated")


if __name__ == "__main__":
    main()
