"""The bulk writer's error policy: retry what is transient, give up only on what is final."""

from __future__ import annotations

from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from streams.elastic import BulkWriter, IndexRequest
from tests.doubles import FakeBulkElasticsearch


def _req(doc_id: str, title: str = "t", version: int | None = None) -> IndexRequest:
    return IndexRequest(
        doc_id=doc_id,
        document={"id": doc_id, "title": title},
        version=version,
        raw=b"{}",
        topic="articles.enriched",
        partition=0,
        offset=int(doc_id[1:]),
    )


def _writer(es: FakeBulkElasticsearch) -> BulkWriter:
    return BulkWriter(es, "articles", base_delay=0.001, max_delay=0.01)  # type: ignore[arg-type]


async def test_items_refused_with_429_or_503_are_retried_until_indexed() -> None:
    es = FakeBulkElasticsearch(script=[429, 503])
    outcome = await _writer(es).write([_req("d1"), _req("d2")])
    assert outcome.indexed == 2 and outcome.rejected == []
    assert outcome.retries == 4 and es.calls == 3
    assert set(es.indexed) == {"d1", "d2"}


async def test_unreachable_node_is_retried_and_the_writer_recovers() -> None:
    meta = ApiResponseMeta(
        status=502,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "localhost", 9200),
    )
    es = FakeBulkElasticsearch(
        script=[ConnectionError("refused"), ApiError("bad gateway", meta, {}), ConnectionError("x")]
    )
    writer = _writer(es)
    writer.unhealthy_after = 0.0  # report unhealthy at once, then healthy again
    outcome = await writer.write([_req("d1")])
    assert outcome.indexed == 1 and es.calls == 4
    assert writer.healthy and writer.last_error is not None


async def test_mapping_errors_are_final_and_reported_for_the_dead_letter_topic() -> None:
    es = FakeBulkElasticsearch()
    outcome = await _writer(es).write([_req("d1"), _req("d2", title="reject me")])
    assert outcome.indexed == 1
    assert [(r.doc_id, "mapper_parsing_exception" in err) for r, err in outcome.rejected] == [
        ("d2", True)
    ]
    assert es.calls == 1  # a 400 is not retried


async def test_versioned_documents_use_external_versions() -> None:
    writer = _writer(FakeBulkElasticsearch())
    action = writer._action(_req("d1", version=7))
    assert (action["version"], action["version_type"]) == (7, "external_gte")
    assert "version" not in writer._action(_req("d2"))
