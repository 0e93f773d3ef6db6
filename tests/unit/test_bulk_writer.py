"""The bulk writer's error policy: retry what is transient, give up only on what is final."""

from __future__ import annotations

from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.clients.elastic import BulkWriter, IndexRequest
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


async def test_a_request_refused_as_a_whole_is_split_to_the_document_at_fault() -> None:
    es = FakeBulkElasticsearch()
    docs = [_req(f"d{i}", title="refuse" if i == 5 else "fine") for i in range(1, 15)]
    outcome = await _writer(es).write(docs)
    assert [r.doc_id for r, _ in outcome.rejected] == ["d5"]
    assert "action_request_validation_exception" in outcome.rejected[0][1]
    assert outcome.indexed == 13 and set(es.indexed) == {d.doc_id for d in docs} - {"d5"}
    assert outcome.splits == 4  # 14 -> 7 -> 4 -> 2 -> d5 alone: halving, not one by one
    assert ["d5"] in es.requests


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["fine", "reject", "refuse"]), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=16),
)
async def test_split_rejects_exactly_the_documents_at_fault(kinds: list[str], chunk: int) -> None:
    """Whatever the mix and the chunk size: every good document is indexed, every bad one
    rejected, none both, and no good document is rejected with a bad neighbour."""
    es = FakeBulkElasticsearch()
    writer = BulkWriter(es, "articles", base_delay=0.001, chunk_size=chunk)  # type: ignore[arg-type]
    docs = [_req(f"d{i + 1}", title=kind) for i, kind in enumerate(kinds)]
    outcome = await writer.write(docs)
    bad = {d.doc_id for d in docs if d.document["title"] != "fine"}
    assert {r.doc_id for r, _ in outcome.rejected} == bad
    assert set(es.indexed) == {d.doc_id for d in docs} - bad
    assert outcome.indexed == len(docs) - len(bad)
