"""Reading alert rule files: one file, or every `.yaml`/`.yml` file of a folder.

The parsing and validation are pure (`processors.rules`); this only lists and reads files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from processors.rules import Rule, RuleError, rule_from_text, rules_from_texts

RULE_SUFFIXES = frozenset({".yaml", ".yml"})


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a folder, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(str(path), f"cannot read: {exc}") from exc


def load_rule_file(path: Path, known_fields: Iterable[str] | None = None) -> Rule:
    """Read, parse and validate one rule file (and its fields, if `known_fields` is given)."""
    return rule_from_text(_read(path), source=str(path), known_fields=known_fields)


def load_rules_dir(
    directory: Path, known_fields: Iterable[str] | None = None
) -> tuple[list[Rule], list[RuleError]]:
    """Every rule of a folder: the valid ones, and an error for each file that is not
    (in file name order, whether it could not be read or is not a valid rule)."""
    paths = rule_files(directory)
    texts: dict[str, str] = {}
    unreadable: list[RuleError] = []
    for path in paths:
        try:
            texts[str(path)] = _read(path)
        except RuleError as exc:
            unreadable.append(exc)
    rules, errors = rules_from_texts(texts, known_fields)
    order = {str(p): i for i, p in enumerate(paths)}
    return rules, sorted([*unreadable, *errors], key=lambda e: order[e.source])
