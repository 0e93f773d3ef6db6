"""The local development stack: a real Kafka broker (KRaft) and a real Elasticsearch 8 node.

Jars come from Maven Central through `deploy/local/pom.xml` (Kafka) and
`deploy/local/elasticsearch-node/pom.xml` (Elasticsearch); they are cached under
`settings.cache_dir` and run on the machine's Java. Data, logs and PID files live in
`settings.stack_dir` (`.stack/`, ignored by git). Everything binds to 127.0.0.1. What the
servers share (tools, jar resolution, start-up diagnosis) is in `streams.stack.base`.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import structlog

from streams.settings import Settings
from streams.stack.base import (
    ES_VERSION,
    KAFKA_VERSION,
    LOCAL_DIR,
    Service,
    StackError,
    _alive,
    _fingerprint,
    _likely_fix,
    _log_tail,
    _port_of,
    _port_taken,
    _require_disk,
    _require_tools,
    _resolved,
    _run_maven,
    port_open,
)

log = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- Kafka


def kafka_service(settings: Settings) -> Service:
    port = _port_of(settings.kafka_servers[0], 9092)
    return Service("kafka", port, (settings.stack_dir / "kafka").resolve(), (port + 1,))


def kafka_libs(settings: Settings) -> Path:
    """The folder of Kafka's jars, resolved once into the cache."""
    lib = settings.cache_dir / f"kafka-{KAFKA_VERSION}" / "lib"
    marker = lib / ".complete"
    fingerprint = _fingerprint(LOCAL_DIR / "pom.xml")
    if not _resolved(marker, fingerprint):
        lib.mkdir(parents=True, exist_ok=True)
        _run_maven(
            [
                "-f",
                str(LOCAL_DIR / "pom.xml"),
                "-P",
                "kafka",
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={lib}",
            ],
            f"Apache Kafka {KAFKA_VERSION}",
        )
        marker.write_text(fingerprint)
    return lib


