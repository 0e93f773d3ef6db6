"""`wirewatch publish`: article files, feeds and watched folders to the raw topic."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from processors.errors import WirewatchError
from processors.formats import FORMATS
from streams.cli.common import _fail, _settings
from streams.settings import Settings

if TYPE_CHECKING:
    from streams.publishing.publisher import Publisher, PublishReport
    from streams.publishing.state import PublishState

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)


def publish(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of articles (any format)")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source for articles that name none")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait until all are searchable")] = 0.0,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help=f"Input format: auto (detect) or one of {', '.join(FORMATS)}"
        ),
    ] = "auto",
    rate: Annotated[
        float, typer.Option(help="At most this many articles per second (0: no limit)")
    ] = 0.0,
    state: Annotated[
        Path | None,
        typer.Option(help="State file (default: <stack_dir>/publish-state/<topic>.json)"),
    ] = None,
    no_state: Annotated[
        bool, typer.Option("--no-state", help="Remember nothing: send every article again")
    ] = False,
    follow: Annotated[
        list[str] | None,
        typer.Option(help="Feed URL or folder to follow (repeatable); polls until Ctrl-C"),
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between polls of a source")] = 60.0,
    settle: Annotated[
        float, typer.Option(help="Seconds a new file must be still before it is read")
    ] = 2.0,
    once: Annotated[
        bool, typer.Option("--once", help="Poll each followed source once, then exit")
    ] = False,
) -> None:
    """Publish articles: seed text, JSON Lines, ninjs, NewsML-G2, RSS, Atom; or follow feeds.

    Every article is keyed by a stable id (the item's guid, else its URL) and carries a
    version; the state file remembers what was published so a re-run or a re-poll sends
    only what is new or changed (see README, "Feeds and formats").
    """
    from streams.clients.kafka import ensure_topics
    from streams.publishing.publisher import Publisher, PublishReport
    from streams.publishing.state import PublishState, default_state_path

    if fmt != "auto" and fmt not in FORMATS:
        raise _fail(f"--format {fmt!r}: use auto or one of {', '.join(FORMATS)}")
    if not paths and not follow:
        raise _fail("nothing to publish: name files or folders, or --follow URL_OR_DIR")
    settings = _settings()
    try:
        memory = PublishState.load(
            None
            if no_state
            else (state or default_state_path(settings.stack_dir, settings.topic_raw)),
            settings.topic_raw,
        )
        pub = Publisher(settings, rate=rate or None)
        ensure_topics(settings, [settings.topic_raw])  # its partitions and size limit
    except WirewatchError as exc:
        raise _fail(str(exc)) from exc
    report = PublishReport()
    interrupted = False
    try:
        if paths:
            report = _publish_files(pub, paths, source=source, fmt=fmt, state=memory)
        if follow:
            report.merge(
                _follow(
                    pub,
                    memory,
                    follow,
                    interval=interval,
                    settle=settle,
                    fmt=fmt,
                    source=source,
                    once=once,
                )
            )
    except KeyboardInterrupt:
        interrupted = True  # the publisher flushed and the state was saved on the way out
    except WirewatchError as exc:
        raise _fail(str(exc)) from exc
    finally:
        pub.close()
    for problem in report.errors:
        err.print(f"[yellow]rejected:[/] {problem}", highlight=False, soft_wrap=True)
    console.print(f"{report.summary()} to {settings.topic_raw}", highlight=False, soft_wrap=True)
    if interrupted and not follow:
        raise typer.Exit(130)  # a file run cut short; stopping a follower is its normal end
    if wait > 0 and report.published:
        _wait_indexed(settings, sorted(set(report.published)), wait)
    if report.errors and not report.published and not report.skipped_seen:
        raise typer.Exit(1)


def _publish_files(
    pub: Publisher, paths: list[Path], *, source: str | None, fmt: str, state: PublishState
) -> PublishReport:
    from streams.publishing.publisher import expand_paths

    files = expand_paths(paths)
    with Progress(
        TextColumn("[bold]publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("", total=len(files))

        def on_file(path: Path, so_far: PublishReport) -> None:
            progress.update(
                task,
                advance=1,
                description=(
                    f"files  {len(so_far.published)} published, "
                    f"{so_far.skipped_seen + so_far.skipped_stale} skipped, "
                    f"{len(so_far.errors)} rejected"
                ),
            )

        return pub.publish_files(files, source=source, fmt=fmt, state=state, on_file=on_file)


def _follow(
    pub: Publisher,
    state: PublishState,
    targets: list[str],
    *,
    interval: float,
    settle: float,
    fmt: str,
    source: str | None,
    once: bool,
) -> PublishReport:
    from streams.publishing.follow import Follower

    follower = Follower(
        pub, state, targets, interval=interval, settle=settle, fmt=fmt, source=source
    )
    stop = {"now": False}

    def _on_term(signum: int, frame: object) -> None:
        stop["now"] = True  # finish the current poll, flush, save, exit

    previous = signal.signal(signal.SIGTERM, _on_term)

    def on_round(part: PublishReport) -> None:
        if part.published or part.errors:
            console.print(
                f"{time.strftime('%H:%M:%S')} {part.summary()}", highlight=False, soft_wrap=True
            )

    if not once:
        console.print(
            f"following {len(targets)} source(s) every {interval:g}s; Ctrl-C to stop",
            highlight=False,
        )
    try:
        stats = follower.run(
            rounds=1 if once else None, should_stop=lambda: stop["now"], on_round=on_round
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    return stats.report


def _wait_indexed(settings: Settings, ids: list[str], timeout: float) -> None:
    from streams.clients.elastic import make_client

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
