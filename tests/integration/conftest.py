"""Integration tier: the real Kafka broker and Elasticsearch node, started by the project.

Each test gets its own topics, consumer group and index alias (a unique prefix), and cleans
them up, so tests never see each other's data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from streams.clients.elastic import make_client
from streams.clients.indices import ensure_index
from streams.operations.ops import drop_namespace
from streams.settings import Settings, namespace_env, settings_from_env
from streams.stack import local as stack
from streams.topology import ensure_pipeline_topics

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    settings = Settings()
    stack.up(settings)  # no-op when `make test` already started it
    return settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Isolated:
    """Settings and environment of one test's private pipeline."""

    settings: Settings
    env: dict[str, str]
    es: Elasticsearch
    logs: Path

    def start_worker(
        self, name: str = "worker", env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )

    def worker_log(self, name: str = "worker") -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tails(self, chars: int = 4000) -> str:
        """Every worker's warnings and offset events, then the end of its log (a restarted
        worker writes its own)."""
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace")
            notable = [
                line[:400]
                for line in text.splitlines()
                if '"offsets.' in line or "WARN" in line or "ERROR" in line or "CRIT" in line
            ]
            out.append(f"--- {path.name}: warnings and offset events ---\n")
            out.append("\n".join(notable[-30:]) + "\n")
            out.append(f"--- {path.name} tail ---\n{text[-chars:]}\n")
        return "".join(out)

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what}\n" + self.log_tails()
        )

    def indexed_ids(self) -> set[str]:
        self.es.indices.refresh(index=self.settings.es_alias)
        resp = self.es.search(
            index=self.settings.es_alias, size=10000, source=False, query={"match_all": {}}
        )
        return {h["_id"] for h in resp["hits"]["hits"]}


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def isolated(base_settings: Settings, tmp_path: Path) -> Iterator[Isolated]:
    with isolation({}, tmp_path) as iso:
        yield iso


@contextmanager
def isolation(extra: dict[str, str], tmp_path: Path) -> Iterator[Isolated]:
    """A private namespace (topics, group, alias) on the stack `extra` points at (default: the
    shared one), removed afterwards."""
    prefix = f"it{uuid.uuid4().hex[:10]}"
    overrides = {
        **extra,
        **namespace_env(prefix),
        "WIREWATCH_WORKER_WEB_PORT": str(_free_port()),
        "WIREWATCH_BATCH_SECONDS": "0.3",
        "WIREWATCH_INDEX_BATCH_SECONDS": "0.3",
    }
    env = {**os.environ, **overrides}
    settings = settings_from_env(overrides)
    ensure_pipeline_topics(settings)
    es = make_client(settings)
    ensure_index(es, settings)
    yield Isolated(settings=settings, env=env, es=es, logs=tmp_path)
    drop_namespace(es, settings, prefix)
    es.close()
