"""`wirewatch kibana import`: load the packaged saved objects (or given files) into Kibana."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import _fail, _settings, console, err

kibana_app = typer.Typer(help="Kibana saved objects (data views, searches, dashboard).")


def register(app: typer.Typer) -> None:
    app.add_typer(kibana_app, name="kibana", no_args_is_help=True)


@kibana_app.command("import")
def import_cmd(
    url: Annotated[
        str | None, typer.Option("--url", help="Kibana base URL (default WIREWATCH_KIBANA_URL)")
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file", help="NDJSON file(s) to import (default: the packaged wirewatch.ndjson)"
        ),
    ] = None,
) -> None:
    """Import (overwrite) the data views, saved searches, visualisations and dashboard."""
    from streams.clients import resources
    from streams.clients.kibana import KibanaError, SavedObjectsFileError, import_saved_objects

    settings = _settings()
    failed = 0
    paths: list[Traversable] = [*files] if files else [resources.saved_objects()]
    for path in paths:
        try:
            report = import_saved_objects(settings, path, base_url=url)
        except (KibanaError, SavedObjectsFileError) as exc:
            raise _fail(str(exc)) from exc
        console.print(f"{path.name}: {report.success_count} object(s) imported")
        for failure in report.failures:
            err.print(f"[bold red]rejected:[/] {failure}", highlight=False)
        failed += len(report.failures)
    if failed:
        raise _fail(f"Kibana rejected {failed} object(s)")
