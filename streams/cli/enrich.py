"""`wirewatch enrich`, `wirewatch eval ner|events|facets`: inspection without Kafka or ES.

Mounted into the main CLI by `streams/cli/__init__.py`: `enrich_command` as the `enrich` command
(`enrich_app` carries the same command for `add_typer`), `eval_app` as the `eval` group.
The work is done by `processors.enrich`, `processors.evaluation` and
`processors.facet_eval`; this only reads
files, drives progress bars and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from processors.enrich import enrich_articles
from processors.errors import InputFileError
from processors.evaluation import evaluate_events, evaluate_ner
from processors.facet_eval import FACETS, GoldFacets, gold_from_mapping, score_facets
from processors.models import Article, EnrichedArticle
from streams.operations.eval_files import read_conll, read_event_set
from streams.publishing.publisher import read_articles
from streams.settings import get_settings

enrich_app = typer.Typer(help="Enrich an article file without Kafka or Elasticsearch.")
eval_app = typer.Typer(help="Evaluate the enrichment layer.", no_args_is_help=True)
console = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

ModelOption = Annotated[
    str | None, typer.Option("--model", help="spaCy pipeline (default: WIREWATCH_SPACY_MODEL)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _read_articles(path: Path) -> list[Article]:
    """Articles of a file in any format `wirewatch publish` reads; bad items are reported."""
    articles: list[Article] = []
    for item in read_articles(path):
        if isinstance(item, InputFileError):
            console.print(f"[yellow]skipped[/]: {item}")
        else:
            articles.append(item)
    return articles


def _print_record(rec: EnrichedArticle) -> None:
    out.print(f"[bold]{rec.title}[/]  ({rec.language}, {rec.enrichment_version})")
    ents = Table("label", "text", "canonical", "id", "country", "n", title="entities")
    for e in rec.entities:
        ents.add_row(e.label, e.text, e.canonical, e.id, e.country or "", str(e.count))
    out.print(ents)
    out.print(f"countries: {', '.join(rec.countries)}")
    evs = Table("type", "cameo", "source", "target", "conf", "evidence", title="events")
    for ev in rec.events:
        evs.add_row(
            ev.type,
            ev.cameo or "",
            ev.source or "",
            ev.target or "",
            f"{ev.confidence:.2f}",
            ev.evidence[:90],
        )
    out.print(evs)


def enrich_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".txt or .jsonl[.gz]")],
    json_: JsonOption = False,
    model: ModelOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = None,
) -> None:
    """Print the enrichment of an article file (the record as it would be indexed)."""
    model = model or get_settings().spacy_model
    try:
        articles = _read_articles(path)
    except InputFileError as exc:
        console.print(f"[red]error[/]: {exc}")
        raise typer.Exit(2) from exc
    articles = articles[:limit] if limit is not None else articles
    records: list[EnrichedArticle] = []
    batch = 32
    with _progress() as bar:
        task = bar.add_task("enriching", total=len(articles))
        for i in range(0, len(articles), batch):
            records.extend(enrich_articles(articles[i : i + batch], model=model))
            bar.advance(task, len(articles[i : i + batch]))
    for rec in records:
        if json_:
            indent = 2 if len(records) == 1 else None
            out.print(json.dumps(rec.document(), ensure_ascii=False, indent=indent))
        else:
            _print_record(rec)


enrich_app.command("enrich")(enrich_command)


def _scores_table(title: str, result: dict[str, Any]) -> Table:
    table = Table("type", "P", "R", "F1", "support", title=title)
    for t, s in result["per_type"].items():
        table.add_row(t, f"{s['p']:.3f}", f"{s['r']:.3f}", f"{s['f1']:.3f}", str(s["support"]))
    o = result["overall"]
    table.add_row("overall", f"{o['p']:.3f}", f"{o['r']:.3f}", f"{o['f1']:.3f}", "", style="bold")
    return table


@eval_app.command("ner")
def eval_ner(
    conll: Annotated[Path, typer.Option("--conll", exists=True, dir_okay=False)],
    json_: JsonOption = False,
    model: ModelOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
) -> None:
    """Entity P/R/F1 per type, bare model vs the enrichment layer, on CoNLL-2003."""
    model = model or get_settings().spacy_model
    docs = read_conll(conll)
    docs = docs[:limit] if limit is not None else docs
    with _progress() as bar:
        task = bar.add_task("bare + enriched", total=2 * len(docs))
        result = evaluate_ner(docs, model=model, progress=lambda n: bar.advance(task, n))
    if json_:
        out.print(json.dumps(result))
        return
    for run in ("bare", "enriched"):
        out.print(_scores_table(f"{run} ({len(docs)} documents)", result[run]))


@eval_app.command("events")
def eval_events(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="labelled .jsonl")],
    json_: JsonOption = False,
    model: ModelOption = None,
    min_confidence: Annotated[float, typer.Option(help="Ignore events below this.")] = 0.0,
) -> None:
    """Event P/R/F1 per type on a labelled JSON Lines file."""
    model = model or get_settings().spacy_model
    records = read_event_set(path)
    with _progress() as bar:
        task = bar.add_task("events", total=len(records))
        result = evaluate_events(
            records,
            model=model,
            min_confidence=min_confidence,
            progress=lambda n: bar.advance(task, n),
        )
    if json_:
        out.print(json.dumps(result))
        return
    out.print(_scores_table(f"events ({result['records']} records)", result))


def _read_jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    """Decoded objects of a JSON Lines file; a line that is not one is an error naming it."""
    out: list[dict[str, Any]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"{path}:{lineno}: not JSON ({exc})") from exc
        if not isinstance(obj, dict):
            raise typer.BadParameter(f"{path}:{lineno}: not {what}")
        out.append(obj)
    return out


def _read_gold(path: Path) -> list[GoldFacets]:
    gold: list[GoldFacets] = []
    for n, obj in enumerate(_read_jsonl(path, "a gold record"), start=1):
        rec = gold_from_mapping(obj)
        if rec is None:
            raise typer.BadParameter(f"{path}: record {n}: not a gold facet record")
        gold.append(rec)
    return gold


def _enrich_for_gold(path: Path, ids: set[str], model: str) -> dict[str, dict[str, Any]]:
    """Facets of the articles of `path` whose ids are in `ids`, enriched with `model`."""
    try:
        articles = [a for a in _read_articles(path) if a.id in ids]
    except InputFileError as exc:
        raise typer.BadParameter(str(exc)) from exc
    out: dict[str, dict[str, Any]] = {}
    batch = 16
    with _progress() as bar:
        task = bar.add_task("enriching", total=len(articles))
        for i in range(0, len(articles), batch):
            for rec in enrich_articles(articles[i : i + batch], model=model):
                out[rec.id] = {f: getattr(rec, f) for f in FACETS}
            bar.advance(task, len(articles[i : i + batch]))
    return out


@eval_app.command("facets")
def eval_facets(
    gold_path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="gold facets, JSON Lines")
    ],
    enriched: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="enriched records (`wirewatch enrich --json`)"
        ),
    ] = None,
    articles: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="articles to enrich (any input format)"),
    ] = None,
    json_: JsonOption = False,
    model: ModelOption = None,
    errors: Annotated[bool, typer.Option(help="Also list every false and missed value.")] = False,
) -> None:
    """Facet P/R/F1 (persons, organizations, countries, event_types) against gold (FACETS.md)."""
    if (enriched is None) == (articles is None):
        raise typer.BadParameter("give exactly one of --enriched and --articles")
    gold = _read_gold(gold_path)
    ids = {g.id for g in gold}
    if enriched is not None:
        predicted = {str(obj.get("id")): obj for obj in _read_jsonl(enriched, "an enriched record")}
    else:
        assert articles is not None
        predicted = _enrich_for_gold(articles, ids, model or get_settings().spacy_model)
    missing = sorted(ids - set(predicted))
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        console.print(f"[red]error[/]: {len(missing)} gold id(s) not in the output: {shown}")
        raise typer.Exit(2)
    result = score_facets((g, predicted[g.id]) for g in gold)
    if not errors:
        result.pop("errors")
    if json_:
        out.print(json.dumps(result, ensure_ascii=False))
        return
    table = Table(
        "facet",
        "P",
        "R",
        "F1",
        "tp",
        "fp",
        "fn",
        title=f"{gold_path.name}: {result['articles']} articles",
    )
    for f, s in result["facets"].items():
        table.add_row(
            f,
            f"{s['p']:.3f}",
            f"{s['r']:.3f}",
            f"{s['f1']:.3f}",
            *map(str, (s["tp"], s["fp"], s["fn"])),
        )
    out.print(table)
    q = result["quiet_event_share"]
    out.print(
        f"quiet articles (sport, entertainment, lifestyle, science) with any event type: "
        f"predicted {q['predicted']:.0%}, gold {q['gold']:.0%} of {q['articles']}"
    )
    for e in result.get("errors", []):
        out.print(json.dumps(e, ensure_ascii=False))
