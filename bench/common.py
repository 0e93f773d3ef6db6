"""What the benchmarks share: sample articles, machine facts, results file, an isolated pipeline."""

from __future__ import annotations

import gzip
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from processors.ingest import article_from_mapping
from processors.models import Article
from streams.clients.elastic import make_client
from streams.clients.indices import ensure_index
from streams.operations.ops import drop_namespace
from streams.settings import Settings, namespace_env, settings_from_env
from streams.topology import ensure_pipeline_topics

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results.json"
DATA = Path(os.environ.get("WIREWATCH_DATA_DIR", REPO.parent / "shared" / "data"))


def load_articles(
    n: int, corpus: str = "reuters21578.jsonl.gz", *, offset: int = 0
) -> list[Article]:
    """`n` real articles from the shared corpora (falls back to the repo's seeds if absent)."""
    path = DATA / corpus
    out: list[Article] = []
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i < offset:
                    continue
                out.append(article_from_mapping(json.loads(line), name=f"{corpus}:{i + 1}"))
                if len(out) >= n:
                    break
    if not out:
        raise SystemExit(f"benchmark data not found at {path}; set WIREWATCH_DATA_DIR")
    return out


def machine() -> dict[str, Any]:
    mem_gib = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def merge_results(update: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Merge keys into bench/results.json (each benchmark owns its keys; `drop` removes
    keys a benchmark no longer writes)."""
    try:
        current = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        current = {}
    for key in drop:
        current.pop(key, None)
    current.update(update)
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return current


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def isolated_pipeline(
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Private topics, group and alias for one benchmark run; removed afterwards."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    overrides = {
        **namespace_env(prefix),
        "WIREWATCH_WORKER_WEB_PORT": str(free_port()),
        **(extra_env or {}),
    }
    settings = settings_from_env(overrides)
    ensure_pipeline_topics(settings)
    es = make_client(settings)
    ensure_index(es, settings)
    try:
        yield settings, {**os.environ, **overrides}
    finally:
        drop_namespace(es, settings, prefix)
        es.close()


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (a worker and its spaCy processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, ()))
    return tree


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used (0.0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class SearchablePoller:
    """When each published article first shows up in searches of the alias: an `ids` search
    every `interval` seconds, never a forced refresh (what a user would see)."""

    def __init__(self, es: Any, alias: str, interval: float) -> None:
        self.es, self.alias, self.interval = es, alias, interval
        self.published: dict[str, float] = {}
        self.searchable: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> SearchablePoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def offer(self, publish: Any, articles: list[Article], rate: float) -> None:
        """Publish the articles one at a time at `rate` per second, noting when."""
        start = time.time()
        for i, art in enumerate(articles):
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            self.published[art.id] = time.time()
            publish([art])

    def latencies(self) -> list[float]:
        """Seconds from publish to searchable of the articles seen so far, sorted."""
        return sorted(
            self.searchable[i] - t for i, t in self.published.items() if i in self.searchable
        )

    def _poll(self) -> None:
        while not self._stop.is_set():
            pending = [i for i in list(self.published) if i not in self.searchable]
            if pending:
                resp = self.es.search(
                    index=self.alias,
                    query={"ids": {"values": pending}},
                    size=len(pending),
                    source=False,
                )
                now = time.time()
                for hit in resp["hits"]["hits"]:
                    self.searchable.setdefault(hit["_id"], now)
            time.sleep(self.interval)


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile of `values` (nearest rank), NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.2) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(interval)
    raise SystemExit(f"benchmark: timed out after {timeout:.0f}s waiting for {what}")
