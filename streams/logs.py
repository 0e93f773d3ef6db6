"""structlog set-up: key-value lines for people, JSON lines in production."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter

import structlog


def configure(*, json: bool = False, level: str = "INFO") -> None:
    """Configure structlog and the standard logging it shares with Faust and the clients."""
    lvl = logging.getLevelName(level.upper())
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso" if json else "%H:%M:%S"),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*processors, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl if isinstance(lvl, int) else 20),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=lvl if isinstance(lvl, int) else logging.INFO, stream=sys.stderr)
    # The clients are chatty at INFO; their warnings still show.
    for name in ("kafka", "aiokafka", "elastic_transport", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


AUDIT_DELIVERY = "index.delivery"
"""The event of the index agent's delivery audit line (`WIREWATCH_AUDIT_DELIVERIES`)."""


def delivery_counts(log_text: str) -> Counter[str]:
    """How many times the index agent wrote each article id, from JSON worker logs."""
    counts: Counter[str] = Counter()
    for line in log_text.splitlines():
        if line.startswith("{") and f'"{AUDIT_DELIVERY}"' in line:
            counts.update(json.loads(line)["ids"])
    return counts


RETRY = "retry"
"""The event of every retry of the one retry loop (`streams.core.retry`), with its stage."""


def retries(log_text: str, stage: str) -> int:
    """How many retries a stage logged, from JSON worker logs."""
    count = 0
    for line in log_text.splitlines():
        if line.startswith("{") and f'"{RETRY}"' in line:
            entry = json.loads(line)
            count += entry.get("event") == RETRY and entry.get("stage") == stage
    return count
