"""The wire-format readers: each fixture (written to its spec) becomes the right `Article`s."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors.articles import guid_id
from processors.errors import InputFileError
from processors.formats import detect_format, read_document
from processors.formats.common import int_version
from processors.models import Article

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def read(name: str, **kw: object) -> tuple[list[Article], list[str]]:
    path = FIXTURES / name
    items = list(read_document(path.read_bytes(), name=name, **kw))  # type: ignore[arg-type]
    return (
        [i for i in items if isinstance(i, Article)],
        [str(i) for i in items if isinstance(i, InputFileError)],
    )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("ninjs-1.json", "json"),
        ("ninjs-2.json", "json"),
        ("newsml-g2-item.xml", "newsml"),
        ("newsml-g2-message.xml", "newsml"),
        ("rss2.xml", "rss"),
        ("atom.xml", "atom"),
        ("mixed.jsonl", "jsonl"),
    ],
)
def test_detects_each_fixture(name: str, fmt: str) -> None:
    assert detect_format((FIXTURES / name).read_bytes(), name) == fmt


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b"Title\n\nBody.", "a.txt", "text"),
        (b"Title\n\nBody.", "noext", "text"),
        (b'{"id": "1", "title": "t", "body": "b"}\n{"id": "2"}', "feed", "jsonl"),
        (b'{\n  "uri": "x"\n}', "item", "json"),
        (b'[{"uri": "x"}]', "items", "json"),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c --><rss version="2.0"/>', "f", "rss"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "f", "rss"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "f", "atom"),
        (b'<nar:newsItem xmlns:nar="http://iptc.org/std/nar/2006-10-01/"/>', "f", "newsml"),
        (b"<newsMessage/>", "f.xml", "newsml"),
    ],
)
def test_detection_table(data: bytes, name: str, fmt: str) -> None:
    assert detect_format(data, name) == fmt


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"<html><body/></html>", "page.xml", "XML root <html>"),
        (b"", "empty.json", "empty or unrecognised"),
    ],
)
def test_unknown_formats_are_named_errors(data: bytes, name: str, words: str) -> None:
    with pytest.raises(InputFileError, match=words) as info:
        detect_format(data, name)
    assert name in str(info.value)


def test_ninjs_1() -> None:
    arts, errors = read("ninjs-1.json")
    assert errors == []
    (art,) = arts
    assert art.id == guid_id("http://wire.example.com/ninjs/2024/03/01/harbour-strike")
    assert art.title == "Dock workers strike at Rotterdam harbour"
    assert art.body == (
        "Dock workers at the port of Rotterdam walked out on Friday.\n\n"
        "The union said talks with employers in the Netherlands had failed."
    )
    assert art.version == 2
    assert art.published_at == datetime(2024, 3, 1, 9, 5, tzinfo=UTC)
    assert art.source == "Example Wire"
    assert art.url == "http://wire.example.com/ninjs/2024/03/01/harbour-strike"


def test_ninjs_2_picks_the_main_headline_and_versions_by_time_without_version() -> None:
    arts, errors = read("ninjs-2.json")
    assert errors == []
    grain, quake = arts
    assert grain.title == "Turkey and Ukraine agree new grain corridor"  # role main, not short
    assert grain.body.startswith("Turkey and Ukraine agreed on Saturday")
    assert grain.version == 1
    assert grain.url is None  # a URN is an id, not a link
    assert quake.body == (
        "A magnitude 6.1 earthquake struck northern Chile on Saturday.\n\nNo damage was reported."
    )
    # No `version`: the versioncreated time in milliseconds.
    assert quake.version == int(datetime(2024, 3, 2, 11, 30, tzinfo=UTC).timestamp() * 1000)


def test_newsml_item_with_inline_xhtml() -> None:
    arts, errors = read("newsml-g2-item.xml")
    assert errors == []
    (art,) = arts
    assert art.id == guid_id("urn:newsml:wire.example.com:20240304:sanctions-vote")
    assert art.version == 3
    assert art.title == "UN Security Council votes on North Korea sanctions"
    # The XHTML <head><title> is not body text; paragraphs are kept; entities decoded.
    assert art.body == (
        "The United Nations Security Council voted on Monday to tighten sanctions on "
        "North Korea.\n\nJapan and South Korea welcomed the decision & urged China to enforce it."
    )
    assert art.source == "Example Wire"
    assert art.published_at == datetime(2024, 3, 4, 15, 0, tzinfo=UTC)  # firstCreated


def test_newsml_message_with_inline_data() -> None:
    arts, errors = read("newsml-g2-message.xml")
    assert errors == []
    floods, summit = arts
    assert floods.body == (
        "Heavy monsoon rains flooded villages across Bangladesh on Tuesday.\n\n"
        "Officials said more than 10,000 people had moved to shelters."
    )
    assert floods.version == 1
    assert floods.published_at == datetime(2024, 3, 5, 6, 40, tzinfo=UTC)  # versionCreated
    assert summit.body == "European Union leaders met in Brussels on Tuesday."  # text/html
    assert summit.source == "EXAMPLEWIRE"  # from the provider qcode
    assert summit.version == 2


def test_rss2() -> None:
    arts, errors = read("rss2.xml")
    assert errors == []
    kenya, fire = arts
    assert kenya.id == guid_id("https://wire.example.com/world/kenya-election")
    assert (
        kenya.body
        == "Voters in Kenya queued from dawn on Wednesday.\n\nTurnout was higher than in 2017."
    )
    assert kenya.source == "Example Wire: World"
    assert kenya.published_at == datetime(2024, 3, 6, 9, 30, tzinfo=UTC)
    assert kenya.version is None  # RSS has no version: the publisher's state gives one
    # No guid: the id is made from the link.
    assert fire.id == guid_id("https://wire.example.com/world/greece-fire?ref=rss")
    assert fire.body == "Firefighters fought a wildfire north of Athens, Greece."
    assert fire.published_at == datetime(2024, 3, 6, 9, 0, tzinfo=UTC)


def test_atom() -> None:
    arts, errors = read("atom.xml")
    assert errors == []
    oil, yen = arts
    assert oil.id == guid_id("tag:wire.example.com,2024-03-07:oil-prices")
    assert (
        oil.body
        == "Brent crude rose 2% after OPEC agreed to cut output.\n\nSaudi Arabia led the cut."
    )
    assert oil.url == "https://wire.example.com/markets/oil-prices"
    assert oil.published_at == datetime(2024, 3, 7, 8, 0, tzinfo=UTC)
    assert oil.version == int(datetime(2024, 3, 7, 11, 15, tzinfo=UTC).timestamp() * 1000)
    assert yen.body == "The Japanese yen fell to a four-month low against the US dollar."
    assert yen.published_at == datetime(2024, 3, 7, 10, 0, tzinfo=UTC)  # updated, no published


def test_jsonl_mixes_our_objects_and_ninjs_and_names_the_bad_line() -> None:
    arts, errors = read("mixed.jsonl")
    assert [a.id for a in arts] == ["own-1", guid_id("urn:example:wire:2024-03-08:vote")]
    assert arts[0].version == 4
    assert arts[1].body == "Senegal will vote on 24 March, the president said."
    assert errors == ["mixed.jsonl:3: invalid JSON (Unterminated string starting at at column 11)"]


def test_the_same_item_has_the_same_id_in_any_format() -> None:
    guid = "urn:example:wire:same"
    rss = (
        b'<rss version="2.0"><channel><title>W</title><item><title>T</title>'
        b'<guid isPermaLink="false">urn:example:wire:same</guid>'
        b"<description>Body text.</description>"
        b"</item></channel></rss>"
    )
    ninjs = b'{"uri": "urn:example:wire:same", "headline": "T", "body_text": "Body text."}'
    (a,) = read_document(rss, name="f.rss")
    (b,) = read_document(ninjs, name="f.json")
    assert isinstance(a, Article) and isinstance(b, Article)
    assert a.id == b.id == guid_id(guid)


BAD_NEWSML = b"""<?xml version="1.0"?>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:x" version="1">
  <contentMeta><headline>Broken</headline></contentMeta>
  <contentSet><inlineData>text</inlineDta></contentSet>