def _kafka_config(settings: Settings, svc: Service) -> Path:
    data = (svc.home / "data").resolve()
    (controller_port,) = svc.other_ports
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{svc.port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{svc.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": str(settings.topic_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Faust creates its changelog and repartition topics itself; our topics are made
        # explicitly with `ensure_topics`, so auto-creation only serves Faust.
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
        "message.max.bytes": str(2 * settings.kafka_max_message_bytes),
        "replica.fetch.max.bytes": str(2 * settings.kafka_max_message_bytes),
        "log.segment.bytes": str(64 * 1024 * 1024),
    }
    conf = svc.home / "server.properties"
    conf.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    log4j = svc.home / "log4j2.properties"
    log4j.write_text(
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = FILE\n"
        f"appender.file.fileName = {(svc.home / 'logs' / 'server.log').resolve()}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = FILE\n"
        "logger.kafka.name = kafka\n"
        "logger.kafka.level = WARN\n"
        "logger.apache.name = org.apache.kafka\n"
        "logger.apache.level = WARN\n"
    )
    return conf


def _kafka_format(settings: Settings, svc: Service, lib: Path, conf: Path) -> None:
    """Format KRaft storage once (a `meta.properties` marks a formatted log dir)."""
    if (svc.home / "data" / "meta.properties").exists():
        return
    java, _ = _require_tools()
    proc = subprocess.run(
        kafka_format_command(java, lib, svc.home / "log4j2.properties", conf, new_cluster_id()),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise StackError(
            f"formatting Kafka storage in {svc.home / 'data'} failed:\n{proc.stdout}{proc.stderr}"
            + _likely_fix(proc.stdout + proc.stderr, svc)
        )


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's own `Uuid.randomUuid()` makes it: 16 random bytes in
    URL-safe base64 without padding, never starting with "-" (a command line would read
    such an id as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def kafka_format_command(
    java: str, lib: Path, log4j: Path, conf: Path, cluster_id: str
) -> list[str]:
    """`kafka-storage format` for our config. The id goes in as `--cluster-id=<id>`, one
    argument, so even an id that starts with "-" cannot be taken for an option."""
    return [
        java,
        "-cp",
        f"{lib}/*",
        f"-Dlog4j2.configurationFile={log4j}",
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",
        "-c",
        str(conf),
        "--ignore-formatted",
    ]


def kafka_command(settings: Settings) -> list[str]:
    svc = kafka_service(settings)
    lib = kafka_libs(settings)
    (svc.home / "logs").mkdir(parents=True, exist_ok=True)
    conf = _kafka_config(settings, svc)
    _kafka_format(settings, svc, lib, conf)
    java, _ = _require_tools()
    return [
        java,
        f"-Xms{settings.kafka_heap}",
        f"-Xmx{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={svc.home / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={svc.home / 'logs'}",
        "-cp",
        f"{lib}/*",
        "kafka.Kafka",
        str(conf),
    ]


def kafka_healthy(settings: Settings) -> bool:
    """The broker answers a metadata request."""
    if not port_open(kafka_service(settings).port):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_servers, request_timeout_ms=3000, client_id="ww-health"
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


# --------------------------------------------------------------------------- Elasticsearch


def es_service(settings: Settings) -> Service:
    port = _port_of(settings.es_url.rstrip("/").rsplit("/", 1)[-1], 9200)
    return Service(
        "elasticsearch", port, (settings.stack_dir / "elasticsearch").resolve(), (port + 100,)
    )


def es_libs(settings: Settings) -> Path:
    """The folder of Elasticsearch's jars and the node launcher, resolved once into the cache."""
    home = settings.cache_dir / f"elasticsearch-{ES_VERSION}"
    marker = home / ".complete"
    node_project = LOCAL_DIR / "elasticsearch-node"
    fingerprint = _fingerprint(node_project / "pom.xml", node_project / "src")
    if not _resolved(marker, fingerprint):
        home.mkdir(parents=True, exist_ok=True)
        _run_maven(
            [
                "-f",
                str(LOCAL_DIR / "elasticsearch-node" / "pom.xml"),
                f"-Dwirewatch.cache={home}",
                "package",
            ],
            f"Elasticsearch {ES_VERSION}",
        )
        marker.write_text(fingerprint)
    return home


def es_command(settings: Settings) -> list[str]:
    svc = es_service(settings)
    home = es_libs(settings)
    for sub in ("data", "logs"):
        (svc.home / sub).mkdir(parents=True, exist_ok=True)
    java, _ = _require_tools()
    return [
        java,
        f"-Xms{settings.es_heap}",
        f"-Xmx{settings.es_heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        "-Dlog4j2.formatMsgNoLookups=true",
        "-cp",
        f"{home / 'lib'}/*:{home / 'launcher.jar'}",
        "io.wirewatch.localstack.ElasticsearchNode",
        "--http-port",
        str(svc.port),
        "--transport-port",
        str(svc.other_ports[0]),
        "--data",
        str((svc.home / "data").resolve()),
        "--logs",
        str((svc.home / "logs").resolve()),
        "--cluster-name",
        "wirewatch-local",
    ]


def es_healthy(settings: Settings) -> bool:
    """`_cluster/health` answers yellow or green."""
    url = settings.es_url.rstrip("/") + "/_cluster/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            body = resp.read().decode()
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return '"status":"green"' in body or '"status":"yellow"' in body


# --------------------------------------------------------------------------- lifecycle


def _start(svc: Service, command: list[str], healthy: Callable[[], bool], timeout: float) -> None:
    if svc.pid() is not None:
        if _wait(healthy, timeout):
            log.info("stack.already_running", service=svc.name, port=svc.port)
            return
        raise StackError(f"{svc.name} (pid {svc.pid()}) runs but is not healthy; see {svc.logfile}")
    if port_open(svc.port):
        if healthy():
            log.info("stack.external", service=svc.name, port=svc.port)
            return
        raise _port_taken(svc, svc.port)
    taken = [p for p in svc.other_ports if port_open(p)]
    if taken:
        raise _port_taken(svc, taken[0])
    svc.logfile.parent.mkdir(parents=True, exist_ok=True)
    _require_disk(svc)
    with open(svc.logfile, "ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=svc.home
        )
    svc.pidfile.write_text(str(proc.pid))
    log.info("stack.starting", service=svc.name, pid=proc.pid, port=svc.port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = _log_tail(svc)
            raise StackError(
                f"{svc.name} exited with code {proc.returncode} while starting; "
                f"its log is {svc.logfile}:\n{tail}" + _likely_fix(tail, svc)
            )
        if healthy():
            log.info("stack.ready", service=svc.name, port=svc.port)
            return
        time.sleep(0.5)
    tail = _log_tail(svc)
    raise StackError(
        f"{svc.name} (pid {proc.pid}) did not become healthy within {timeout:.0f}s; "
        f"its log is {svc.logfile}:\n{tail}" + _likely_fix(tail, svc)
    )


def _wait(healthy: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy():
            return True
        time.sleep(0.5)
    return False


def _stop(svc: Service, timeout: float = 30.0) -> bool:
    pid = svc.pid()
    if pid is None:
        svc.pidfile.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        log.warning("stack.kill", service=svc.name, pid=pid)
        os.killpg(pid, signal.SIGKILL)
    svc.pidfile.unlink(missing_ok=True)
    log.info("stack.stopped", service=svc.name)
    return True


def kafka_up(settings: Settings) -> None:
    svc = kafka_service(settings)
    svc.home.mkdir(parents=True, exist_ok=True)
    cmd = [] if svc.pid() is not None or port_open(svc.port) else kafka_command(settings)
    _start(svc, cmd, lambda: kafka_healthy(settings), timeout=90)


def es_up(settings: Settings) -> None:
    svc = es_service(settings)
    svc.home.mkdir(parents=True, exist_ok=True)
    cmd = [] if svc.pid() is not None or port_open(svc.port) else es_command(settings)
    _start(svc, cmd, lambda: es_healthy(settings), timeout=180)


def up(settings: Settings) -> None:
    """Start Kafka and Elasticsearch (no-op for what already runs) and wait for health."""
    kafka_up(settings)
    es_up(settings)


def down(settings: Settings) -> None:
    _stop(es_service(settings))
    _stop(kafka_service(settings))


def status(settings: Settings) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for svc, healthy in (
        (kafka_service(settings), kafka_healthy),
        (es_service(settings), es_healthy),
    ):
        out[svc.name] = {"pid": svc.pid(), "port": svc.port, "healthy": healthy(settings)}
    return out
