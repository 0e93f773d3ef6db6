"""`wirewatch publish`: article files to the raw topic."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from processors.errors import WirewatchError
from streams.cli_common import _fail, _settings
from streams.settings import Settings

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)


def publish(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of articles")],
    source: Annotated[str | None, typer.Option(help="Source for articles that name none")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait until all are searchable")] = 0.0,
) -> None:
    """Publish article files (seed text, JSON Lines) to the raw topic."""
    from streams.kafka_io import Publisher

    settings = _settings()
    try:
        pub = Publisher(settings)
    except WirewatchError as exc:
        raise _fail(str(exc)) from exc
    try:
        report = pub.publish_files(paths, source=source)
    finally:
        pub.close()
    for problem in report.errors:
        err.print(f"[yellow]skipped:[/] {problem}")
    console.print(f"published {len(report.published)} article(s) to {settings.topic_raw}")
    if wait > 0 and report.published:
        _wait_indexed(settings, report.published, wait)
    if report.errors and not report.published:
        raise typer.Exit(1)


def _wait_indexed(settings: Settings, ids: list[str], timeout: float) -> None:
    from streams.elastic import make_client

    es = make_client(settings)
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        es.indices.refresh(index=settings.es_alias)
        resp = es.mget(index=settings.es_alias, ids=sorted(wanted - found), source=False)
        found |= {d["_id"] for d in resp["docs"] if d.get("found")}
        if found >= wanted:
            console.print(f"all {len(wanted)} article(s) are searchable")
            return
        time.sleep(0.5)
    raise _fail(f"only {len(found)} of {len(wanted)} article(s) indexed after {timeout:.0f}s")
