"""The `wirewatch` command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from processors.errors import WirewatchError
from streams.cli.common import _fail, _settings, console

app = typer.Typer(
    help="wirewatch: wire news -> Kafka -> enrichment -> Elasticsearch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The local Kafka broker and Elasticsearch node.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")


@stack_app.command("up")
def stack_up() -> None:
    """Resolve (first time), start and wait for Kafka and Elasticsearch on 127.0.0.1."""
    from streams.stack import local as stack

    try:
        stack.up(_settings())
    except WirewatchError as exc:
        raise _fail(str(exc)) from exc


@stack_app.command("down")
def stack_down() -> None:
    """Stop Kafka and Elasticsearch."""
    from streams.stack import local as stack

    stack.down(_settings())


@stack_app.command("status")
def stack_status() -> None:
    """Show whether Kafka and Elasticsearch run and answer."""
    from streams.stack import local as stack

    st = stack.status(_settings())
    for name, info in st.items():
        console.print(f"{name:14} pid={info['pid']} port={info['port']} healthy={info['healthy']}")
    if not all(info["healthy"] for info in st.values()):
        raise typer.Exit(1)


@app.command()
def init() -> None:
    """Create every topic of the topology, the index templates, the versioned index and its
    alias, the rules and alerts indices (idempotent; waits until each is ready)."""
    from streams.clients.elastic import make_client
    from streams.clients.indices import ensure_alert_indices, ensure_index
    from streams.topology import ensure_pipeline_topics

    settings = _settings()
    try:
        ensure_pipeline_topics(settings)
        es = make_client(settings)
        name = ensure_index(es, settings)
        ensure_alert_indices(es, settings)
    except WirewatchError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"topics ready; index {name} behind alias {settings.es_alias!r}")


@app.command()
def worker(loglevel: str = "info") -> None:
    """Run a Faust worker (every stage of the topology). Start more for more partitions."""
    import faust

    from streams.app import build_app
    from streams.clients.elastic import make_client
    from streams.clients.indices import ensure_index
    from streams.topology import ensure_pipeline_topics

    settings = _settings()
    try:
        # Before Faust subscribes (it ignores missing topics); refuses a wrong layout.
        ensure_pipeline_topics(settings)
        ensure_index(make_client(settings), settings)
    except WirewatchError as exc:
        raise _fail(str(exc)) from exc
    worker = build_app(settings)
    sys.argv = [sys.argv[0]]  # Faust's worker parses argv itself
    faust.Worker(worker.app, loglevel=loglevel).execute_from_commandline()


@app.command()
def demo(
    paths: Annotated[list[Path], typer.Argument(help="Article files or folders")],
    query: Annotated[
        str, typer.Option(help="What to search for afterwards")
    ] = "North Korea sanctions",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for indexing")] = 180.0,
) -> None:
    """Start a worker, publish PATHS, wait until searchable, search, show alerts, stop."""
    settings = _settings()
    settings.stack_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.stack_dir / "worker.log"
    exe = [sys.executable, "-m", "streams", "worker"]
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            exe, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ}
        )
    console.print(f"worker started (pid {proc.pid}, log {log_path})")

    def _terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # run the `finally` below: never orphan the worker

    signal.signal(signal.SIGTERM, _terminate)
    from streams.cli.alerts import show_recent_alerts
    from streams.cli.publish import publish
    from streams.cli.search import search_cmd

    try:
        publish(paths, source=None, wait=timeout)
        search_cmd(query, size=5, as_json=False)
        show_recent_alerts(settings)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        console.print("worker stopped")


def _register_commands() -> None:
    """Each area of the product registers its own commands (one module each)."""
    from streams.cli import alerts as cli_alerts
    from streams.cli import kibana as cli_kibana
    from streams.cli import ops as cli_ops
    from streams.cli import publish as cli_publish
    from streams.cli import search as cli_search
    from streams.cli.enrich import enrich_command, eval_app

    cli_publish.register(app)
    cli_search.register(app)
    cli_kibana.register(app)
    cli_ops.register(app)
    cli_alerts.register(app)
    app.command("enrich")(enrich_command)
    app.add_typer(eval_app, name="eval")


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
