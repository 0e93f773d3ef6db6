"""`wirewatch dlq list|replay` and `wirewatch reindex`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from processors.errors import WirewatchError
from streams.cli.common import _fail, _settings, console

dlq_app = typer.Typer(
    help="Dead letters: what could not be processed, and why.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")
    app.command("reindex")(reindex_cmd)


@dlq_app.command("list")
def dlq_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the newest N")] = None,
) -> None:
    """Show the dead letters on the dead-letter topic."""
    from streams.operations.ops import list_dead_letters

    settings = _settings()
    letters = list_dead_letters(settings, limit=limit)
    if as_json:
        for letter in letters:
            print(letter.model_dump_json())
        return
    table = Table(title=f"{len(letters)} dead letter(s) on {settings.topic_dlq}")
    for col in ("failed at", "stage", "reason", "detail", "from", "article id", "bytes"):
        table.add_column(col, overflow="fold")
    for d in letters:
        table.add_row(
            d.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.stage,
            d.reason,
            d.detail[:120],
            f"{d.topic}[{d.partition}]@{d.offset}",
            d.article_id or "",
            str(len(d.original_bytes())),
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    reason: Annotated[str | None, typer.Option(help="Only letters with this reason")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, publish nothing")] = False,
) -> None:
    """Re-publish dead letters (not replayed before) to the topic they failed on."""
    from streams.operations.ops import replay_dead_letters

    report = replay_dead_letters(_settings(), reason=reason, dry_run=dry_run)
    verb = "would replay" if dry_run else "replayed"
    console.print(
        f"{verb} {report.replayed} dead letter(s) {report.by_topic}; "
        f"{report.skipped} left (other reasons)"
    )


def _parse_since(value: str) -> datetime:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[:-1].isdigit() and value[-1] in units:
        return datetime.now(UTC) - timedelta(seconds=int(value[:-1]) * units[value[-1]])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r}: use an ISO time or 30m, 12h, 7d") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reindex_cmd(
    from_offset: Annotated[
        int | None, typer.Option(help="Start at this offset per partition")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Start at this time (ISO, or 7d, 12h)")] = None,
    version: Annotated[int | None, typer.Option(help="New index version (default: next)")] = None,
    switch: Annotated[bool, typer.Option(help="Switch the alias when caught up")] = True,
    force: Annotated[
        bool, typer.Option(help="Take the reindex lock even if held (its holder died)")
    ] = False,
) -> None:
    """Re-enrich from Kafka through the pipeline's stages into a new versioned index; switch
    the alias atomically; keep `WIREWATCH_ES_KEEP_INDICES` old indices for rollback."""
    from streams.clients.elastic import make_client
    from streams.clients.indices import template_body
    from streams.operations.reindex import reindex

    if from_offset is not None and since is not None:
        raise _fail("give --from-offset or --since, not both", 2)
    settings = _settings()
    es = make_client(settings)
    es.indices.put_index_template(
        name=f"{settings.es_alias}-template", **template_body(settings.es_alias)
    )
    with Progress(
        TextColumn("reindex"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("reindex", total=None)
        try:
            report = reindex(
                es,
                settings,
                from_offset=from_offset,
                since=_parse_since(since) if since else None,
                new_version=version,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                switch=switch,
                force=force,
            )
        except (WirewatchError, TimeoutError, RuntimeError) as exc:
            raise _fail(str(exc)) from exc
    console.print(
        json.dumps(
            {
                "index": report.new_index,
                "indexed": report.indexed,
                "invalid": report.invalid,
                "passes": report.passes,
                "kept_story": report.kept_story,
                "alias_switched": report.switched,
                "previous": report.old_indices,
                "deleted": report.deleted,
            }
        )
    )
