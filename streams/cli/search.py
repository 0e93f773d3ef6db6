"""`wirewatch search`: the terminal counterpart of Kibana Discover.

A query string, filters, facet counts, highlighted snippets, paging; a table for people and
`--json` for scripts.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.cli.common import _fail, _settings

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("search")(search_cmd)


def _highlight(text: str) -> str:
    """Rich markup for a snippet: on a colour terminal the «» tags become bold yellow.

    Without colour (a pipe, a log) the tags stay, or the highlight would be lost.
    """
    if not console.is_terminal or console.no_color:
        return escape(text)
    return escape(text).replace("«", "[bold yellow]").replace("»", "[/]")


def search_cmd(
    query: Annotated[
        str,
        typer.Argument(
            help='simple_query_string syntax: words (AND), "phrases", a | b, -not, prefix*'
        ),
    ] = "",
    country: Annotated[
        list[str] | None, typer.Option("--country", help="ISO country code, e.g. KP (repeatable)")
    ] = None,
    event: Annotated[
        list[str] | None, typer.Option("--event", help="Event type, e.g. SANCTION (repeatable)")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="Actor an --event is done to, e.g. KP (nested match)"),
    ] = None,
    person: Annotated[
        list[str] | None, typer.Option("--person", help='Canonical name, e.g. "Fumio Kishida"')
    ] = None,
    org: Annotated[
        list[str] | None, typer.Option("--org", help="Canonical organisation name")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Publisher, e.g. kyodo (repeatable)")
    ] = None,
    story: Annotated[str | None, typer.Option("--story", help="Story id")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Published within: 7d, 24h, 2w, or an ISO date")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Published before: a span ago or an ISO date")
    ] = None,
    facet: Annotated[
        list[str] | None,
        typer.Option("--facet", help="Facet counts: countries, persons, organizations, ..."),
    ] = None,
    facet_size: Annotated[int, typer.Option(help="Values per facet")] = 10,
    size: Annotated[int, typer.Option(help="Hits per page")] = 10,
    page: Annotated[int, typer.Option(help="Page number (from 1)")] = 1,
    sort: Annotated[
        str | None, typer.Option(help="relevance | newest | oldest (default: relevance)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Search the articles: full text, filters, facet counts, highlighted snippets."""
    from elasticsearch import ApiError, TransportError

    from streams.clients.elastic import make_client
    from streams.operations.search import InvalidSearch, SearchFilters, search

    if sort not in (None, "relevance", "newest", "oldest"):
        raise _fail(f"--sort must be relevance, newest or oldest, not {sort!r}")
    filters = SearchFilters(
        countries=tuple(country or ()),
        event_types=tuple(event or ()),
        event_targets=tuple(target or ()),
        persons=tuple(person or ()),
        organizations=tuple(org or ()),
        sources=tuple(source or ()),
        story_id=story,
        since=since,
        until=until,
    )
    settings = _settings()
    # An interactive command: one retry, and the transport's per-retry tracebacks stay out
    # of the terminal (the error below says what happened).
    logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)
    es = make_client(settings).options(max_retries=1)
    try:
        result = search(
            es,
            settings.es_alias,
            query,
            size=size,
            page=page,
            filters=filters,
            facets=tuple(facet or ()),
            facet_size=facet_size,
            sort=sort,  # type: ignore[arg-type]  # checked above
        )
    except InvalidSearch as exc:
        raise _fail(str(exc), code=2) from exc
    except TransportError as exc:
        raise _fail(
            f"Elasticsearch at {settings.es_url} is unreachable ({type(exc).__name__}); "
            "is it running? (`wirewatch stack status`)"
        ) from exc
    except ApiError as exc:
        if exc.status_code == 404:
            raise _fail(
                f"no index behind alias {settings.es_alias!r}; run `wirewatch init` first"
            ) from exc
        if exc.status_code == 400:
            raise _fail(f"invalid search: {_reason(exc)}", code=2) from exc
        raise _fail(f"search failed ({exc.status_code}): {_reason(exc)}") from exc
    finally:
        es.close()
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    _print_table(query, result)


def _reason(exc: Any) -> str:
    """The root cause Elasticsearch gives, without the whole error document."""
    info = exc.info if isinstance(exc.info, dict) else {}
    causes = (info.get("error") or {}).get("root_cause") or []
    if causes and isinstance(causes[0], dict):
        return str(causes[0].get("reason") or exc.message)
    return str(exc.message)


def _print_table(query: str, result: dict[str, Any]) -> None:
    what = f"for {query!r}" if query else "(no query string)"
    title = f"{result['total']} hit(s) {what} — page {result['page']} of {max(result['pages'], 1)}"
    table = Table(title=title, show_lines=True)
    for col in ("title", "published", "source", "countries / events", "snippet"):
        table.add_column(col, overflow="fold")
    for hit in result["hits"]:
        tags = ", ".join(hit["countries"][:6])
        if hit["event_types"]:
            tags += " / " + ", ".join(hit["event_types"][:4])
        table.add_row(
            _highlight(hit["title_highlight"] or hit["title"] or ""),
            (hit["published_at"] or "")[:16].replace("T", " "),
            escape(hit["source"] or ""),
            tags,
            _highlight(" … ".join(hit["snippets"])),
        )
    console.print(table)
    if not result["facets"]:
        return
    ftable = Table(title="facets (over all hits)")
    ftable.add_column("facet", no_wrap=True)
    ftable.add_column("value", overflow="fold")
    ftable.add_column("count", justify="right", no_wrap=True)
    for name, facet in result["facets"].items():
        rows = [(str(b["value"]), str(b["count"])) for b in facet["buckets"]]
        if facet["other"]:
            rows.append(("(other values)", str(facet["other"])))
        for i, (value, count) in enumerate(rows or [("(none)", "0")]):
            ftable.add_row(name if i == 0 else "", escape(value), count)
        ftable.add_section()
    console.print(ftable)