</newsItem>
"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ROOT>&lol3;</ROOT>
"""


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (BAD_NEWSML, "bad.xml", "bad.xml:4:33: not well-formed XML (mismatched tag)"),
        (b'{"uri": "x",\n "headline": }', "bad.json", "bad.json:2:14: invalid JSON"),
        (b"hello", "x.xml", "x.xml: empty or unrecognised content for a .xml file"),
        (
            BOMB.replace(b"<ROOT>", b'<rss version="2.0"><channel><title>').replace(
                b"</ROOT>", b"</title></channel></rss>"
            ),
            "bomb.rss",
            "bomb.rss:3: refused: the document declares XML entities",
        ),
        (
            BOMB.replace(
                b"<ROOT>", b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/">'
            ).replace(b"</ROOT>", b"</newsItem>"),
            "bomb.xml",
            "bomb.xml:3: refused: the document declares XML entities",
        ),
        (
            b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:r"><contentSet>'
            b'<remoteContent href="http://x/a.txt"/></contentSet></newsItem>',
            "remote.xml",
            "remote.xml guid=urn:r: the body is remoteContent only",
        ),
        (
            b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:k"><itemMeta>'
            b'<pubStatus qcode="stat:canceled"/></itemMeta></newsItem>',
            "kill.xml",
            "kill.xml guid=urn:k: pubStatus stat:canceled",
        ),
        (b'{"headline": "no uri", "body_text": "b"}', "n.json", "n.json: ninjs object without uri"),
        (b'[{"uri": "u:1", "type": "picture"}]', "p.json", "p.json[0]: ninjs type 'picture'"),
        (b"\xff\xfe title\n\nbody", "bin.txt", "bin.txt: byte 0: not UTF-8"),
    ],
)
def test_unreadable_input_is_a_positioned_error(data: bytes, name: str, expected: str) -> None:
    items = list(read_document(data, name=name))
    errors = [str(i) for i in items if isinstance(i, InputFileError)]
    assert len(errors) == 1, items
    assert errors[0].startswith(expected), errors[0]
    assert not [i for i in items if isinstance(i, Article)]


def test_a_malformed_feed_is_reported_with_position_and_what_was_recovered_still_comes() -> None:
    data = (
        b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>W</title>\n'
        b"<item><title>Good</title><guid>g1</guid><description>Fine body.</description></item>\n"
        b"<item><title>Bad & worse</title><guid>g2</guid><description>x</description></item>\n"
        b"</channel></rss>"
    )
    items = list(read_document(data, name="sloppy.rss"))
    errors = [str(i) for i in items if isinstance(i, InputFileError)]
    arts = [i for i in items if isinstance(i, Article)]
    assert len(errors) == 1 and errors[0].startswith("sloppy.rss:4:"), errors
    assert "not well-formed" in errors[0]
    assert [a.title for a in arts][:1] == ["Good"]


def test_one_bad_item_in_a_newsml_message_does_not_lose_the_others() -> None:
    data = (
        (FIXTURES / "newsml-g2-message.xml")
        .read_bytes()
        .replace(
            b'guid="urn:newsml:wire.example.com:20240305:floods" version="1"',
            b'guid="urn:newsml:wire.example.com:20240305:floods" version="one"',
        )
    )
    items = list(read_document(data, name="m.xml"))
    assert [type(i).__name__ for i in items] == ["InputFileError", "Article"]
    assert str(items[0]).startswith("m.xml: newsItem 1 guid=urn:newsml:wire.example.com:20240305")
    assert "version 'one'" in str(items[0])


def test_an_unreadable_date_keeps_the_article() -> None:
    data = b'{"uri": "u:d", "headline": "H", "body_text": "B", "firstcreated": "yesterday"}'
    (art,) = read_document(data, name="d.json")
    assert isinstance(art, Article)
    assert art.published_at is None and art.date_problem == "unparseable date 'yesterday'"


def test_explicit_format_overrides_detection() -> None:
    items = list(
        read_document(
            b'{"uri": "u:1", "headline": "H", "body_text": "B"}', name="x.txt", fmt="json"
        )
    )
    assert isinstance(items[0], Article) and items[0].title == "H"
    (bad,) = read_document(b"x", name="x", fmt="yaml")
    assert "unknown format 'yaml'" in str(bad)


@pytest.mark.parametrize(
    ("value", "version"),
    [("3", 3), (" 12 ", 12), (7, 7), (-1, None), (True, None), ("²", None), ("", None)],
)
def test_wire_versions(value: object, version: int | None) -> None:
    assert int_version(value) == version
