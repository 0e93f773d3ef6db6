"""JSON decoding that hostile input cannot crash: bounded nesting, finite numbers, real text.

The standard library's decoder recurses once per nesting level, so 100 KB of `[` raises
`RecursionError` (not a `ValueError`), and it turns `NaN`, `1e400` and 5,000-digit integers
into values nothing downstream can store. `decode_json` checks the nesting depth with one
linear scan before decoding, and refuses non-finite numbers, integers outside 64 bits and
strings with lone surrogates, each with its own `reason`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; an article record needs three or four."""
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# A JSON string (escapes included) or one bracket: strings are skipped whole, so brackets
# inside text do not count. The unrolled string pattern runs in linear time.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPEN = frozenset("[{")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRejected(ValueError):
    """JSON text refused before or while decoding; `reason` is a short stable word."""

    def __init__(
        self, reason: str, detail: str, *, msg: str | None = None, at: tuple[int, int] | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.msg = msg or detail
        """What is wrong, without the position."""
        self.at = at
        """(line, column) of a syntax error."""
        super().__init__(f"{reason}: {detail}")


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of `text`, counted up to `limit + 1` (the scan stops there)."""
    depth = deepest = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif token in "]}":
            depth -= 1
    return deepest


def _int(text: str) -> int:
    # Checked on the digits, before int() is asked to build a huge number.
    if len(text.lstrip("-")) > 19 or not INT64_MIN <= int(text) <= INT64_MAX:
        raise JSONRejected("invalid_number", f"integer {text[:40]}... is outside 64 bits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRejected("invalid_number", f"number {text[:40]} is not finite")
    return value


def _constant(text: str) -> Any:
    raise JSONRejected("invalid_number", f"{text} is not a JSON number")


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise JSONRejected("invalid_string", f"lone surrogate in {item[:40]!r}")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def decode_json(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON text, or raise `JSONRejected` (reasons `too_deep`, `invalid_json`,
    `invalid_number`, `invalid_string`). Never raises anything else for any input text."""
    depth = nesting_depth(text, max_depth)
    if depth > max_depth:
        raise JSONRejected("too_deep", f"nesting deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JSONRejected(
            "invalid_json",
            f"{exc.msg} at line {exc.lineno} column {exc.colno}",
            msg=exc.msg,
            at=(exc.lineno, exc.colno),
        ) from exc
    except RecursionError as exc:  # cannot happen after the depth scan; never crash on it
        raise JSONRejected("too_deep", "nesting too deep to decode") from exc
    if _ESCAPED_SURROGATE.search(text):
        _check_strings(value)
    return value
