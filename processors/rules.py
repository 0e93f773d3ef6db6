"""Alert rules: the rule file schema, validation, translation into Elasticsearch query DSL,
candidate pre-selection, and the explanation of why an article matched.

A rule is a reviewed YAML file in a rules folder (`WIREWATCH_RULES_DIR`; the default rules ship
in `streams/resources/alerts/`); its id is the file name without `.yaml`.
Its `query` is either the simple form over canonical fields:

    query:
      countries: [KP]           # ISO 3166-1 alpha-2; any of them
      event_types: [SANCTION]   # PLOVER-aligned types of processors/data/events.yaml
      text: sanctions           # optional full text (simple_query_string, all words)

or raw Elasticsearch query DSL under `dsl:`. Fields of the simple form are ANDed; the values
inside one field are alternatives (any of them). Whether an article matches is always decided
by Elasticsearch running the rule's query; `required_terms` only skips rules that cannot
match an article (the same candidate selection the percolator does with query terms).

Pure: no Elasticsearch, no Kafka. `streams/alerts.py` does the I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from processors.errors import WirewatchError
from processors.models import EnrichedArticle

HIGHLIGHT_PRE = "«"
HIGHLIGHT_POST = "»"
TEXT_FIELDS = ["title^3", "body"]
MAX_SNIPPETS = 5
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FORBIDDEN_QUERY_KEYS = frozenset({"script", "script_score", "percolate", "wrapper"})
"""Scripts run code on the cluster, `wrapper` hides a query from review, `percolate` needs the
module this product does not rely on."""

Severity = Literal["info", "low", "medium", "high", "critical"]
Channel = Literal["kafka", "elasticsearch", "webhook"]
ALWAYS_CHANNELS: tuple[Channel, ...] = ("kafka", "elasticsearch")
"""Every alert goes to the alerts topic and the alerts index: they are its durable record
(and the index is what makes it fire once per story)."""


class RuleError(WirewatchError):
    """A rule file that cannot be loaded; the message names the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


@lru_cache(maxsize=1)
def known_event_types() -> frozenset[str]:
    """Event types the enrichment can produce (the taxonomy in `events.yaml`)."""
    text = resources.files("processors").joinpath("data/events.yaml").read_text("utf-8")
    return frozenset(yaml.safe_load(text)["types"])


