"""A brand-new stack comes up every time: cluster ids, waits on new topics, start-up errors."""

from __future__ import annotations

import argparse
import base64
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from processors.errors import WirewatchError
from streams.clients.kafka import TopicNotReady, wait_for_topics
from streams.stack import base as stack_base
from streams.stack import local as stack

# Bytes whose URL-safe base64 starts with "-" (0xF8..0xFB give "-" as the first character).
DASH_UUID = uuid.UUID(bytes=b"\xf8" + bytes(15))


def test_dash_uuid_really_gives_a_dash_id() -> None:
    assert base64.urlsafe_b64encode(DASH_UUID.bytes).decode().startswith("-")


def test_new_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: Iterator[uuid.UUID] = iter([DASH_UUID, DASH_UUID, uuid.UUID(int=12345)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    cluster_id = stack.new_cluster_id()
    assert not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


@pytest.mark.parametrize("cluster_id", ["-AAAAAAAAAAAAAAAAAAAAA", "--x-y", "abc"])
def test_format_command_passes_any_id_as_one_argument(cluster_id: str) -> None:
    cmd = stack.kafka_format_command("java", Path("/lib"), Path("l4j"), Path("c"), cluster_id)
    assert f"--cluster-id={cluster_id}" in cmd and "-t" not in cmd
    # The way kafka-storage's argument parser reads it: one option with its value attached.
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster-id", "-t")
    parser.add_argument("-c")
    parser.add_argument("--ignore-formatted", action="store_true")
    args = parser.parse_args(cmd[cmd.index("format") + 1 :])
    assert args.cluster_id == cluster_id


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("something else", None),
    ],
)
def test_java_version_is_read_from_java_version_output(output: str, major: int | None) -> None:
    assert stack_base.parse_java_version(output) == major


@pytest.mark.parametrize(
    ("log", "fix"),
    [
        ("java.net.BindException: Address already in use", "port it needs (9092, 9093)"),
        ("java.io.IOException: No space left on device", "disk is (nearly) full"),
        ("UnsupportedClassVersionError: class file version 61.0", "Java 17 or newer"),
        ("java.lang.OutOfMemoryError: Java heap space", "WIREWATCH_KAFKA_HEAP"),
        ("all fine, then nothing", ""),
    ],
)
def test_start_up_failures_say_the_likely_fix(log: str, fix: str, tmp_path: Path) -> None:
    svc = stack.Service("kafka", 9092, tmp_path, (9093,))
    hint = stack_base._likely_fix(log, svc)
    assert (fix in hint) if fix else hint == ""


def test_a_taken_controller_port_is_named_before_starting(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        svc = stack.Service("kafka", free, tmp_path, (taken,))
        with pytest.raises(stack.StackError, match=f"port {taken} .* taken"):
            stack._start(svc, ["true"], lambda: False, timeout=1)


def test_a_nearly_full_disk_is_refused_with_the_space_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = shutil._ntuple_diskusage(10 << 30, 10 << 30, 200 << 20)  # type: ignore[attr-defined]
    monkeypatch.setattr(stack_base.shutil, "disk_usage", lambda p: usage)
    with pytest.raises(stack.StackError, match="only 200 MiB free"):
        stack_base._require_disk(stack.Service("elasticsearch", 1, tmp_path))


def test_an_exiting_server_names_its_log_and_the_fix(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    svc = stack.Service("kafka", port, tmp_path)
    cmd = ["sh", "-c", "echo 'java.net.BindException: Address already in use'; exit 1"]
    with pytest.raises(stack.StackError) as err:
        stack._start(svc, cmd, lambda: False, timeout=20)
    message = str(err.value)
    assert str(svc.logfile) in message and "likely fix: a port it needs" in message


def _described(name: str, partitions: int, leader: int = 1, error: int = 0) -> dict[str, Any]:
    """One entry of kafka-python's `describe_topics`, shaped as the real broker answers."""
    return {
        "error_code": error,
        "name": name,
        "partitions": [
            {"error_code": 0, "partition_index": i, "leader_id": leader} for i in range(partitions)
        ],
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_for_topics_waits_until_partitions_and_leaders_show() -> None:
    answers = iter(
        [
            [_described("a", 0, error=3)],  # UNKNOWN_TOPIC_OR_PARTITION: just created
            [_described("a", 2, leader=-1)],  # partitions, no leader yet
            [_described("a", 2)],
        ]
    )
    clock = Clock()
    counts = wait_for_topics(
        lambda names: next(answers), {"a": 2}, clock=clock, sleep=clock.sleep, interval=1
    )
    assert counts == {"a": 2} and clock.now == 2


def test_an_existing_topic_reports_its_own_partition_count() -> None:
    counts = wait_for_topics(lambda names: [_described("s", 3)], {"s": None})
    assert counts == {"s": 3}  # the caller decides whether 3 is acceptable


def test_wait_for_topics_times_out_naming_the_topic() -> None:
    clock = Clock()
    with pytest.raises(TopicNotReady, match=r"'articles\.stories' .*metadata shows 0"):
        wait_for_topics(
            lambda names: [_described("articles.stories", 0, error=3)],
            {"articles.stories": 1},
            timeout=5,
            clock=clock,
            sleep=clock.sleep,
        )
    assert issubclass(TopicNotReady, WirewatchError)  # the CLI prints it as a clean error
