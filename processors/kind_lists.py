"""The reviewed lists of `data/kinds.yaml` (what kind of thing a name is), loaded once.

Read by `processors.kinds` (entity kinds) and `processors.orgs` (legal forms).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from processors.gazetteer import alias_key, read_data


@dataclass(frozen=True, slots=True)
class Kinds:
    """The reviewed lists of `data/kinds.yaml`, as lookup keys."""

    drop: frozenset[str]
    misc: frozenset[str]
    groups: frozenset[str]
    org_heads: frozenset[str]
    legal_forms: frozenset[str]
    generic_orgs: frozenset[str]
    sport_words: frozenset[str]
    team_before: frozenset[str]
    team_after: frozenset[str]
    role_words: frozenset[str] = frozenset()
    work_before: frozenset[str] = frozenset()
    act_after: frozenset[str] = frozenset()
    event_heads: frozenset[str] = frozenset()
    event_leads: frozenset[str] = frozenset()
    venue_heads: frozenset[str] = frozenset()
    org_nouns: frozenset[str] = frozenset()
    post_nominals: frozenset[str] = frozenset()


def _keys(values: Iterable[Any]) -> frozenset[str]:
    out: set[str] = set()
    for v in values:
        if isinstance(v, list):
            out |= _keys(v)
        else:
            out.add(alias_key(str(v)))
    return frozenset(out)


@lru_cache(maxsize=1)
def load_kinds() -> Kinds:
    d = read_data("kinds.yaml")

    def words(name: str) -> frozenset[str]:
        return frozenset(str(w) for w in d.get(name, []))

    def folded(name: str) -> frozenset[str]:
        return frozenset(w.casefold() for w in words(name))

    return Kinds(
        drop=_keys(d.get("drop", [])),
        misc=_keys(d.get("misc", [])),
        groups=_keys(d.get("groups", [])),
        org_heads=words("org_heads"),
        legal_forms=words("legal_forms"),
        generic_orgs=_keys(d.get("generic_orgs", [])),
        sport_words=folded("sport_words"),
        team_before=folded("team_before"),
        team_after=folded("team_after"),
        role_words=words("role_words"),
        work_before=folded("work_before"),
        act_after=folded("act_after"),
        event_heads=words("event_heads"),
        event_leads=words("event_leads"),
        venue_heads=words("venue_heads"),
        org_nouns=folded("org_nouns"),
        post_nominals=words("post_nominals"),
    )
