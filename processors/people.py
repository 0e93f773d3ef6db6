"""One value per person across articles: a lone surname becomes the full name it stands for.

- `load_seed()`: a reviewed list of very prominent public figures (`data/people.yaml`), so
  "Trump" is "Donald Trump" even before any article named him in full.
- `NameRegistry`: full names seen in recent enriched records (`observe`), used to turn a
  record's one-word person names into full names (`resolve`) when exactly one known full
  name ends with that surname; an ambiguous surname is kept as it is. Its size is bounded
  (least recently seen names go first) and its state is a plain `dict[str, int]`, so it can
  live in a changelog table of the one-partition story stage.

Pure: no I/O but reading the packaged seed file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from processors.gazetteer import alias_key, read_data, read_package_text, slug
from processors.models import EnrichedArticle, Entity

MAX_NAMES: Final = 20_000
"""Full names a registry remembers by default (a few weeks of wire copy)."""
_SUFFIXES: Final = frozenset({"jr", "sr", "ii", "iii", "iv", "xiv", "xvi"})
_ARTICLES: Final = frozenset({"The", "A", "An"})


@dataclass(frozen=True, slots=True)
class Seed:
    """The reviewed seed of prominent people."""

    version: str
    names: tuple[str, ...]
    common: frozenset[str]
    """Surname keys that stand for a seed person only after an office title."""
    family_first: frozenset[str]
    """Seed names (as written) whose family name is the first word."""
    mononyms: frozenset[str]
    """Keys of people known by one name ("Sting", "Pelé"): a facet value as they are."""
    spellings: Mapping[str, str]
    """Key of another spelling, full or short ("Zelensky", "Assad", "Lula") -> seed name."""
    short_forms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Given name -> its other forms, both ways ("Charles" -> "Chuck", "Charlie")."""


@lru_cache(maxsize=1)
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) of the US Census 1990 name lists the `names` package ships
    (5,494 given names, 88,799 surnames; upper case), less the reviewed `not_given_names`
    of people.yaml ("Royal", "Golden")."""

    def read(*parts: str) -> frozenset[str]:
        return frozenset(
            line.split()[0]
            for part in parts
            for line in read_package_text("names", part).splitlines()
            if line.strip()
        )

    not_given = {
        alias_key(str(n)).upper() for n in read_data("people.yaml").get("not_given_names", [])
    }
    return read("dist.male.first", "dist.female.first") - not_given, read("dist.all.last")


def census_person(words: list[str]) -> bool:
    """Whether a name of two or three words opens with a census given name and ends with a
    census surname ("Geoffrey Pollard", "Lucious Harris"; not "Virginia Tech")."""
    given, surnames = census_names()
    last = words[-1].split("-")[-1]
    return 2 <= len(words) <= 3 and words[0].upper() in given and last.upper() in surnames


@lru_cache(maxsize=1)
def load_seed() -> Seed:
    data = read_data("people.yaml")
    return Seed(
        version=str(data.get("version", "0")),
        names=tuple(str(n) for n in data.get("people", [])),
        common=frozenset(alias_key(str(n)) for n in data.get("common_surnames", [])),
        family_first=frozenset(str(n) for n in data.get("family_name_first", [])),
        mononyms=frozenset(alias_key(str(n)) for n in data.get("mononyms", [])),
        spellings={
            alias_key(str(other)): str(name)
            for name, others in (data.get("spellings") or {}).items()
            for other in others
        },
        short_forms=_both_ways(data.get("short_forms") or {}),
    )


def _both_ways(forms: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Given name -> the other forms of it, from "formal: [short, ...]" lines."""
    out: dict[str, set[str]] = {}
    for formal, shorts in forms.items():
        group = {str(formal), *map(str, shorts)}
        for name in group:
            out.setdefault(name, set()).update(group - {name})
    return {k: tuple(sorted(v)) for k, v in out.items()}


def is_full_name(name: str) -> bool:
    """Two or more words, the first capitalised, the last with a capital ("Kim Jong-un",
    "Bashar al-Assad"); not "ex Yukos" or "Trump"."""
    words = name.split()
    return len(words) >= 2 and words[0][:1].isupper() and any(c.isupper() for c in words[-1])


def facet_person(name: str) -> bool:
    """Whether a person's canonical name is a `persons` facet value: a full name, or one of
    the people known by one name (`mononyms` in the seed). A lone surname nobody resolved
    ("Brown" with no Brown named in full) names no one an analyst can filter on; it stays
    in `entities` (and in full text), and the story stage may still resolve it. A name that
    opens with an article is a title's ("The Da Vinci Code"), unless a listed stage name."""
    if alias_key(name) in load_seed().mononyms:
        return True
    return is_full_name(name) and name.split()[0] not in _ARTICLES  # "The Da Vinci Code"


def surname_key(name: str, family_first: bool = False) -> str:
    """The key a lone surname of `name` would have: "Donald Trump" -> "trump",
    "Ferdinand Marcos Jr." -> "marcos", "Xi Jinping" (family name first) -> "xi"."""
    words = [w for w in name.split() if alias_key(w) not in _SUFFIXES]
    if not words:
        return ""
    return alias_key(words[0] if family_first else words[-1])


@lru_cache(maxsize=1)
def _seed_index() -> dict[str, tuple[str, ...]]:
    seed = load_seed()
    index: dict[str, list[str]] = {}
    for name in seed.names:
        index.setdefault(surname_key(name, name in seed.family_first), []).append(name)
    return {k: tuple(v) for k, v in index.items()}


@lru_cache(maxsize=1)
def _seed_full_names() -> dict[str, str]:
    seed = load_seed()
    return {**seed.spellings, **{alias_key(name): name for name in seed.names}}


