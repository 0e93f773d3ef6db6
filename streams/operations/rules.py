"""Rule operations: `wirewatch rules sync` (validate rule files, load them into the rules
index) and `wirewatch rules test` (would this rule fire on this article, decided by
Elasticsearch exactly as the alert stage decides it), and reading alerts off the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from elasticsearch import ApiError, Elasticsearch
from pydantic import ValidationError

from processors.models import EnrichedArticle
from processors.rules import (
    Alert,
    Rule,
    RuleError,
    explain,
    make_alert,
    mapping_fields,
    rule_document,
    to_es_query,
)
from streams.clients.elastic import make_async_client
from streams.clients.indices import template_body
from streams.operations.rule_files import load_rules_dir
from streams.settings import Settings
from streams.stages.matching import ActiveRule, match_rules

log = structlog.get_logger(__name__)


@dataclass
class SyncReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)


def articles_fields(es: Elasticsearch, settings: Settings) -> set[str]:
    """Field paths of the articles index (live mapping; the template if there is no index)."""
    resp = es.options(ignore_status=404).indices.get_mapping(index=settings.es_alias)
    body = dict(resp.body) if hasattr(resp, "body") else dict(resp)
    if body and "error" not in body:
        fields: set[str] = set()
        for spec in body.values():
            fields |= mapping_fields(spec["mappings"])
        return fields
    return mapping_fields(template_body(settings.es_alias)["template"]["mappings"])


def validate_with_elasticsearch(es: Elasticsearch, settings: Settings, rule: Rule) -> str | None:
    """Elasticsearch's own verdict on the rule's query (`_validate/query`); None if valid."""
    resp = es.indices.validate_query(index=settings.es_alias, query=to_es_query(rule), explain=True)
    if resp.get("valid"):
        return None
    problems = [str(e.get("error")) for e in resp.get("explanations", []) if e.get("error")]
    return "; ".join(problems) or str(resp.get("error") or "invalid query")


def sync_rules(es: Elasticsearch, settings: Settings, directory: Path) -> SyncReport:
    """Validate every rule file of `directory` and load the valid ones into the rules index.

    A rule removed from the folder is removed from the index; a rule whose file is now
    invalid keeps its previous version (a typo must not silently switch an alert off).
    """
    report = SyncReport()
    if not directory.is_dir():
        report.errors.append(RuleError(str(directory), "not a folder"))
        return report
    rules, errors = load_rules_dir(directory, articles_fields(es, settings))
    report.errors.extend(errors)
    index = settings.rules_index_name
    existing = {
        h["_id"]: h["_source"].get("digest")
        for h in es.options(ignore_status=404)
        .search(index=index, size=10_000, source_includes=["digest"])
        .get("hits", {})
        .get("hits", [])
    }
    now = datetime.now(UTC)
    operations: list[dict[str, Any]] = []
    for rule in rules:
        source = str(directory / f"{rule.id}.yaml")
        problem = validate_with_elasticsearch(es, settings, rule)
        if problem:
            report.errors.append(RuleError(source, f"Elasticsearch refuses the query: {problem}"))
            continue
        if existing.get(rule.id) == rule.digest():
            report.unchanged.append(rule.id)
            continue
        operations += [
            {"index": {"_index": index, "_id": rule.id}},
            rule_document(rule, source_file=source, synced_at=now),
        ]
        report.loaded.append(rule.id)
    keep = {r.id for r in rules} | {Path(e.source).stem for e in report.errors}
    for rule_id in sorted(set(existing) - keep):
        operations.append({"delete": {"_index": index, "_id": rule_id}})
        report.removed.append(rule_id)
    if operations:
        resp = es.bulk(operations=operations, refresh="wait_for")
        for item in resp["items"]:
            ((op, info),) = item.items()
            if info.get("status", 500) >= 300 and not (op == "delete" and info["status"] == 404):
                raise RuntimeError(f"rules index refused {info.get('_id')}: {info.get('error')}")
    return report


@dataclass(frozen=True)
class RuleTestResult:
    matched: bool
    alert: Alert | None
    """The alert the rule would fire (its explanation), when it matches."""
    query: dict[str, Any]


async def _test_rule(
    settings: Settings, rule: Rule, record: EnrichedArticle, index: str
) -> RuleTestResult:
    es = make_async_client(settings)
    try:
        hits, stats = await match_rules(
            es, index, [ActiveRule.of(rule)], {record.id: record}, candidates=False
        )
    finally:
        await es.close()
    if stats.failed_rules:
        raise RuleError(rule.id, "Elasticsearch refused the rule's query (see the log)")
    if not hits:
        return RuleTestResult(matched=False, alert=None, query=to_es_query(rule))
    hit = hits[0]
    why = explain(rule, record, hit.highlight, hit.matched_queries)
    alert = make_alert(rule, record, why, fired_at=datetime.now(UTC), webhook=True)
    return RuleTestResult(matched=True, alert=alert, query=to_es_query(rule))


def test_rule(
    es: Elasticsearch, settings: Settings, rule: Rule, record: EnrichedArticle
) -> RuleTestResult:
    """Whether `rule` matches `record`, decided by Elasticsearch exactly as the worker does:
    the record is indexed into a scratch index with the articles mapping, the rule runs on it
    through the same `_msearch` request, then the scratch index is deleted."""
    scratch = f"{settings.es_alias}-ruletest-{uuid.uuid4().hex[:8]}"
    template = template_body(settings.es_alias)["template"]
    es.indices.create(index=scratch, settings=template["settings"], mappings=template["mappings"])
    try:
        es.index(index=scratch, id=record.id, document=record.document(), refresh=True)
        return asyncio.run(_test_rule(settings, rule, record, scratch))
    finally:
        with contextlib.suppress(ApiError):
            es.indices.delete(index=scratch)


def iter_alerts(values: Iterable[bytes]) -> Iterable[Alert]:
    """Alerts from raw topic values (values that are not alerts are skipped)."""
    for value in values:
        try:
            yield Alert.model_validate_json(value)
        except ValidationError:
            log.warning("alerts.not_an_alert", size=len(value))
