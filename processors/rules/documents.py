"""A rule as a document of the rules index, and as the equivalent Kibana rule. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from processors.rules.query import to_es_query
from processors.rules.schema import Rule


def rule_document(rule: Rule, *, source_file: str, synced_at: datetime) -> dict[str, Any]:
    """The rule as stored in the rules index: listable fields, plus the definition and the
    translated query as non-indexed objects."""
    return {
        "id": rule.id,
        "name": rule.name,
        "description": rule.description,
        "severity": rule.severity,
        "channels": rule.channels,
        "enabled": rule.enabled,
        "form": rule.query.form,
        "source_file": source_file,
        "digest": rule.digest(),
        "synced_at": synced_at.isoformat(),
        "definition": rule.model_dump(mode="json"),
        "query": to_es_query(rule),
    }


def rule_from_document(doc: Mapping[str, Any]) -> Rule:
    """Rebuild a rule from its rules-index document (validated again)."""
    return Rule.model_validate(doc["definition"])


def kibana_rule(rule: Rule, *, index: str, time_field: str = "ingested_at") -> dict[str, Any]:
    """A Kibana "Elasticsearch query" rule (`.es-query`) equivalent of `rule`, for the
    Kibana alerting API (`POST kbn:/api/alerting/rule`). It polls every minute over the last
    five minutes and skips hits it reported before; it has no notion of stories."""
    return {
        "name": rule.name,
        "rule_type_id": ".es-query",
        "consumer": "stackAlerts",
        "schedule": {"interval": "1m"},
        "tags": ["wirewatch", f"wirewatch-rule:{rule.id}", rule.severity],
        "params": {
            "searchType": "esQuery",
            "index": [index],
            "timeField": time_field,
            "esQuery": json.dumps({"query": to_es_query(rule)}, indent=2),
            "size": 100,
            "threshold": [0],
            "thresholdComparator": ">",
            "timeWindowSize": 5,
            "timeWindowUnit": "m",
            "excludeHitsFromPreviousRun": True,
            "aggType": "count",
            "groupBy": "all",
        },
        "actions": [],
    }
