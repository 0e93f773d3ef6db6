"""Elasticsearch: client factory, index template and alias set-up, and the bulk writer.

Documents are written through the `articles` alias to a versioned index
(`articles-v<N>`); the index template (`streams/resources/elasticsearch/index-template.json`,
read through `streams.clients.resources`) gives the explicit mapping.
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

from processors.errors import WirewatchError
from streams.clients import resources
from streams.core.faults import TRANSIENT_STATUS
from streams.core.retry import backoff
from streams.settings import Settings

log = structlog.get_logger(__name__)


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"request_timeout": settings.es_request_timeout}
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


def index_name(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def template_body(alias: str) -> dict[str, Any]:
    """The index template, with its pattern bound to this alias' versioned indices."""
    body = resources.index_template()
    body["index_patterns"] = [f"{alias}-v*"]
    return body


def ensure_index(es: Elasticsearch, settings: Settings) -> str:
    """Install the template and make sure the alias points at a versioned index.

    Idempotent. When the alias exists (perhaps switched to a newer index by `reindex`), its
    write index is kept and gains any fields the template added; otherwise the index of
    `es_index_version` is created and the alias pointed at it. Returns the write index.
    """
    alias = settings.es_alias
    body = template_body(alias)
    es.indices.put_index_template(name=f"{alias}-template", **body)
    current = write_index(es, alias)
    if current is not None:
        _update_mapping(es, current, body["template"]["mappings"])
        name = current
    else:
        name = index_name(alias, settings.es_index_version)
        create_index(es, name)
        es.indices.update_aliases(
            actions=[{"add": {"index": name, "alias": alias, "is_write_index": True}}]
        )
    wait_for_index(es, name)
    return name


class IndexNotReady(WirewatchError):
    """An index did not reach yellow health (its primary shards allocated) in time."""


def wait_for_index(es: Elasticsearch, index: str, timeout: float = 30.0) -> None:
    """Block until the index's primary shards are allocated (health yellow or green); a
    timeout names the index and the status it had instead of letting later writes fail."""
    try:
        health = es.options(ignore_status=408).cluster.health(
            index=index, wait_for_status="yellow", timeout=f"{timeout:.0f}s"
        )
    except ApiError as exc:
        raise IndexNotReady(f"index {index!r} is not ready: {exc.message}") from exc
    if health.get("timed_out"):
        raise IndexNotReady(
            f"index {index!r} did not reach yellow health within {timeout:.0f}s (status "
            f"{health.get('status')!r}, unassigned shards {health.get('unassigned_shards')}); "
            "is the disk nearly full? see the Elasticsearch log (wirewatch stack status)"
        )


def create_index(es: Elasticsearch, name: str) -> None:
    """Create a versioned index (its settings and mapping come from the template)."""
    if es.indices.exists(index=name):
        return
    try:
        es.indices.create(index=name)
    except ApiError as exc:
        if exc.status_code != 400 or "resource_already_exists" not in str(exc):
            raise


def write_index(es: Elasticsearch, alias: str) -> str | None:
    """The concrete index the alias writes to, or None when the alias does not exist."""
    if not es.indices.exists_alias(name=alias):
        return None
    aliases = es.indices.get_alias(name=alias)
    names = list(aliases)
    for name, info in aliases.items():
        if info.get("aliases", {}).get(alias, {}).get("is_write_index"):
            return str(name)
    return str(names[0]) if len(names) == 1 else None


def switch_alias(es: Elasticsearch, alias: str, new_index: str) -> list[str]:
    """Point the alias at `new_index` only, atomically. Returns the indices it left."""
    old = list(es.indices.get_alias(name=alias)) if es.indices.exists_alias(name=alias) else []
    actions: list[dict[str, Any]] = [
        {"remove": {"index": name, "alias": alias}} for name in old if name != new_index
    ]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    es.indices.update_aliases(actions=actions)
    return [n for n in old if n != new_index]


class MappingConflict(WirewatchError):
    """The template's mapping cannot be applied to the existing index."""


def _update_mapping(es: Elasticsearch, index: str, mappings: dict[str, Any]) -> None:
    """Add fields the template gained since the index was made (additive changes only).

    A change Elasticsearch cannot apply in place (a field's type) needs a new index version
    and a reindex; the error says so instead of letting every document fail later.
    """
    try:
        es.indices.put_mapping(
            index=index, properties=mappings["properties"], dynamic=mappings.get("dynamic")
        )
    except ApiError as exc:
        if exc.status_code != 400:
            raise
        raise MappingConflict(
            f"index {index} cannot take the current mapping ({exc.message}: "
            f"{str(exc.info)[:300]}); raise WIREWATCH_ES_INDEX_VERSION and run "
            "`wirewatch reindex` to build a new index with it"
        ) from exc


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
        self.base_delay = base_delay
        self.max_delay = max_delay
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
        attempt = 0
        loop = asyncio.get_running_loop()
        failing_since: float | None = None
        while pending:
            retry: list[IndexRequest] = []
            try:
                for refused, reason in await self._send(pending, outcome, retry):
                    await self._split(refused, reason, outcome, retry)
            except (ConnectionError, ConnectionTimeout, TransportError) as exc:
                retry = pending
                self.last_error = f"{type(exc).__name__}: {exc}"
            except ApiError as exc:
                if exc.status_code in TRANSIENT_STATUS:
                    retry = pending
                    self.last_error = f"HTTP {exc.status_code}"
                else:
                    raise
            if not retry:
                break
            attempt += 1
            outcome.retries += len(retry)
            now = loop.time()
            failing_since = failing_since if failing_since is not None else now
            if now - failing_since > self.unhealthy_after and self.healthy:
                self.healthy = False
                log.error(
                    "index.unhealthy", seconds=round(now - failing_since), error=self.last_error
                )
            delay = backoff(attempt, base=self.base_delay, cap=self.max_delay)
            log.warning(
                "index.retry",
                documents=len(retry),
                attempt=attempt,
                delay=round(delay, 2),
                error=self.last_error,
            )
            await asyncio.sleep(delay)
            pending = retry
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
