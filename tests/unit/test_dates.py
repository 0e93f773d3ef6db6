"""The one date parser: every form a reader or the worker took before, and what it refuses."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.dates import parse_datetime

PARIS = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO 8601, as the worker, the JSON readers and the fixtures send it
        ("2013-02-12T10:00:00Z", datetime(2013, 2, 12, 10, tzinfo=UTC)),
        ("1987-02-26T15:01:01", datetime(1987, 2, 26, 15, 1, 1, tzinfo=UTC)),  # naive: UTC
        ("2024-03-01T09:05:00Z", datetime(2024, 3, 1, 9, 5, tzinfo=UTC)),  # ninjs firstcreated
        ("2024-03-02T08:00:00+01:00", datetime(2024, 3, 2, 7, tzinfo=UTC)),  # with an offset
        ("2024-03-04T15:00:00Z", datetime(2024, 3, 4, 15, tzinfo=UTC)),  # NewsML firstCreated
        ("2024-03-07T08:00:00Z", datetime(2024, 3, 7, 8, tzinfo=UTC)),  # Atom published
        ("2024-03-08T07:00:00Z", datetime(2024, 3, 8, 7, tzinfo=UTC)),  # JSONL published_at
        ("  2013-02-12T10:00:00Z \n", datetime(2013, 2, 12, 10, tzinfo=UTC)),  # padded
        ("2024-03-01T09:05:00+0100", datetime(2024, 3, 1, 8, 5, tzinfo=UTC)),  # no colon
        ("2024-03-01 09:05", datetime(2024, 3, 1, 9, 5, tzinfo=UTC)),  # space, no seconds
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),  # a date only
        ("20240301T090500Z", datetime(2024, 3, 1, 9, 5, tzinfo=UTC)),  # basic format
        ("2024-03-01t09:05:00z", datetime(2024, 3, 1, 9, 5, tzinfo=UTC)),  # lower case
        ("2024-W09-5", datetime(2024, 3, 1, tzinfo=UTC)),  # a week date
        (
            "2024-03-01T09:05:00.123456789Z",  # nanoseconds (Go, Elasticsearch)
            datetime(2024, 3, 1, 9, 5, 0, 123456, tzinfo=UTC),
        ),
        ("2024-03-01T09:05:00,5Z", datetime(2024, 3, 1, 9, 5, 0, 500000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        # RFC 2822 feed dates (RSS pubDate, as in the rss2.xml fixture)
        ("Wed, 06 Mar 2024 09:30:00 GMT", datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),
        ("Wed, 06 Mar 2024 10:00:00 +0100", datetime(2024, 3, 6, 9, tzinfo=UTC)),
        ("6 Mar 2024 09:30 -0000", datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),
        ("Wed, 06 Mar 2024 04:30:00 EST", datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),
        ("06 Mar 24 10:30 +0100", datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),  # 2-digit year
        # Unix time, as pydantic read it for the JSON Lines reader: seconds, or milliseconds
        (1700000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1700000000.5, datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)),
        (1700000000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        # Python values: feedparser's struct_time, datetimes (naive or not), dates
        (time.gmtime(1709717400), datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),
        (datetime(2024, 3, 6, 9, 30), datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),
        (datetime(2024, 3, 6, 10, 30, tzinfo=PARIS), datetime(2024, 3, 6, 9, 30, tzinfo=UTC)),
        (date(2024, 3, 6), datetime(2024, 3, 6, tzinfo=UTC)),
    ],
)
def test_readable_dates(value: object, expected: datetime) -> None:
    got = parse_datetime(value)
    assert got == expected
    assert got is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "yesterday",
        "yesterday-ish",
        "not a date",
        "26-FEB-1987",  # Reuters-21578's own form: kept as a date problem
        "26-FEB-1987 15:01:01.79",
        "99999-01-01T00:00:00Z",  # year 99999 (the hostile far-future date)
        "2024-02-30",
        "2024-03-01T25:00:00",
        "Sun, 31 Feb 2024 09:30:00 +0000",
        "9999-12-31T23:30:00-01:00",  # past year 9999 in UTC
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
        "2024",  # a year, not 33 minutes past 1970
        2024,
        0,
        -1700000000,
        "1e9",
        10**400,
        float("nan"),
        float("inf"),
        True,
        ["2024-03-01"],
        {"date": "2024-03-01"},
        "2024-03-01T09:05:00Z" + " " * 100 + "x",
        "1" * 400,
    ],
)
def test_unreadable_dates_are_none(value: object) -> None:
    assert parse_datetime(value) is None


@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789-+:TZWtz., "),
        st.integers(),
        st.floats(),
        st.datetimes(timezones=st.none() | st.timezones()),
    )
)
def test_never_raises_and_is_always_utc(value: object) -> None:
    got = parse_datetime(value)
    assert got is None or got.utcoffset() == timedelta(0)


@given(st.datetimes(timezones=st.just(UTC)))
def test_its_own_iso_form_reads_back(when: datetime) -> None:
    assert parse_datetime(when.isoformat()) == when
    assert parse_datetime(when.isoformat().replace("+00:00", "Z")) == when
