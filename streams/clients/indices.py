"""Elasticsearch indices: templates (explicit mappings), the versioned articles index behind
its alias, the rules and alerts indices.

Documents are written through the `articles` alias to a versioned index (`articles-v<N>`);
the index template gives the explicit mapping. A reindex builds `articles-v<N+1>` and
switches the alias atomically (`streams.operations.reindex`).
"""

from __future__ import annotations

from typing import Any

import structlog
from elasticsearch import ApiError, Elasticsearch

from processors.errors import WirewatchError
from streams.clients import resources
from streams.settings import Settings

log = structlog.get_logger(__name__)


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


def pause_refresh(es: Elasticsearch, index: str) -> None:
    """No scheduled refreshes on an index nobody searches yet (a reindex's new index while
    it is filled): fewer, larger segments, less CPU per document."""
    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})


def resume_refresh(es: Elasticsearch, index: str) -> None:
    """Back to the template's refresh interval, and everything written so far searchable:
    called before the index goes behind the alias."""
    interval = resources.index_template()["template"]["settings"].get("refresh_interval", "1s")
    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": interval}})
    es.indices.refresh(index=index)


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


def _template(body: dict[str, Any], index: str) -> dict[str, Any]:
    body["index_patterns"] = [index]
    return body


def ensure_alert_indices(es: Elasticsearch, settings: Settings) -> None:
    """Install the rules and alerts templates and create both indices (idempotent)."""
    for template, index in (
        (resources.rules_template(), settings.rules_index_name),
        (resources.alerts_template(), settings.alerts_index_name),
    ):
        body = _template(template, index)
        es.indices.put_index_template(name=f"{index}-template", **body)
        if not es.indices.exists(index=index):
            try:
                es.indices.create(index=index)
            except ApiError as exc:
                if exc.status_code != 400 or "resource_already_exists" not in str(exc):
                    raise
        else:
            mappings = body["template"]["mappings"]
            es.indices.put_mapping(index=index, properties=mappings["properties"])
        wait_for_index(es, index)
