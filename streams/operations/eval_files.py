"""Reading the evaluation sets: CoNLL-2003 files (plain or .gz) and labelled event files.

The parsing is pure (`processors.evaluation`); this only opens the files.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from processors.evaluation import ConllDoc, EventRecord, parse_conll, parse_event_set


def read_conll(path: str | Path) -> list[ConllDoc]:
    """Documents of a CoNLL-2003 file (plain or .gz), split at `-DOCSTART-` lines."""
    p = Path(path)
    if p.suffix == ".gz":
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            return parse_conll(fh)
    with p.open(encoding="utf-8") as fh:
        return parse_conll(fh)


def read_event_set(path: str | Path) -> list[EventRecord]:
    """Records `{"text": ..., "events": [{"type", "source", "target"}]}` of a JSON Lines file."""
    with open(path, encoding="utf-8") as fh:
        return parse_event_set(fh, source=str(path))