def _country(code: str) -> str:
    code = code.strip().upper()
    if code != "XK" and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _nonempty(values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = v.strip()
        if not v:
            raise ValueError("empty value")
        if v not in out:
            out.append(v)
    return out


class RuleQuery(BaseModel):
    """What a rule looks for: the simple form over canonical fields, or `dsl`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    countries: list[str] = Field(default_factory=list)
    """ISO 3166-1 alpha-2 codes the article names (any of them)."""
    event_types: list[str] = Field(default_factory=list)
    """Event types the article reports (any of them), e.g. SANCTION, NUCLEAR_TEST."""
    event_targets: list[str] = Field(default_factory=list)
    """Actors an event (of `event_types`, if given) is done *to*: country codes or entity ids,
    checked within one event ("sanctions against KP")."""
    entities: list[str] = Field(default_factory=list)
    """Canonical entity ids, e.g. "person:fumio-kishida", "org:united-nations"."""
    persons: list[str] = Field(default_factory=list)
    """Canonical person names (exact)."""
    organizations: list[str] = Field(default_factory=list)
    """Canonical organisation names (exact)."""
    sources: list[str] = Field(default_factory=list)
    """Publishers (case-insensitive)."""
    text: str | None = None
    """Full-text terms over title and body (simple_query_string; all words must occur)."""
    dsl: dict[str, Any] | None = None
    """Raw Elasticsearch query DSL, instead of the fields above."""

    @field_validator("countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        return _nonempty([_country(c) for c in v])

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, v: list[str]) -> list[str]:
        out = _nonempty([t.upper() for t in v])
        unknown = [t for t in out if t not in known_event_types()]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(known_event_types()))
            )
        return out

    @field_validator("event_targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        return _nonempty([t if ":" in t else _country(t) for t in v])

    @field_validator("entities")
    @classmethod
    def _entities(cls, v: list[str]) -> list[str]:
        out = _nonempty(v)
        bad = [e for e in out if ":" not in e]
        if bad:
            raise ValueError(f"entity ids look like 'person:fumio-kishida', not {bad[0]!r}")
        return out

    @field_validator("persons", "organizations", "sources")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        return _nonempty(v)

    @field_validator("text")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("text is empty")
        return v.strip() if v else v

    @field_validator("dsl")
    @classmethod
    def _dsl(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        if len(v) != 1:
            raise ValueError(
                "dsl must be one query object with one top-level key (e.g. `bool:`), "
                f"got {len(v)} keys"
            )
        for path, key in _walk_keys(v):
            if key in FORBIDDEN_QUERY_KEYS:
                raise ValueError(f"`{key}` is not allowed in a rule (at {path or 'top'})")
        try:
            json.dumps(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"dsl is not JSON: {exc}") from exc
        return v

    @model_validator(mode="after")
    def _one_form(self) -> RuleQuery:
        simple = self.simple_fields()
        if self.dsl is not None and simple:
            raise ValueError(
                f"use either `dsl` or the simple fields, not both (found {', '.join(simple)})"
            )
        if self.dsl is None and not simple:
            raise ValueError(
                "the query is empty: give at least one of countries, event_types, "
                "event_targets, entities, persons, organizations, sources, text, or dsl"
            )
        return self

    def simple_fields(self) -> list[str]:
        names = [
            "countries",
            "event_types",
            "event_targets",
            "entities",
            "persons",
            "organizations",
            "sources",
            "text",
        ]
        return [n for n in names if getattr(self, n)]

    @property
    def form(self) -> Literal["simple", "dsl"]:
        return "dsl" if self.dsl is not None else "simple"


class Rule(BaseModel):
    """One alert rule, as reviewed in `<rules folder>/<id>.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """The file name without `.yaml`: lower-case letters, digits, `-`, `_`."""
    name: str = Field(min_length=1, max_length=200)
    """Human name shown in alerts and in Kibana."""
    description: str = Field(min_length=1)
    severity: Severity = "medium"
    channels: list[Channel] = Field(default_factory=lambda: list(ALWAYS_CHANNELS))
    """Where alerts go; the topic and the index always, `webhook` if listed."""
    enabled: bool = True
    query: RuleQuery

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError(
                f"rule id {v!r} (the file name) must be lower-case letters, digits, - or _"
            )
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: list[Channel]) -> list[Channel]:
        out: list[Channel] = list(ALWAYS_CHANNELS)
        out += [c for c in v if c not in out]
        return out

    @property
    def webhook(self) -> bool:
        return "webhook" in self.channels

    def digest(self) -> str:
        """Content hash: changes whenever the rule's meaning changes."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _walk_keys(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield path, str(k)
            yield from _walk_keys(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_keys(v, f"{path}[{i}]")


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


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_rule_file(path: Path, known_fields: Iterable[str] | None = None) -> Rule:
    """Read, parse and validate one rule file (and its fields, if `known_fields` is given)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(str(path), f"cannot read: {exc}") from exc
    rule = parse_rule(text, source=str(path), rule_id=path.stem)
    if known_fields is not None:
        unknown = unknown_fields(to_es_query(rule), set(known_fields))
        if unknown:
            raise RuleError(
                str(path),
                f"query uses field(s) the articles index does not have: {', '.join(unknown)}",
            )
    return rule


def load_rules_dir(
    directory: Path, known_fields: Iterable[str] | None = None
) -> tuple[list[Rule], list[RuleError]]:
    """Every rule of a folder: the valid ones, and an error for each file that is not."""
    fields = set(known_fields) if known_fields is not None else None
    rules: list[Rule] = []
    errors: list[RuleError] = []
    for path in rule_files(directory):
        try:
            rules.append(load_rule_file(path, fields))
        except RuleError as exc:
            errors.append(exc)
    return rules, errors


# ---------------------------------------------------------------------- translation


def to_es_query(rule: Rule | RuleQuery) -> dict[str, Any]:
    """The rule's Elasticsearch query. Simple-form clauses are named (`_name`) so a hit's
    `matched_queries` says which held."""
    q = rule.query if isinstance(rule, Rule) else rule
    if q.dsl is not None:
        return q.dsl
    filters: list[dict[str, Any]] = []

    def terms(field_name: str, values: list[str], name: str) -> None:
        if values:
            filters.append({"terms": {field_name: values, "_name": name}})

    terms("countries", q.countries, "countries")
    terms("event_types", q.event_types, "event_types")
    terms("entity_ids", q.entities, "entities")
    terms("persons", q.persons, "persons")
    terms("organizations", q.organizations, "organizations")
    terms("source", q.sources, "sources")
    if q.event_targets:
        inner: list[dict[str, Any]] = [{"terms": {"events.target": q.event_targets}}]
        if q.event_types:
            inner.append({"terms": {"events.type": q.event_types}})
        filters.append(
            {
                "nested": {
                    "path": "events",
                    "query": {"bool": {"filter": inner}},
                    "_name": "event_targets",
                }
            }
        )
    body: dict[str, Any] = {"filter": filters}
    if q.text:
        body["must"] = [
            {
                "simple_query_string": {
                    "query": q.text,
                    "fields": TEXT_FIELDS,
                    "default_operator": "and",
                    "_name": "text",
                }
            }
        ]
    return {"bool": body}


def match_request(query: Mapping[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """Search body that runs a rule's query on these documents only, with highlights."""
    return {
        "query": {"bool": {"filter": [{"ids": {"values": list(ids)}}], "must": [query]}},
        "size": len(ids),
        "_source": False,
        "track_total_hits": False,
        "highlight": {
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
            "require_field_match": False,
            "fields": {
                "title": {"number_of_fragments": 0},
                "body": {"fragment_size": 180, "number_of_fragments": 3},
            },
        },
    }


_LEAF_QUERIES = frozenset(
    {
        "term",
        "terms",
        "match",
        "match_phrase",
        "match_phrase_prefix",
        "match_bool_prefix",
        "prefix",
        "wildcard",
        "regexp",
        "fuzzy",
        "range",
        "terms_set",
        "intervals",
    }
)
_FIELD_LIST_QUERIES = frozenset(
    {"multi_match", "simple_query_string", "query_string", "combined_fields"}
)
_LEAF_PARAMS = frozenset({"boost", "_name", "case_insensitive"})
_META_FIELDS = frozenset({"_id", "_index", "_source"})


def referenced_fields(query: Any) -> set[str]:
    """Field names a query DSL refers to (leaf queries, field lists, nested paths, exists)."""
    found: set[str] = set()
    if isinstance(query, list):
        for item in query:
            found |= referenced_fields(item)
        return found
    if not isinstance(query, Mapping):
        return found
    for key, body in query.items():
        if key in _LEAF_QUERIES and isinstance(body, Mapping):
            found |= {str(k) for k in body if k not in _LEAF_PARAMS}
        elif key in _FIELD_LIST_QUERIES and isinstance(body, Mapping):
            for f in body.get("fields", []) or []:
                found.add(str(f).split("^", 1)[0])
            if "default_field" in body:
                found.add(str(body["default_field"]).split("^", 1)[0])
        elif key == "exists" and isinstance(body, Mapping) and "field" in body:
            found.add(str(body["field"]))
        elif key == "nested" and isinstance(body, Mapping):
            found.add(str(body.get("path")))
            found |= referenced_fields(body.get("query"))
        elif isinstance(body, Mapping | list):
            found |= referenced_fields(body)
    return found


def mapping_fields(mappings: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every field path of an index mapping (objects, nested, multi-fields)."""
    out: set[str] = set()
    for name, spec in (mappings.get("properties") or {}).items():
        path = f"{prefix}{name}"
        out.add(path)
        out |= mapping_fields(spec, f"{path}.")
        for sub in spec.get("fields") or {}:
            out.add(f"{path}.{sub}")
    return out


def unknown_fields(query: Any, known: set[str]) -> list[str]:
    """Fields the query names that the mapping lacks (a typo matches nothing, silently)."""
    return sorted(
        f
        for f in referenced_fields(query)
        if f not in known and f not in _META_FIELDS and "*" not in f
    )


# ---------------------------------------------------------------------- candidates

_RECORD_TERM_FIELDS = (
    "countries",
    "event_types",
    "entity_ids",
    "persons",
    "organizations",
    "event_actors",
    "language",
    "story_id",
)
"""Flat keyword fields without a normaliser: an exact set test in Python equals the term
test in Elasticsearch, so a rule requiring one of them can be skipped safely."""


def record_terms(record: EnrichedArticle) -> dict[str, set[str]]:
    """The article's values of the fields candidate selection looks at."""
    terms: dict[str, set[str]] = {}
    for name in _RECORD_TERM_FIELDS:
        value = getattr(record, name)
        if isinstance(value, list):
            terms[name] = {str(v) for v in value}
        else:
            terms[name] = {str(value)} if value is not None else set()
    terms["events.target"] = {e.target for e in record.events if e.target}
    return terms


Requirement = tuple[str, frozenset[str]]
"""A necessary condition: the article's `field` must hold one of these values."""


def _required_from_clause(clause: Any) -> Requirement | None:
    """What a single required clause needs (only plain term/terms on exact fields)."""
    if not isinstance(clause, Mapping) or len(clause) != 1:
        return None
    ((kind, body),) = clause.items()
    if kind not in {"term", "terms"} or not isinstance(body, Mapping):
        return None
    params = {k: v for k, v in body.items() if k not in {"_name", "boost"}}
    if len(params) != 1:
        return None
    ((fname, value),) = params.items()
    if fname not in _RECORD_TERM_FIELDS:
        return None
    if kind == "terms":
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return fname, frozenset(value)
        return None  # a terms lookup or odd values: cannot tell
    if isinstance(value, Mapping):
        if value.get("case_insensitive"):
            return None
        value = value.get("value")
    return (fname, frozenset({value})) if isinstance(value, str) else None


def required_terms(query: Mapping[str, Any]) -> list[Requirement]:
    """Necessary conditions of a query, each (field, values of which the article needs one).

    Conservative: only the top-level `bool`'s `filter` and `must` clauses that are plain
    `term`/`terms` queries on exact keyword fields count (a `terms` lookup, a
    `case_insensitive` term or anything under `should`/`must_not` is ignored). An empty list
    means every article is a candidate.
    """
    if set(query) == {"bool"} and isinstance(query["bool"], Mapping):
        required: list[Requirement] = []
        for section in ("filter", "must"):
            clauses = query["bool"].get(section) or []
            if isinstance(clauses, Mapping):
                clauses = [clauses]
            for clause in clauses:
                req = _required_from_clause(clause)
                if req is not None:
                    required.append(req)
        return required
    req = _required_from_clause(query)
    return [req] if req is not None else []


def is_candidate(required: Sequence[Requirement], terms: Mapping[str, set[str]]) -> bool:
    """Whether an article with these terms can match a rule with these requirements."""
    return all(terms.get(fname, set()) & values for fname, values in required)


# ---------------------------------------------------------------------- explanation


@dataclass(frozen=True)
class Explanation:
    """Why an article matched a rule, in the words of the article's canonical fields."""

    countries: list[str] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    matched_entities: list[str] = field(default_factory=list)
    """Canonical names of the entities that made it match."""
    matched_entity_ids: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    """Highlighted passages: Elasticsearch's highlights, then the evidence of the events."""
    reason: str = ""


def _leaves(node: Any) -> set[str]:
    if isinstance(node, Mapping):
        return set().union(*(_leaves(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_leaves(v) for v in node)) if node else set()
    return {node} if isinstance(node, str) else set()


def _mark(text: str, start: int, end: int) -> str:
    return text[:start] + HIGHLIGHT_PRE + text[start:end] + HIGHLIGHT_POST + text[end:]


def _evidence(record: EnrichedArticle, types: set[str], targets: set[str]) -> list[str]:
    out = []
    for ev in record.events:
        if ev.type not in types or (targets and ev.target not in targets) or not ev.evidence:
            continue
        snippet = ev.evidence
        if ev.trigger:
            m = re.search(rf"\b{re.escape(ev.trigger)}\w*", snippet, flags=re.IGNORECASE)
            if m:
                snippet = _mark(snippet, m.start(), m.end())
        if len(snippet) > 300:
            cut = snippet.find(HIGHLIGHT_PRE)
            lo = max(0, cut - 120) if cut >= 0 else 0
            snippet = ("…" if lo else "") + snippet[lo : lo + 300] + "…"
        if snippet not in out:
            out.append(snippet)
    return out


def explain(
    rule: Rule,
    record: EnrichedArticle,
    highlight: Mapping[str, Sequence[str]] | None = None,
    matched_queries: Sequence[str] = (),
) -> Explanation:
    """Why `record` matched `rule`, given the highlights and named clauses Elasticsearch
    returned for the hit."""
    q = rule.query
    if q.dsl is not None:
        leaves = _leaves(q.dsl)
        countries = [c for c in record.countries if c in leaves]
        event_types = [t for t in record.event_types if t in leaves]
        targets: set[str] = set()
        wanted_ids = leaves
        wanted_names = leaves
    else:
        targets = set(q.event_targets)
        countries = [c for c in record.countries if c in q.countries]
        event_types = [t for t in record.event_types if t in q.event_types]
        if targets and not event_types:
            event_types = sorted({e.type for e in record.events if e.target in targets})
        wanted_ids = set(q.entities) | targets
        wanted_names = set(q.persons) | set(q.organizations)
    matched_countries = set(countries) | {t for t in targets if ":" not in t}
    entities = [
        e
        for e in record.entities
        if e.id in wanted_ids
        or e.canonical in wanted_names
        or (e.country is not None and e.country in matched_countries)
    ]
    names = list(dict.fromkeys(e.canonical for e in entities))
    ids = list(dict.fromkeys(e.id for e in entities))

    snippets: list[str] = []
    hl = highlight or {}
    for fname in ("title", "body"):
        for frag in hl.get(fname, []):
            if frag not in snippets:
                snippets.append(frag)
    for snip in _evidence(record, set(event_types), targets):
        if snip not in snippets:
            snippets.append(snip)
    snippets = snippets[:MAX_SNIPPETS]

    parts: list[str] = []
    if countries:
        named_as = {
            c: list(dict.fromkeys(e.canonical for e in entities if e.country == c))
            for c in countries
        }
        parts.append(
            "names "
            + ", ".join(
                f"{c} ({', '.join(named_as[c][:4])})" if named_as[c] else c for c in countries
            )
        )
    if event_types:
        triggers = {
            t: sorted({e.trigger for e in record.events if e.type == t and e.trigger})
            for t in event_types
        }
        parts.append(
            "reports "
            + ", ".join(
                f"{t} ({', '.join(repr(x) for x in triggers[t][:3])})" if triggers[t] else t
                for t in event_types
            )
        )
    if targets:
        parts.append("against " + ", ".join(sorted(targets)))
    other = [n for n in names if not any(e.canonical == n and e.country for e in entities)]
    if other:
        parts.append("mentions " + ", ".join(other[:5]))
    if q.text:
        parts.append(f"contains {q.text!r}")
    named = [m for m in matched_queries if m not in {"countries", "event_types", "text"}]
    if q.dsl is not None and named:
        parts.append("clauses " + ", ".join(named))
    reason = f"{rule.name}: " + ("; ".join(parts) if parts else "the rule's query matched")
    return Explanation(
        countries=countries,
        event_types=event_types,
        matched_entities=names,
        matched_entity_ids=ids,
        snippets=snippets,
        reason=reason,
    )


# ---------------------------------------------------------------------- alerts

Delivery = Literal["not_requested", "pending", "delivered", "failed"]


class Alert(BaseModel):
    """One fired alert: the record on the alerts topic and the document in the alerts index."""

    model_config = ConfigDict(frozen=True)

    id: str
    """`<rule>/<story_id>`: one alert per rule and story."""
    rule: str
    rule_name: str
    severity: Severity
    article_id: str
    title: str
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    ingested_at: datetime | None = None
    fired_at: datetime
    story_id: str
    countries: list[str] = Field(default_factory=list)
    event_types: list[str] = Field(default_factory=list)
    matched_entities: list[str] = Field(default_factory=list)
    matched_entity_ids: list[str] = Field(default_factory=list)
    snippets: list[str] = Field(default_factory=list)
    reason: str
    channels: list[Channel] = Field(default_factory=list)
    delivered: bool
    """Delivered to every channel the rule lists (false while a webhook is pending or failed)."""
    delivery: Delivery
    """Webhook state: not_requested, pending, delivered, failed."""
    delivery_attempts: int = 0
    delivery_error: str | None = None
    delivered_at: datetime | None = None
    origin: str | None = None
    """`topic/partition/offset` of the indexed record that fired it: tells a redelivery of
    that record (send the stored alert again) from a later copy of the article (do not)."""

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def story_of(record: EnrichedArticle) -> str:
    """The story an article belongs to (an article without one is its own story)."""
    return record.story_id or f"article-{record.id}"


def alert_id(rule_id: str, story_id: str) -> str:
    return f"{rule_id}/{story_id}"


def make_alert(
    rule: Rule,
    record: EnrichedArticle,
    why: Explanation,
    *,
    fired_at: datetime,
    webhook: bool,
    origin: str | None = None,
) -> Alert:
    """The alert for `record` matching `rule`; `webhook` says whether one will be attempted."""
    story = story_of(record)
    pending = rule.webhook and webhook
    return Alert(
        id=alert_id(rule.id, story),
        rule=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        article_id=record.id,
        title=record.title,
        url=record.url,
        source=record.source,
        published_at=record.published_at,
        ingested_at=record.ingested_at,
        fired_at=fired_at,
        story_id=story,
        countries=why.countries,
        event_types=why.event_types,
        matched_entities=why.matched_entities,
        matched_entity_ids=why.matched_entity_ids,
        snippets=why.snippets,
        reason=why.reason,
        channels=rule.channels,
        delivered=not rule.webhook,
        delivery="pending" if pending else ("failed" if rule.webhook else "not_requested"),
        delivery_error=None if pending or not rule.webhook else "no webhook URL is configured",
        origin=origin,
    )


# ---------------------------------------------------------------------- rules index and Kibana


def rule_document(rule: Rule, *, source_file: str, synced_at: datetime) -> dict[str, Any]:
    """The rule as stored in the rules index: listable fields, plus the definition and the
    translated query as non-indexed objects."""
    return {
        "id": rule.id,
        "name": rule.name,
        "description": rule.description,
        "severity": rule.severity,
        "channels": rule.channels,
        "enabled": rule.enabled,
        "form": rule.query.form,
        "source_file": source_file,
        "digest": rule.digest(),
        "synced_at": synced_at.isoformat(),
        "definition": rule.model_dump(mode="json"),
        "query": to_es_query(rule),
    }


def rule_from_document(doc: Mapping[str, Any]) -> Rule:
    """Rebuild a rule from its rules-index document (validated again)."""
    return Rule.model_validate(doc["definition"])


def kibana_rule(rule: Rule, *, index: str, time_field: str = "ingested_at") -> dict[str, Any]:
    """A Kibana "Elasticsearch query" rule (`.es-query`) equivalent of `rule`, for the
    Kibana alerting API (`POST kbn:/api/alerting/rule`). It polls every minute over the last
    five minutes and skips hits it reported before; it has no notion of stories."""
    return {
        "name": rule.name,
        "rule_type_id": ".es-query",
        "consumer": "stackAlerts",
        "schedule": {"interval": "1m"},
        "tags": ["wirewatch", f"wirewatch-rule:{rule.id}", rule.severity],
        "params": {
            "searchType": "esQuery",
            "index": [index],
            "timeField": time_field,
            "esQuery": json.dumps({"query": to_es_query(rule)}, indent=2),
            "size": 100,
            "threshold": [0],
            "thresholdComparator": ">",
            "timeWindowSize": 5,
            "timeWindowUnit": "m",
            "excludeHitsFromPreviousRun": True,
            "aggType": "count",
            "groupBy": "all",
        },
        "actions": [],
    }
