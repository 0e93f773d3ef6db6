"""The cross-article name registry and the seed of prominent people."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from processors.models import EnrichedArticle, Entity, Event
from processors.people import (
    NameRegistry,
    census_person,
    facet_person,
    is_full_name,
    load_seed,
    seed_full_name,
    seed_name,
    seed_person,
    surname_key,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(*persons: str, rid: str = "a") -> EnrichedArticle:
    entities = [
        Entity(text=p, label="PERSON", canonical=p, id=f"person:{p.lower().replace(' ', '-')}")
        for p in persons
    ]
    return EnrichedArticle(
        id=rid, title="t", body="b", ingested_at=NOW, enrichment_version="x",
        entities=entities, persons=sorted(persons), entity_ids=sorted(e.id for e in entities),
    )  # fmt: skip


def test_seed_resolves_lone_surname() -> None:
    reg = NameRegistry()
    out = reg.resolve(_record("Trump", "Jane Doe"))
    assert out.persons == ["Donald Trump", "Jane Doe"]
    assert {e.id for e in out.entities} == {"person:donald-trump", "person:jane-doe"}
    assert "person:donald-trump" in out.entity_ids and "person:trump" not in out.entity_ids


def test_facet_holds_full_names_and_known_mononyms_only() -> None:
    assert facet_person("Donald Trump") and facet_person("Kim Jong-un")
    assert facet_person("Sting") and facet_person("Pele")  # known by one name; accents aside
    assert not facet_person("Brown") and not facet_person("Babyshambles")


def test_lone_surname_outside_the_facet_is_still_resolved() -> None:
    # As enrichment writes it: "Kowalska" is an entity but not a `persons` value.
    rec = _record("Kowalska").model_copy(update={"persons": []})
    reg = NameRegistry(seed=False)
    assert reg.resolve(rec) is rec
    reg.observe(_record("Marta Kowalska"))
    out = reg.resolve(rec)
    assert out.persons == ["Marta Kowalska"]
    assert [e.canonical for e in out.entities] == ["Marta Kowalska"]


def test_family_name_first_and_common_surnames() -> None:
    assert seed_name("Xi") == "Xi Jinping"
    assert seed_name("Brown") is None  # common: only after an office title
    assert seed_name("Brown", titled=True) == "Gordon Brown"
    assert seed_name("Kim") is None  # Kim Jong-un and Kim Jong-il
    assert NameRegistry().full_name("Johnson") is None


def test_the_seed_knows_athletes_and_ministers_but_not_shared_surnames() -> None:
    assert seed_name("Messi") == "Lionel Messi"
    assert seed_name("Kejriwal") == "Arvind Kejriwal"
    assert seed_name("Blunkett") == "David Blunkett"
    assert seed_name("Gandhi", titled=True) is None  # Rahul and Sonia Gandhi
    assert seed_name("Williams") is None  # common, and two Williams sisters


def test_observed_full_name_resolves_and_ambiguity_keeps() -> None:
    reg = NameRegistry(seed=False)
    reg.observe(_record("Fumio Kishida", "Marta Kowalska"))
    assert reg.resolve(_record("Kowalska")).persons == ["Marta Kowalska"]
    reg.observe(_record("Jan Kowalska"))
    assert reg.resolve(_record("Kowalska")).persons == ["Kowalska"]
    assert reg.full_name("Kishida") == "Fumio Kishida"
    assert reg.full_name("Fumio Kishida") is None  # only one-word names are resolved


def test_seen_name_and_other_seed_name_are_ambiguous() -> None:
    reg = NameRegistry()
    reg.observe(_record("Melania Trump"))
    assert reg.resolve(_record("Trump")).persons == ["Trump"]
    # The seed person seen in full is one candidate, not two.
    reg2 = NameRegistry()
    reg2.observe(_record("Donald Trump"))
    assert reg2.full_name("Trump") == "Donald Trump"


def test_resolve_merges_entities_and_follows_events() -> None:
    reg = NameRegistry()
    rec = _record("Trump", "Donald Trump").model_copy(
        update={
            "events": [Event(type="ACCUSE", source="person:trump", target="country:CN")],
            "event_actors": ["country:CN", "person:trump"],
        }
    )
    out = reg.resolve(rec)
    assert out.persons == ["Donald Trump"]
    assert [(e.id, e.count) for e in out.entities] == [("person:donald-trump", 2)]
    assert out.events[0].source == "person:donald-trump"
    assert out.event_actors == ["country:CN", "person:donald-trump"]


def test_unchanged_record_is_returned_as_is() -> None:
    rec = _record("Jane Doe")
    assert NameRegistry().resolve(rec) is rec


def test_bounded_and_least_recent_go_first() -> None:
    reg = NameRegistry(seed=False, max_names=3)
    for i, name in enumerate(["Ann Alpha", "Bob Beta", "Cy Gamma", "Di Delta", "Ed Eps"]):
        reg.observe(_record(name, rid=str(i)))
    assert len(reg) <= 3
    assert reg.full_name("Eps") == "Ed Eps"
    assert reg.full_name("Alpha") is None


def test_state_round_trips_through_json() -> None:
    reg = NameRegistry(seed=False)
    reg.observe(_record("Marta Kowalska"))
    reg.observe(_record("Fumio Kishida"))
    state = json.loads(json.dumps(reg.state()))
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in state.items())
    back = NameRegistry(state, seed=False)
    assert back.state() == reg.state()
    assert back.full_name("Kowalska") == "Marta Kowalska"
    back.observe(_record("Kim Lee"))
    assert back.state()["Kim Lee"] > max(reg.state().values())
    bad = NameRegistry({"Trump": 3, "Ok Name": "x", "Real Name": 2}, seed=False)  # type: ignore[dict-item]
    assert bad.state() == {"Real Name": 2}


def test_name_helpers_and_seed_file() -> None:
    assert is_full_name("Kim Jong-un") and not is_full_name("Trump")
    assert not is_full_name("ex Yukos")
    assert surname_key("Ferdinand Marcos Jr.") == "marcos"
    assert surname_key("Xi Jinping", family_first=True) == "xi"
    seed = load_seed()
    assert "Donald Trump" in seed.names and len(set(seed.names)) == len(seed.names)
    assert all(is_full_name(n) for n in seed.names)
    assert seed.family_first <= set(seed.names)


def test_a_name_opening_with_an_article_is_a_title_unless_a_stage_name() -> None:
    assert not facet_person("The Da Vinci Code")
    assert facet_person("The Game")  # a listed stage name
    assert facet_person("Donald Trump")


def test_other_spellings_stand_for_the_seed_name() -> None:
    assert seed_name("Zelensky") == "Volodymyr Zelenskyy"
    assert seed_name("Assad") == "Bashar al-Assad"  # the seed's last word is "al-Assad"
    assert seed_full_name("Moammar Gadhafi") == "Muammar Gaddafi"
    assert seed_full_name("Kim Jong Un") == "Kim Jong-un"
    assert seed_full_name("Marta Kowalska") == "Marta Kowalska"  # not a seed person


def test_seed_person_is_none_for_other_names() -> None:
    assert seed_person("Kim Jong Un") == "Kim Jong-un"
    assert seed_person("Marta Kowalska") is None


def test_census_names_make_a_person_but_not_a_company_word() -> None:
    assert census_person(["Claude", "Davey"])
    assert census_person(["Geoffrey", "Rees-Jones"])  # the last part of a double surname
    assert not census_person(["Virginia", "Tech"])  # no surname
    assert not census_person(["Royal", "Mail"])  # a reviewed company word
    assert not census_person(["Harris"])


def test_a_seed_person_written_with_another_form_of_the_given_name() -> None:
    assert seed_person("Charles Schumer") == "Chuck Schumer"
    assert seed_person("Anthony Blair") == "Tony Blair"
    assert seed_person("Charles Smithfield") is None  # no seed person of the surname
