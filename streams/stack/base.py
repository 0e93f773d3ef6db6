"""What the local stack's servers share: the service record, its error, the tools it needs
(Java 17+, Maven), jar resolution, and the diagnosis of a start-up failure (free disk, taken
ports, the likely fix named from the server's own output). `streams.stack.local` runs them."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

from processors.errors import WirewatchError

log = structlog.get_logger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / "deploy" / "local"
KAFKA_VERSION = "4.1.1"
ES_VERSION = "8.19.21"


class StackError(WirewatchError):
    """The local stack cannot be set up or started; the message says what to do."""


@dataclass(frozen=True)
class Service:
    """One server process of the local stack."""

    name: str
    port: int
    home: Path
    """Where its data, logs and PID file live."""
    other_ports: tuple[int, ...] = ()
    """Ports it binds besides `port` (Kafka's controller, Elasticsearch's transport)."""

    @property
    def pidfile(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "logs" / f"{self.name}.out"

    def pid(self) -> int | None:
        """The PID of the running server started by us, or None."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited but not reaped) is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _require_tools() -> tuple[str, str]:
    java = shutil.which("java")
    mvn = shutil.which("mvn")
    if java is None:
        raise StackError(
            "Java is not installed: the local stack runs Kafka and Elasticsearch on Java 17+. "
            "Install it (e.g. `apt-get install openjdk-17-jre-headless`)."
        )
    if mvn is None:
        raise StackError(
            "Maven is not installed: it resolves the Kafka and Elasticsearch jars from Maven "
            "Central. Install it (e.g. `apt-get install maven`)."
        )
    major = java_major_version(java)
    if major is not None and major < 17:
        raise StackError(
            f"{java} is Java {major}; Kafka {KAFKA_VERSION} and Elasticsearch {ES_VERSION} need "
            "Java 17 or newer: install it and put it first on PATH (or set JAVA_HOME/bin first)"
        )
    return java, mvn


@functools.lru_cache(maxsize=4)
def java_major_version(java: str) -> int | None:
    """The major version `java -version` reports ("17.0.15" -> 17, "1.8.0_392" -> 8)."""
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_version(proc.stderr + proc.stdout)


def parse_java_version(output: str) -> int | None:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _fingerprint(*paths: Path) -> str:
    """A hash of the build files, so a changed pom or launcher source is rebuilt."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for f in files:
            if f.is_file() and "target" not in f.parts:
                digest.update(str(f.relative_to(LOCAL_DIR)).encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()


def _resolved(marker: Path, fingerprint: str) -> bool:
    try:
        return marker.read_text() == fingerprint
    except OSError:
        return False


def _run_maven(args: list[str], what: str) -> None:
    _, mvn = _require_tools()
    log.info("stack.resolve", what=what)
    proc = subprocess.run(
        [mvn, "-q", "-B", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise StackError(f"Maven could not resolve {what}:\n{tail}")


MIN_FREE_BYTES = 1 << 30
"""Free disk below which the stack refuses to start: Elasticsearch stops allocating shards
at its high watermark and Kafka dies on a full log directory, both with obscure errors."""


def _require_disk(svc: Service) -> None:
    free = shutil.disk_usage(svc.home).free
    if free < MIN_FREE_BYTES:
        raise StackError(
            f"{svc.name} cannot start: only {free >> 20} MiB free on the disk of {svc.home}; "
            f"free at least {MIN_FREE_BYTES >> 20} MiB (or point WIREWATCH_STACK_DIR elsewhere)"
        )


def _log_tail(svc: Service, lines: int = 20) -> str:
    try:
        return "\n".join(svc.logfile.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"


_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Address already in use", "BindException", "failed to bind"),
        "a port it needs ({ports}) is taken by another program: stop it, or give wirewatch "
        "other ports with WIREWATCH_KAFKA_BOOTSTRAP / WIREWATCH_ES_URL",
    ),
    (
        ("No space left on device", "flood stage disk watermark", "high disk watermark"),
        "the disk is (nearly) full: free space, or point WIREWATCH_STACK_DIR at another disk",
    ),
    (
        ("UnsupportedClassVersionError", "has been compiled by a more recent version"),
        "the Java on PATH is too old: install Java 17 or newer",
    ),
    (
        ("OutOfMemoryError", "Cannot allocate memory", "insufficient memory"),
        "the JVM ran out of memory: lower or raise WIREWATCH_KAFKA_HEAP / WIREWATCH_ES_HEAP "
        "to fit the machine",
    ),
    (
        ("Invalid cluster.id", "inconsistent clusterId", "is not formatted"),
        "its data folder belongs to another cluster: remove {home} (or run `make clean`)",
    ),
)


def _likely_fix(output: str, svc: Service) -> str:
    """The likely fix for a start-up failure, from what the server printed."""
    ports = ", ".join(map(str, (svc.port, *svc.other_ports)))
    for needles, fix in _FIXES:
        if any(n.lower() in output.lower() for n in needles):
            return "\nlikely fix: " + fix.format(ports=ports, home=svc.home)
    return ""


def _port_of(hostport: str, default: int) -> int:
    _, _, port = hostport.rpartition(":")
    return int(port) if port.isdigit() else default


def _port_taken(svc: Service, port: int) -> StackError:
    ports = ", ".join(map(str, (svc.port, *svc.other_ports)))
    return StackError(
        f"port {port} on 127.0.0.1 is taken by another program, so {svc.name} cannot start "
        f"(it needs ports {ports}); stop that program or point wirewatch elsewhere with "
        "WIREWATCH_ settings"
    )
