"""From a rule file's text to a validated `Rule`, with messages that name the file.

Pure: callers pass the text (`streams/operations/rule_files.py` reads the folder). `source` is the
file's name as shown in messages; the rule id is that name's stem (`<id>.yaml`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath

import yaml
from pydantic import ValidationError

from processors.rules.query import to_es_query, unknown_fields
from processors.rules.schema import Rule, RuleError


def _format_validation(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "rule"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        problems.append(f"{where}: {msg}")
    return "; ".join(problems)


def parse_rule(text: str, *, source: str, rule_id: str) -> Rule:
    """Parse and validate one rule file's text; `RuleError` names the file and the problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleError(source, f"not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise RuleError(source, "expected a mapping with name, description, query, ...")
    if "id" in data and data["id"] != rule_id:
        raise RuleError(source, f"id {data['id']!r} differs from the file name {rule_id!r}")
    try:
        return Rule.model_validate({**data, "id": rule_id})
    except ValidationError as exc:
        raise RuleError(source, _format_validation(exc)) from exc


def rule_id_of(source: str) -> str:
    """The rule id of a rule file: its name without the `.yaml` (or `.yml`) suffix."""
    return PurePath(source).stem


def check_fields(rule: Rule, known_fields: Iterable[str], *, source: str) -> Rule:
    """`rule`, if every field its query names is one of `known_fields` (the articles index's
    mapping); a `RuleError` naming the unknown ones otherwise."""
    unknown = unknown_fields(to_es_query(rule), set(known_fields))
    if unknown:
        raise RuleError(
            source,
            f"query uses field(s) the articles index does not have: {', '.join(unknown)}",
        )
    return rule


def rule_from_text(text: str, *, source: str, known_fields: Iterable[str] | None = None) -> Rule:
    """Parse and validate one rule file's text (and its fields, if `known_fields` is given)."""
    rule = parse_rule(text, source=source, rule_id=rule_id_of(source))
    return rule if known_fields is None else check_fields(rule, known_fields, source=source)


def rules_from_texts(
    texts: Mapping[str, str], known_fields: Iterable[str] | None = None
) -> tuple[list[Rule], list[RuleError]]:
    """Rules of `{source: text}`, in that order: the valid ones, and an error for each that
    is not."""
    fields = set(known_fields) if known_fields is not None else None
    rules: list[Rule] = []
    errors: list[RuleError] = []
    for source, text in texts.items():
        try:
            rules.append(rule_from_text(text, source=source, known_fields=fields))
        except RuleError as exc:
            errors.append(exc)
    return rules, errors
