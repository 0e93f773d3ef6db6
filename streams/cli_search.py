"""`wirewatch search`: the terminal counterpart of Kibana Discover."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from streams.cli_common import _fail, _settings

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("search")(search_cmd)


def search_cmd(
    query: Annotated[str, typer.Argument(help="simple_query_string syntax")],
    size: Annotated[int, typer.Option(help="How many hits")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Full-text search over the articles, with highlighted snippets."""
    from elasticsearch import ApiError, TransportError

    from streams.elastic import make_client
    from streams.search import search

    settings = _settings()
    try:
        result = search(make_client(settings), settings.es_alias, query, size=size)
    except TransportError as exc:
        raise _fail(f"Elasticsearch at {settings.es_url} is unreachable: {exc}") from exc
    except ApiError as exc:
        raise _fail(f"search failed: {exc.message}") from exc
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{result['total']} hit(s) for {query!r}", show_lines=True)
    for col in ("title", "published", "source", "top entities", "snippet"):
        table.add_column(col, overflow="fold")
    for hit in result["hits"]:
        table.add_row(
            hit["title"] or "",
            hit["published_at"] or "",
            hit["source"] or "",
            ", ".join(hit["top_entities"]),
            " … ".join(hit["snippets"]),
        )
    console.print(table)
