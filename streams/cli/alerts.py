"""`wirewatch rules sync|test` and `wirewatch alerts tail`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from processors.errors import InputFileError, WirewatchError
from processors.models import EnrichedArticle
from processors.rules import Alert, Rule, RuleError
from streams.cli.common import _fail, _settings, console, err
from streams.operations.rule_files import load_rule_file
from streams.settings import Settings

rules_app = typer.Typer(help="Alert rules: validate and load them, try them.", no_args_is_help=True)
alerts_app = typer.Typer(help="Fired alerts.", no_args_is_help=True)

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
    app.add_typer(alerts_app, name="alerts")


@rules_app.command("sync")
def rules_sync(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Folder of rule files (default: WIREWATCH_RULES_DIR, else the packaged rules)"
        ),
    ] = None,
) -> None:
    """Validate every rule file and load the valid ones into the rules index.

    A bad rule is reported with its file and problem and the others still load (exit code 1
    if any was bad). A rule whose file was deleted is removed; one whose file became invalid
    keeps its previous version.
    """
    from elasticsearch import ApiError, TransportError

    from streams.clients.elastic import make_client
    from streams.clients.indices import ensure_alert_indices, ensure_index
    from streams.clients.resources import rules_folder
    from streams.operations.rules import sync_rules

    settings = _settings()
    try:
        es = make_client(settings)
        ensure_index(es, settings)
        ensure_alert_indices(es, settings)
        with rules_folder(directory or settings.rules_dir) as folder:
            report = sync_rules(es, settings, folder)
    except TransportError as exc:
        raise _fail(f"Elasticsearch at {settings.es_url} is unreachable: {exc}") from exc
    except (ApiError, WirewatchError) as exc:
        raise _fail(f"rules sync failed: {exc}") from exc
    for rule_id in report.loaded:
        console.print(f"[green]loaded[/]    {rule_id}")
    for rule_id in report.unchanged:
        console.print(f"unchanged {rule_id}")
    for rule_id in report.removed:
        console.print(f"[yellow]removed[/]   {rule_id}")
    for error in report.errors:
        err.print(f"[bold red]rejected[/]  {escape(f'{error.source}: {error.problem}')}")
    console.print(
        f"{len(report.loaded) + len(report.unchanged)} rule(s) active in "
        f"{settings.rules_index_name!r}, {len(report.errors)} rejected"
    )
    if report.errors:
        raise typer.Exit(1)


def _read_rule(spec: str, rules_dir: Path | None) -> Rule:
    """A rule file, or a rule id in `rules_dir` (None: the packaged default rules)."""
    from streams.clients.resources import rules_folder

    def load(path: Path) -> Rule:
        if not path.exists():
            raise RuleError(spec, f"no such rule file (looked for {path})")
        return load_rule_file(path)

    if Path(spec).exists() or spec.endswith((".yaml", ".yml")):
        return load(Path(spec))
    with rules_folder(rules_dir) as folder:
        return load(folder / f"{spec}.yaml")


def _read_article(path: Path, model: str) -> EnrichedArticle:
    """An enriched record (JSON, e.g. from `wirewatch enrich --json`) or an article file,
    which is enriched here with the same pipeline as the worker."""
    from pydantic import ValidationError

    text = path.read_text(encoding="utf-8")
    try:
        return EnrichedArticle.model_validate_json(text)
    except ValidationError:
        pass
    from processors.enrich import enrich_articles
    from streams.publishing.publisher import read_articles

    articles = list(read_articles(path))
    if not articles:
        raise InputFileError(f"{path}: no article in it")
    first = articles[0]
    if isinstance(first, InputFileError):
        raise first
    return enrich_articles([first], model=model)[0]


@rules_app.command("test")
def rules_test(
    rule: Annotated[
        str,
        typer.Argument(help="Rule file, or a rule id in WIREWATCH_RULES_DIR (or the packaged)"),
    ],
    article: Annotated[
        Path, typer.Argument(help="Article file (.txt, .jsonl: first article) or enriched JSON")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Say whether RULE matches ARTICLE_FILE, and why (Elasticsearch decides, as in the worker).

    Exit code 0 if it matches, 1 if it does not, 2 on error.
    """
    from elasticsearch import ApiError, TransportError

    from streams.clients.elastic import make_client
    from streams.operations.rules import test_rule

    settings = _settings()
    try:
        parsed = _read_rule(rule, settings.rules_dir)
        record = _read_article(article, settings.spacy_model)
        result = test_rule(make_client(settings), settings, parsed, record)
    except (RuleError, InputFileError) as exc:
        raise _fail(str(exc), code=2) from exc
    except TransportError as exc:
        raise _fail(f"Elasticsearch at {settings.es_url} is unreachable: {exc}", 2) from exc
    except ApiError as exc:
        raise _fail(f"Elasticsearch refused the rule: {exc.message}", 2) from exc
    if as_json:
        out = {
            "rule": parsed.id,
            "article_id": record.id,
            "matched": result.matched,
            "alert": result.alert.model_dump(mode="json") if result.alert else None,
            "query": result.query,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    elif result.alert is not None:
        alert = result.alert
        console.print(f"[bold green]MATCH[/] {parsed.id} ← {record.title!r} ({record.id})")
        console.print(f"  why:       {alert.reason}")
        console.print(f"  countries: {', '.join(alert.countries) or '-'}")
        console.print(f"  events:    {', '.join(alert.event_types) or '-'}")
        console.print(f"  entities:  {', '.join(alert.matched_entities) or '-'}")
        for snippet in alert.snippets:
            console.print(f"  > {snippet}", highlight=False)
    else:
        console.print(f"[bold]NO MATCH[/] {parsed.id} ← {record.title!r} ({record.id})")
        console.print(f"  article countries: {', '.join(record.countries) or '-'}")
        console.print(f"  article events:    {', '.join(record.event_types) or '-'}")
        console.print(f"  rule query:        {json.dumps(result.query)}", highlight=False)
    if not result.matched:
        raise typer.Exit(1)


def _print_alert(alert: Alert) -> None:
    style = SEVERITY_STYLE.get(alert.severity, "")
    when = alert.fired_at.strftime("%Y-%m-%d %H:%M:%S")
    console.print(
        f"[{style}]{alert.severity.upper():8}[/] {when} [bold]{alert.rule}[/] "
        f"{alert.title!r}  story={alert.story_id} article={alert.article_id}",
        highlight=False,
    )
    console.print(f"         {alert.reason}", highlight=False)
    if alert.url:
        console.print(f"         {alert.url}", highlight=False)
    for snippet in alert.snippets[:2]:
        console.print(f"         > {snippet}", highlight=False)


@alerts_app.command("tail")
def alerts_tail(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON alert per line")] = False,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Print the topic's earlier alerts first")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many alerts")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Stop after this many seconds without an alert")
    ] = None,
) -> None:
    """Print alerts as they fire (the alerts topic)."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    from streams.clients.kafka import security_config
    from streams.operations.rules import iter_alerts

    settings = _settings()
    try:
        consumer = KafkaConsumer(
            settings.topic_alerts,
            bootstrap_servers=settings.kafka_servers,
            group_id=None,
            auto_offset_reset="earliest" if from_beginning else "latest",
            enable_auto_commit=False,
            consumer_timeout_ms=int(timeout * 1000) if timeout else float("inf"),
            client_id="wirewatch-alerts-tail",
            **security_config(settings),
        )
    except KafkaError as exc:
        raise _fail(f"no Kafka broker answers at {settings.kafka_bootstrap}: {exc}") from exc
    if not as_json:
        err.print(f"waiting for alerts on {settings.topic_alerts!r} (Ctrl-C to stop)")
    seen = 0
    started = time.monotonic()
    try:
        for alert in iter_alerts(msg.value for msg in consumer if msg.value is not None):
            if as_json:
                print(alert.model_dump_json(), flush=True)
            else:
                _print_alert(alert)
            seen += 1
            if limit is not None and seen >= limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    if not as_json:
        err.print(f"{seen} alert(s) in {time.monotonic() - started:.0f}s")


def show_recent_alerts(settings: Settings, *, settle: float = 3.0, timeout: float = 20.0) -> None:
    """Print the newest alerts in the alerts index, once their count has stopped changing
    (alerts fire a moment after articles become searchable)."""
    from elasticsearch import NotFoundError

    from processors.rules import Alert
    from streams.clients.elastic import make_client

    es = make_client(settings)
    index = settings.alerts_index_name
    last, stable_since, started = -1, time.monotonic(), time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            es.indices.refresh(index=index)
            count = int(es.count(index=index)["count"])
            if count != last:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since >= settle:
                break
            time.sleep(0.5)
        hits = es.search(index=index, size=10, sort=[{"fired_at": "desc"}])["hits"]["hits"]
    except NotFoundError:
        hits = []
    console.print(f"\n{last if last >= 0 else 0} alert(s) in {index!r}; newest first:")
    for hit in hits:
        _print_alert(Alert.model_validate(hit["_source"]))
