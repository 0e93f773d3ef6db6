"""The rule schema: `Rule`, its `RuleQuery`, and the validation of their values.

A rule is a reviewed YAML file (the packaged defaults are in `streams/resources/alerts/`);
its id is the file name without `.yaml`
(see the package docstring for the two forms of `query`). Pure.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from processors.errors import WirewatchError

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
    """One alert rule, as reviewed in a rules folder (`<id>.yaml`)."""

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
