"""The one date parser of the pipeline: whatever a wire sends as a date -> UTC, or `None`.

Like followthemoney's `clean()`, `parse_datetime` never raises: a value it cannot read gives
`None` and the caller decides (an article keeps its text and records `date_problem`).

Read, in this order:

- `datetime` (naive is taken as UTC), `date` (midnight UTC), `time.struct_time` (feedparser's
  `published_parsed`, always UTC);
- numbers and digit strings: Unix time in seconds, or in milliseconds above 2e10 (the rule
  pydantic applies); values before 1973 (below 1e8 seconds) are refused, since a bare
  `2024` is a year or a count, not 33 minutes past 1970;
- ISO 8601 as `datetime.fromisoformat` reads it (extended and basic forms, `Z`, offsets with
  or without a colon, a space for the `T`, week dates, date only), in either letter case,
  fractions of any length truncated to microseconds;
- RFC 2822 / RFC 822 feed dates (`Wed, 06 Mar 2024 09:30:00 GMT`, `+0100`, `EST`).

The result is always timezone-aware UTC within years 1 to 9999; anything else is `None`.
"""

from __future__ import annotations

import calendar
import math
import re
import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

MIN_EPOCH_SECONDS = 1e8
"""Smallest Unix time read as a date (1973-03-03): smaller numbers are years or counts."""
MILLIS_ABOVE = 2e10
"""Unix times above this (in year 2603 as seconds) are milliseconds."""

_EPOCH = re.compile(r"[+-]?\d+(\.\d+)?")
_MAX_TEXT = 100
"""Longer text is not a date (the longest RFC 2822 form is about 40 characters)."""


def parse_datetime(value: object) -> datetime | None:
    """`value` as a timezone-aware UTC datetime, or `None` when it is not a readable date."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, time.struct_time):
        try:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if isinstance(value, str):
        return _from_text(value)
    return None


def _utc(value: datetime) -> datetime | None:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. 9999-12-31T23:30-01:00 is past year 9999
        return None


def _from_epoch(number: float) -> datetime | None:
    try:
        seconds = float(number)
    except OverflowError:  # an int beyond the float range
        return None
    if not math.isfinite(seconds):
        return None
    if abs(seconds) > MILLIS_ABOVE:
        seconds = seconds / 1000
    if seconds < MIN_EPOCH_SECONDS:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_text(value: str) -> datetime | None:
    text = value.strip()
    if not text or len(text) > _MAX_TEXT:
        return None
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    try:
        return _utc(datetime.fromisoformat(text.upper()))
    except ValueError:
        pass
    try:
        return _utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
