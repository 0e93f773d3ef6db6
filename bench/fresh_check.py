"""`make fresh-check N=20`: bring up N brand-new stacks in a row and run the README's demo on each.

Each run gets an empty temporary folder as its stack directory (no `.stack/`, a Kafka log
directory formatted seconds ago, topics created seconds ago) and its own free ports, so a stack
that is already running is not touched. On each: `wirewatch stack up`, `init`, `rules sync`,
`demo seeds/`, then `stack down`. A run passes when every step exits 0, the search finds the
seed and the seed fires the North Korea sanctions alert. Prints how many passed and, for each
failure, the step and the end of its output; exits 1 when any run failed.

The jar cache (`~/.cache/wirewatch`) is shared: resolving jars from Maven is not what this
checks, and a fresh clone resolves them once before the first stack comes up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.common import machine, merge_results

REPO = Path(__file__).resolve().parents[1]
SEED_TITLE = "Japan Confirms With U.S., S. Korea Plans To Coordinate"
ALERT_RULE = "north-korea-sanctions"
STEP_TIMEOUT = 600.0


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(gap: int, rng: random.Random, low: int = 20000, high: int = 40000) -> int:
    """A port p with p and p + gap both free (Kafka: broker + controller; ES: HTTP + transport)."""
    for _ in range(500):
        port = rng.randrange(low, high)
        if _free(port) and _free(port + gap):
            return port
    raise RuntimeError(f"no free pair of ports {gap} apart in {low}-{high}")


@dataclass
class Run:
    number: int
    ok: bool = False
    seconds: float = 0.0
    failed_step: str | None = None
    output_tail: str = ""
    steps: dict[str, float] = field(default_factory=dict)


def _step(run: Run, name: str, args: list[str], env: dict[str, str]) -> str | None:
    """Run one `wirewatch` command; returns its output, or None (and records why) on failure."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "streams", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        output, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"{exc.stdout or ''}{exc.stderr or ''}\n(timed out)", -1
    run.steps[name] = round(time.monotonic() - started, 1)
    if code != 0:
        run.failed_step = f"{name} (exit {code})"
        run.output_tail = "\n".join(str(output).splitlines()[-25:])
        return None
    return str(output)


def one_run(number: int, rng: random.Random) -> Run:
    run = Run(number)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="wirewatch-fresh-"))
    kafka, es = free_port_pair(1, rng), free_port_pair(100, rng)
    env = {
        **os.environ,
        "WIREWATCH_STACK_DIR": str(folder / ".stack"),
        "WIREWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka}",
        "WIREWATCH_ES_URL": f"http://127.0.0.1:{es}",
        "WIREWATCH_WORKER_WEB_PORT": str(free_port_pair(0, rng)),
        "WIREWATCH_ES_HEAP": "512m",
        "WIREWATCH_KAFKA_HEAP": "384m",
        "COLUMNS": "250",  # one result per line, so the check below can read it
    }
    try:
        steps = (
            ("stack up", ["stack", "up"]),
            ("init", ["init"]),
            ("rules sync", ["rules", "sync"]),
            ("demo", ["demo", "seeds/", "--query", "North Korea sanctions"]),
        )
        output = ""
        for name, args in steps:
            out = _step(run, name, args, env)
            if out is None:
                return run
            output = out
        seed_alerts = [
            line for line in output.splitlines() if ALERT_RULE in line and SEED_TITLE in line
        ]
        if SEED_TITLE not in output or not seed_alerts:
            run.failed_step = "demo output (seed not found or its alert did not fire)"
            run.output_tail = "\n".join(output.splitlines()[-25:])
            return run
        run.ok = True
        return run
    finally:
        _step(Run(number), "stack down", ["stack", "down"], env)
        shutil.rmtree(folder, ignore_errors=True)
        run.seconds = round(time.monotonic() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=20)
    parser.add_argument("--no-record", action="store_true", help="do not write bench/results.json")
    args = parser.parse_args()
    rng = random.Random()
    runs: list[Run] = []
    for number in range(1, args.runs + 1):
        run = one_run(number, rng)
        runs.append(run)
        status = "pass" if run.ok else f"FAIL at {run.failed_step}"
        print(f"fresh stack {number}/{args.runs}: {status} in {run.seconds:.0f}s {run.steps}")
        if not run.ok:
            print("    " + run.output_tail.replace("\n", "\n    "), flush=True)
    passed = sum(r.ok for r in runs)
    print(f"fresh-check: {passed}/{len(runs)} brand-new stacks passed")
    if not args.no_record:
        merge_results(
            {
                "fresh_check": {
                    "machine": machine(),
                    "runs": len(runs),
                    "passed": passed,
                    "seconds": [r.seconds for r in runs],
                    "failures": [asdict(r) for r in runs if not r.ok],
                }
            }
        )
    if passed != len(runs):
        print(json.dumps([asdict(r) for r in runs if not r.ok], indent=2)[:4000])
        sys.exit(1)


if __name__ == "__main__":
    main()