def seed_person(name: str) -> str | None:
    """The seed's spelling of a seed person's name written in full another way ("Kim Jong
    Un" -> "Kim Jong-un", "Recep Tayyip Erdogan" -> "Recep Tayyip Erdoğan"), else None."""
    known = _seed_full_names().get(alias_key(name))
    if known is not None:
        return known
    first, _, rest = name.partition(" ")
    for other in load_seed().short_forms.get(first, ()):  # "Charles Schumer" -> "Chuck ..."
        known = _seed_full_names().get(alias_key(f"{other} {rest}"))
        if known is not None:
            return known
    return None


def seed_full_name(name: str) -> str:
    """`seed_person` of the name, else the name."""
    return seed_person(name) or name


def seed_name(word: str, *, titled: bool = False) -> str | None:
    """The seed person a lone `word` stands for: exactly one seed name has it as surname,
    and the surname is not a common one (unless an office title stands before it)."""
    key = alias_key(word)
    spelt = load_seed().spellings.get(key)
    names = (spelt,) if spelt else _seed_index().get(key, ())
    if len(names) != 1 or (key in load_seed().common and not titled):
        return None
    return names[0]


class NameRegistry:
    """Full person names seen recently, to canonicalise lone surnames across articles."""

    def __init__(
        self,
        state: Mapping[str, int] | None = None,
        *,
        max_names: int = MAX_NAMES,
        seed: bool = True,
    ) -> None:
        if max_names < 1:
            raise ValueError("max_names must be at least 1")
        self.max_names = max_names
        self._seen: dict[str, int] = {}
        """Full name -> tick of the last record that named it."""
        self._by_surname: dict[str, set[str]] = {}
        self._tick = 0
        self._seed: dict[str, tuple[str, ...]] = _seed_index() if seed else {}
        valid = [
            (name, tick)
            for name, tick in (state or {}).items()
            if isinstance(name, str) and type(tick) is int and is_full_name(name)
        ]
        for name, tick in sorted(valid, key=lambda kv: kv[1]):
            self._add(name, tick)
        self._tick = max(self._seen.values(), default=0)
        self._evict()

    def __len__(self) -> int:
        return len(self._seen)

    def last_seen(self, name: str) -> int | None:
        """The tick of the last record that named this full name (None: not remembered)."""
        return self._seen.get(name)

    def state(self) -> dict[str, int]:
        """The registry as a plain JSON-safe mapping: full name -> last-seen tick."""
        return dict(self._seen)

    def _add(self, name: str, tick: int) -> None:
        if name not in self._seen:
            self._by_surname.setdefault(surname_key(name), set()).add(name)
        self._seen[name] = tick

    def _remove(self, name: str) -> None:
        del self._seen[name]
        key = surname_key(name)
        names = self._by_surname.get(key)
        if names is not None:
            names.discard(name)
            if not names:
                del self._by_surname[key]

    def _evict(self) -> None:
        extra = len(self._seen) - self.max_names
        if extra <= 0:
            return
        for name, _ in sorted(self._seen.items(), key=lambda kv: kv[1])[:extra]:
            self._remove(name)

    def observe(self, record: EnrichedArticle) -> None:
        """Remember the full person names of an enriched record."""
        self.observe_names(record.persons)

    def observe_names(self, names: Iterable[str]) -> None:
        self._tick += 1
        for name in names:
            if is_full_name(name):
                self._add(name, self._tick)
        if len(self._seen) > self.max_names + self.max_names // 20:
            self._evict()  # in batches, so a full registry does not sort on every record

    def full_name(self, short: str) -> str | None:
        """The one known full name that ends with the one-word name `short`, else None.

        A name seen in the records and a different seed name with that surname are two
        candidates: ambiguous. Common surnames ("Brown") resolve only through seen names.
        """
        if " " in short.strip() or not short.strip():
            return None
        key = alias_key(short)
        seen = self._by_surname.get(key, set())
        seeded = set() if key in load_seed().common else set(self._seed.get(key, ()))
        candidates = {alias_key(n): n for n in (*seeded, *sorted(seen))}
        if len(candidates) != 1:
            return None
        return next(iter(candidates.values()))

    def resolve(self, record: EnrichedArticle) -> EnrichedArticle:
        """The record with its one-word person names replaced by the full names they stand
        for (`full_name`); entities and ids follow. Unchanged when nothing resolves."""
        # A lone surname is a PERSON entity, outside `persons` since 0.3.4 and inside it in
        # records an older worker wrote.
        short = {e.canonical for e in record.entities if e.label == "PERSON"} | set(record.persons)
        mapping = {p: full for p in sorted(short) if (full := self.full_name(p)) is not None}
        if not mapping:
            return record
        ids = {f"person:{slug(short)}": f"person:{slug(full)}" for short, full in mapping.items()}
        merged: dict[str, Entity] = {}
        for e in record.entities:
            if e.label == "PERSON" and e.canonical in mapping:
                e = e.model_copy(
                    update={"canonical": mapping[e.canonical], "id": ids.get(e.id, e.id)}
                )
            held = merged.get(f"{e.label}|{e.id}")
            merged[f"{e.label}|{e.id}"] = (
                e if held is None else held.model_copy(update={"count": held.count + e.count})
            )
        persons = sorted({mapping.get(p, p) for p in record.persons} | set(mapping.values()))
        return record.model_copy(
            update={
                "persons": persons,
                "entities": list(merged.values()),
                "entity_ids": sorted({ids.get(i, i) for i in record.entity_ids}),
                "event_actors": sorted({ids.get(a, a) for a in record.event_actors}),
                "events": [
                    ev.model_copy(
                        update={
                            "source": ids.get(ev.source or "", ev.source),
                            "target": ids.get(ev.target or "", ev.target),
                        }
                    )
                    for ev in record.events
                ],
            }
        )
