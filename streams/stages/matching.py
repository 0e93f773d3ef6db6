"""How the alert stage matches: the active rules, one `_msearch` per batch, waiting until
documents are searchable, and storing alerts once per (rule, story).

Matching. Elasticsearch's percolator is not used: the local node (Elasticsearch 8.19 from
Maven Central) has no percolator module, and a production-only code path would never be
tested. Instead the synced rules live as documents in the rules index (`<alias>-rules`),
and the alert stage runs them against the batch just indexed: one `_msearch` per batch, one
search per rule = the rule's query AND an `ids` filter on the batch, with highlights. So
Elasticsearch's own query semantics (analysis, nested, ranges) decide every match. Rules
that cannot match an article (their required canonical terms are absent, see
`processors.rules.required_terms`) are skipped before the request, as the percolator skips
queries by their extracted terms.

Every call to Elasticsearch goes through the one retry loop (`streams.core.retry`); the
searches or alerts of a request that got a transient status are retried on their own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch
from pydantic import ValidationError

from processors.models import EnrichedArticle
from processors.rules import (
    Alert,
    Requirement,
    Rule,
    is_candidate,
    match_request,
    record_terms,
    required_terms,
    rule_from_document,
    to_es_query,
)
from streams import metrics
from streams.core.faults import TRANSIENT_STATUS
from streams.core.retry import RetryLater, retry

log = structlog.get_logger(__name__)

MSEARCH_CHUNK = 500
"""Searches per `_msearch` request (1,000 rules make at most two requests per batch)."""
STAGE = "alert"


@dataclass(frozen=True)
class ActiveRule:
    """A synced rule, ready to run: its query and its candidate requirements."""

    rule: Rule
    query: dict[str, Any]
    required: list[Requirement]

    @classmethod
    def of(cls, rule: Rule) -> ActiveRule:
        query = to_es_query(rule)
        return cls(rule=rule, query=query, required=required_terms(query))


async def load_active_rules(es: AsyncElasticsearch, index: str) -> list[ActiveRule]:
    """The enabled rules of the rules index (none if it does not exist yet)."""
    resp = await es.options(ignore_status=404).search(
        index=index, size=10_000, query={"term": {"enabled": True}}, sort=["id"]
    )
    rules = []
    for hit in resp.get("hits", {}).get("hits", []):
        try:
            rules.append(ActiveRule.of(rule_from_document(hit["_source"])))
        except (ValidationError, KeyError) as exc:
            log.error("alerts.bad_rule_document", rule=hit.get("_id"), error=str(exc)[:300])
    return rules


class RuleCache:
    """The active rules, re-read from the rules index every `ttl` seconds."""

    def __init__(self, es: AsyncElasticsearch, index: str, ttl: float) -> None:
        self.es = es
        self.index = index
        self.ttl = ttl
        self._rules: list[ActiveRule] | None = None
        self._at = 0.0

    async def get(self) -> list[ActiveRule]:
        if self._rules is None or time.monotonic() - self._at >= self.ttl:
            rules = await retry(
                "load_rules", lambda: load_active_rules(self.es, self.index), stage=STAGE
            )
            if self._rules is None or [r.rule for r in rules] != [r.rule for r in self._rules]:
                log.info("alerts.rules_loaded", rules=[r.rule.id for r in rules][:50])
            self._rules = rules
            self._at = time.monotonic()
        return self._rules


# ---------------------------------------------------------------------- matching


@dataclass(frozen=True)
class RuleHit:
    """One article matched by one rule, with what Elasticsearch said about the match."""

    rule: ActiveRule
    article_id: str
    highlight: dict[str, list[str]]
    matched_queries: list[str]


@dataclass
class MatchStats:
    searches: int = 0
    requests: int = 0
    skipped: int = 0
    """(rule, article) pairs not searched because the article lacks a required term."""
    failed_rules: list[str] = field(default_factory=list)


def candidate_ids(rules: Sequence[ActiveRule], records: Mapping[str, EnrichedArticle]) -> set[str]:
    """The ids of the records some rule could match (its required terms are all there):
    the others need no search at all, nor a wait until they are searchable."""
    out: set[str] = set()
    for art_id, rec in records.items():
        terms = record_terms(rec)
        if any(is_candidate(active.required, terms) for active in rules):
            out.add(art_id)
    return out


async def match_rules(
    es: AsyncElasticsearch,
    index: str,
    rules: Sequence[ActiveRule],
    records: Mapping[str, EnrichedArticle],
    *,
    candidates: bool = True,
    chunk: int = MSEARCH_CHUNK,
) -> tuple[list[RuleHit], MatchStats]:
    """Run every rule on these (searchable) documents: one search per rule that could match
    one of them, in `_msearch` requests of `chunk` searches."""
    stats = MatchStats()
    terms = {art_id: record_terms(rec) for art_id, rec in records.items()}
    pending: list[tuple[ActiveRule, list[str]]] = []
    for active in rules:
        ids = [
            art_id
            for art_id in records
            if not candidates or is_candidate(active.required, terms[art_id])
        ]
        stats.skipped += len(records) - len(ids)
        if ids:
            pending.append((active, ids))
    hits: list[RuleHit] = []

    async def attempt() -> None:
        nonlocal pending
        again: list[tuple[ActiveRule, list[str]]] = []
        for start in range(0, len(pending), chunk):
            part = pending[start : start + chunk]
            body: list[dict[str, Any]] = []
            for active, ids in part:
                body += [{"index": index}, match_request(active.query, ids)]
            resp = await retry("msearch", partial(es.msearch, searches=body), stage=STAGE)
            stats.requests += 1
            stats.searches += len(part)
            for (active, ids), answer in zip(part, resp["responses"], strict=True):
                if "error" in answer:
                    status = answer.get("status")
                    if isinstance(status, int) and status in TRANSIENT_STATUS:
                        again.append((active, ids))
                        continue
                    metrics.RULE_ERRORS.labels(rule=active.rule.id).inc()
                    stats.failed_rules.append(active.rule.id)
                    log.error(
                        "alerts.rule_failed",
                        rule=active.rule.id,
                        status=status,
                        error=json.dumps(answer["error"])[:500],
                    )
                    continue
                for hit in answer["hits"]["hits"]:
                    named = hit.get("matched_queries") or []
                    hits.append(
                        RuleHit(
                            rule=active,
                            article_id=str(hit["_id"]),
                            highlight=dict(hit.get("highlight") or {}),
                            matched_queries=list(named),
                        )
                    )
        pending = again
        if again:
            raise RetryLater(f"{len(again)} rule search(es) got a transient status")

    if pending:
        await retry("match_rules", attempt, stage=STAGE)
    return hits, stats


async def wait_searchable(
    es: AsyncElasticsearch, index: str, ids: Sequence[str], timeout: float, *, first: bool = False
) -> set[str]:
    """Wait until these documents are searchable (the next scheduled refresh); after
    `timeout` force a refresh once. Returns the ids that are searchable; with `first`, as
    soon as any of them is."""
    wanted = set(ids)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.02
    forced = False
    while True:  # a poll for visibility, not a retry: each search has its own retries
        resp = await retry(
            "wait_searchable",
            lambda: es.search(
                index=index,
                query={"ids": {"values": list(wanted)}},
                size=len(wanted),
                source=False,
                track_total_hits=False,
            ),
            stage=STAGE,
        )
        seen = {str(h["_id"]) for h in resp["hits"]["hits"]}
        if seen >= wanted or (first and seen):
            return seen
        if loop.time() >= deadline:
            if forced:
                return seen
            log.warning("alerts.forcing_refresh", missing=len(wanted - seen), index=index)
            await retry("refresh", lambda: es.indices.refresh(index=index), stage=STAGE)
            forced = True
            continue
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.2)


# ---------------------------------------------------------------------- storing alerts


@dataclass
class StoreOutcome:
    created: list[Alert] = field(default_factory=list)
    resend: list[Alert] = field(default_factory=list)
    """Alerts stored by an earlier, interrupted attempt on this same record (same origin):
    send them again (the topic may then hold one twice, under one key and id)."""
    duplicates: list[Alert] = field(default_factory=list)
    """The rule already fired for the story (another article): not fired again."""
    rejected: list[tuple[Alert, str]] = field(default_factory=list)


async def store_alerts(es: AsyncElasticsearch, index: str, alerts: Sequence[Alert]) -> StoreOutcome:
    """Create the alerts in the alerts index; a second alert for a (rule, story) is refused."""
    out = StoreOutcome()
    pending = list(alerts)
    conflicts: list[Alert] = []

    async def attempt() -> None:
        nonlocal pending
        operations: list[dict[str, Any]] = []
        for alert in pending:
            operations += [
                {"create": {"_index": index, "_id": alert.id}},
                alert.model_dump(mode="json", exclude={"id"}) | {"id": alert.id},
            ]
        resp = await es.bulk(operations=operations)
        again = []
        for alert, item in zip(pending, resp["items"], strict=True):
            info = item.get("create", {})
            status = info.get("status")
            if status in (200, 201):
                out.created.append(alert)
            elif status == 409:
                conflicts.append(alert)
            elif isinstance(status, int) and status in TRANSIENT_STATUS:
                again.append(alert)
            else:
                out.rejected.append((alert, json.dumps(info.get("error"))[:2000]))
        pending = again
        if again:
            raise RetryLater(f"{len(again)} alert(s) got a transient status")

    if pending:
        await retry("store_alerts", attempt, stage=STAGE)
    if conflicts:
        resp = await retry(
            "get_alerts", lambda: es.mget(index=index, ids=[a.id for a in conflicts]), stage=STAGE
        )
        for alert, doc in zip(conflicts, resp["docs"], strict=True):
            stored = doc.get("_source") if doc.get("found") else None
            if stored and alert.origin is not None and stored.get("origin") == alert.origin:
                out.resend.append(Alert.model_validate(stored))
            else:
                out.duplicates.append(alert)
    return out
