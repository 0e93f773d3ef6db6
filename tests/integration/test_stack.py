"""The local stack the project starts is the real thing."""

from __future__ import annotations

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from streams.settings import Settings


def test_elasticsearch_is_a_real_8x_node(base_settings: Settings) -> None:
    es = Elasticsearch(base_settings.es_url)
    info = es.info()
    assert info["version"]["number"].startswith("8.")
    assert es.cluster.health()["status"] in {"green", "yellow"}
    tokens = es.indices.analyze(analyzer="english", text="The sanctions were imposed")["tokens"]
    assert [t["token"] for t in tokens] == ["sanction", "were", "impos"]


def test_kafka_broker_answers_metadata(base_settings: Settings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=base_settings.kafka_servers)
    try:
        assert isinstance(admin.list_topics(), list)
        cluster = admin.describe_cluster()
        assert len(cluster["brokers"]) == 1
    finally:
        admin.close()
