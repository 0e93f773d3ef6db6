"""Test doubles for the unit and agent tiers (never used by integration tests)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import BadRequestError
from elasticsearch.serializer import JsonSerializer

from streams.app import Worker, build_app
from streams.settings import Settings


class FakeBulkElasticsearch:
    """Answers `_bulk` like Elasticsearch: documents with `reject` in the title get a 400;
    a request holding a document with `refuse` in the title is refused as a whole with a 400,
    as Elasticsearch refuses a request with one illegal version in it."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.indexed: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.requests: list[list[str]] = []
        """The document ids of every `_bulk` request, in order."""
        self.script = list(script or [])
        """Per call, what to do first: an exception to raise, or an HTTP status for every item."""
        # The bulk helper serialises actions with the client's own JSON serializer.
        self.transport = SimpleNamespace(
            serializers=SimpleNamespace(get_serializer=lambda mimetype: JsonSerializer())
        )

    def options(self, **kwargs: Any) -> FakeBulkElasticsearch:
        return self

    async def bulk(self, *, operations: Any, **kwargs: Any) -> SimpleNamespace:
        self.calls += 1
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        items = []
        lines = [json.loads(line) for line in operations]
        self.requests.append([m["index"]["_id"] for m in lines[::2]])
        if any("refuse" in doc.get("title", "") for doc in lines[1::2]):
            raise BadRequestError(
                "action_request_validation_exception",
                ApiResponseMeta(
                    status=400,
                    http_version="1.1",
                    headers=HttpHeaders(),
                    duration=0.0,
                    node=NodeConfig("http", "localhost", 9200),
                ),
                {"error": {"type": "action_request_validation_exception"}},
            )
        for i in range(0, len(lines), 2):
            meta, doc = lines[i]["index"], lines[i + 1]
            if isinstance(step, int):
                items.append(
                    {
                        "index": {
                            "_id": meta["_id"],
                            "status": step,
                            "error": {"type": "es_rejected_execution_exception"},
                        }
                    }
                )
            elif "reject" in doc["title"]:
                items.append(
                    {
                        "index": {
                            "_id": meta["_id"],
                            "status": 400,
                            "error": {"type": "mapper_parsing_exception"},
                        }
                    }
                )
            else:
                self.indexed[meta["_id"]] = doc
                items.append({"index": {"_id": meta["_id"], "status": 201, "result": "created"}})
        errors = any(it["index"]["status"] >= 300 for it in items)
        return SimpleNamespace(body={"errors": errors, "items": items})

    async def close(self) -> None:
        return None


class RecordingSender:
    """Stands in for the worker's producer (`streams.core.send.Sender`): keeps what was sent
    per topic; delivery is immediate unless `fail(topic, key, value)` returns an error for
    the broker to answer with (a send that fails transiently or for good)."""

    def __init__(self, fail: Any = None) -> None:
        self.sent: dict[str, list[tuple[bytes | None, bytes]]] = {}
        self.attempts = 0
        self.fail = fail

    async def enqueue(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        self.attempts += 1
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        error = self.fail(topic, key, value) if self.fail is not None else None
        if error is not None:
            fut.set_exception(error)
            return fut
        self.sent.setdefault(topic, []).append((key, value))
        fut.set_result(None)
        return fut

    def to(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        """What reached `topic`."""
        return self.sent.get(topic, [])


def app_for_agent_tests(settings: Settings, sender: RecordingSender | None = None) -> Worker:
    """The product's worker, finalized and flowing, for `agent.test_context()` tests; its
    producer is a `RecordingSender`."""
    worker = build_app(settings, sender=sender or RecordingSender())
    worker.app.finalize()
    worker.app.flow_control.resume()
    return worker
