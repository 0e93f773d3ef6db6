"""The local stack the project starts is the real thing."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from streams.settings import Settings
from streams.stack import local as stack


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


def test_kafka_storage_format_accepts_a_cluster_id_that_starts_with_a_dash(
    base_settings: Settings, tmp_path: Path
) -> None:
    """Kafka's own StorageTool, run as the stack runs it, on an id that once broke it."""
    settings = base_settings.model_copy(update={"stack_dir": tmp_path})
    svc = stack.kafka_service(settings)
    (svc.home / "logs").mkdir(parents=True)
    conf = stack._kafka_config(settings, svc)
    lib = stack.kafka_libs(settings)
    dash_id = base64.urlsafe_b64encode(b"\xf8" + bytes(15)).decode().rstrip("=")
    assert dash_id.startswith("-")
    java = shutil.which("java")
    assert java is not None
    cmd = stack.kafka_format_command(java, lib, svc.home / "log4j2.properties", conf, dash_id)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta = (svc.home / "data" / "meta.properties").read_text()
    assert f"cluster.id={dash_id}" in meta
