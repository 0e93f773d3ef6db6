"""Elasticsearch clients: the one client factory and the bulk writer of the index stage.

Index templates, aliases and index set-up are in `streams.clients.indices`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
    TransportError,
)
from elasticsearch.helpers import async_streaming_bulk
from elasticsearch.serializer import OrjsonSerializer

from streams.core.faults import TRANSIENT_STATUS
from streams.core.retry import RetryLater, RetryPolicy, retry
from streams.settings import Settings

log = structlog.get_logger(__name__)


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "request_timeout": settings.es_request_timeout,
        "serializer": OrjsonSerializer(),
    }
    if settings.es_ca_certs is not None:
        kwargs["ca_certs"] = str(settings.es_ca_certs)
    if settings.es_api_key is not None:
        kwargs["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username and settings.es_password is not None:
        kwargs["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    return kwargs


def make_client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(settings.es_url, **_client_kwargs(settings))


def make_async_client(settings: Settings) -> AsyncElasticsearch:
    return AsyncElasticsearch(settings.es_url, **_client_kwargs(settings))


@dataclass(frozen=True)
class IndexRequest:
    """One document to index, with where it came from (for dead letters)."""

    doc_id: str
    document: dict[str, Any]
    version: int | None
    raw: bytes
    topic: str
    partition: int
    offset: int


@dataclass
class BulkOutcome:
    indexed: int = 0
    stale: int = 0
    """Older versions refused because a newer one is already indexed (not an error)."""
    rejected: list[tuple[IndexRequest, str]] = field(default_factory=list)
    """Documents Elasticsearch refused for good (mapping errors, or the documents that made
    it refuse a whole request): dead-letter them."""
    retries: int = 0
    splits: int = 0
    """Times a request refused as a whole was halved to find the documents at fault."""

    def add(self, other: BulkOutcome) -> None:
        self.indexed += other.indexed
        self.stale += other.stale
        self.rejected.extend(other.rejected)
        self.retries += other.retries
        self.splits += other.splits


class BulkWriter:
    """Writes batches durably: returns only when every document is indexed or rejected for good.

    A request Elasticsearch refuses as a whole with a 4xx (one document with an illegal
    version makes `_bulk` answer `action_request_validation_exception` for all of them) is
    split in halves, down to single documents, so only the documents at fault are rejected.
    Transient failures (node unreachable, timeouts, 429, 5xx, per item or for the whole
    request) are retried with exponential backoff and jitter, for as long as it takes; the
    caller does not consume meanwhile, which is the backpressure. After `unhealthy_after`
    seconds of failure the writer marks itself unhealthy (the health endpoint reports it).
    """

    def __init__(
        self,
        es: AsyncElasticsearch,
        alias: str,
        *,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        unhealthy_after: float = 120.0,
        chunk_size: int = 500,
    ) -> None:
        self.es = es
        self.chunk_size = chunk_size
        self.alias = alias
        self.policy = RetryPolicy(base=base_delay, cap=max_delay)
        self.unhealthy_after = unhealthy_after
        self.healthy = True
        self.last_error: str | None = None

    def _action(self, req: IndexRequest) -> dict[str, Any]:
        action: dict[str, Any] = {
            "_op_type": "index",
            "_index": self.alias,
            "_id": req.doc_id,
            "_source": req.document,
        }
        if req.version is not None:
            # The newest version wins: an older re-send gets a 409 and is dropped as stale.
            action["version"] = req.version
            action["version_type"] = "external_gte"
        return action

    async def write(self, requests: Sequence[IndexRequest]) -> BulkOutcome:
        outcome = BulkOutcome()
        pending = list(requests)
        loop = asyncio.get_running_loop()
        failing_since: float | None = None

        async def attempt() -> None:
            nonlocal pending
            again: list[IndexRequest] = []
            trial = BulkOutcome()
            """What this attempt did; kept only if it ran to the end, because a request
            that fails half-way is sent again whole (its rejections would count twice)."""
            try:
                for refused, reason in await self._send(pending, trial, again):
                    await self._split(refused, reason, trial, again)
            except (ConnectionError, ConnectionTimeout, TransportError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            except ApiError as exc:
                self.last_error = f"HTTP {exc.status_code}"
                raise  # the classifier decides: 429/5xx are retried, others propagate
            outcome.add(trial)
            if again:
                pending = again
                raise RetryLater(f"{len(again)} document(s) to write again: {self.last_error}")

        def on_retry(attempt_no: int, exc: BaseException) -> None:
            nonlocal failing_since
            outcome.retries += len(pending)
            now = loop.time()
            failing_since = failing_since if failing_since is not None else now
            if now - failing_since > self.unhealthy_after and self.healthy:
                self.healthy = False
                log.error(
                    "index.unhealthy", seconds=round(now - failing_since), error=self.last_error
                )

        await retry("bulk", attempt, stage="index", policy=self.policy, on_retry=on_retry)
        if not self.healthy:
            log.info("index.healthy_again")
        self.healthy = True
        return outcome

    async def _send(
        self, requests: Sequence[IndexRequest], outcome: BulkOutcome, retry: list[IndexRequest]
    ) -> list[tuple[list[IndexRequest], str]]:
        """One pass of `_bulk` requests over `requests`. Item results go into `outcome` and
        `retry`; returns the groups of documents whose whole request Elasticsearch refused
        (a 4xx for the request, not per item), with the server's reason."""
        by_id = {r.doc_id: r for r in requests}
        refused: dict[str, list[IndexRequest]] = {}
        async for ok, item in async_streaming_bulk(
            self.es,
            (self._action(r) for r in requests),
            chunk_size=self.chunk_size,
            max_retries=0,
            raise_on_error=False,
            raise_on_exception=False,
            refresh=False,
        ):
            info = item.get("index", {})
            req = by_id[str(info.get("_id"))]
            raw_status = info.get("status")
            # A request-level failure reports the request's status (or none) on every item,
            # with the exception itself under "exception".
            status = raw_status if isinstance(raw_status, int) else 0
            whole_request = "exception" in info
            if ok:
                outcome.indexed += 1
            elif status == 409:
                outcome.stale += 1
            elif status in TRANSIENT_STATUS or status == 0:
                self.last_error = str(info.get("error"))[:300]
                retry.append(req)
            elif whole_request:
                refused.setdefault(str(info.get("error"))[:2000], []).append(req)
            else:
                outcome.rejected.append((req, json.dumps(info.get("error"))[:2000]))
        return [(group, reason) for reason, group in refused.items()]

    async def _split(
        self,
        group: list[IndexRequest],
        reason: str,
        outcome: BulkOutcome,
        retry: list[IndexRequest],
    ) -> None:
        """Find the documents at fault in a request Elasticsearch refused as a whole: send
        each half on its own, down to single documents, which are rejected with the reason.
        The rest of the group is indexed (or retried, or stale) as usual."""
        if len(group) == 1:
            log.warning("index.request_refused", article_id=group[0].doc_id, error=reason[:300])
            outcome.rejected.append((group[0], reason))
            return
        outcome.splits += 1
        middle = len(group) // 2
        for half in (group[:middle], group[middle:]):
            for refused, why in await self._send(half, outcome, retry):
                await self._split(refused, why, outcome, retry)
