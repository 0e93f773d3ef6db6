"""What every command module shares: settings loading, consoles, the error exit."""

from __future__ import annotations

import typer
from rich.console import Console

from streams.settings import Settings, get_settings

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    from streams.logs import configure

    settings = get_settings()
    configure(json=settings.log_json, level=settings.log_level)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)
