"""The small exception tree shared by processors and the I/O shell."""

from __future__ import annotations


class WirewatchError(Exception):
    """Base of every error the product raises on purpose."""


class InvalidArticle(WirewatchError):
    """Input that can never become an article (a data error: dead-letter it, do not retry)."""

    def __init__(self, reason: str, *, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(reason if detail is None else f"{reason}: {detail}")


class InputFileError(WirewatchError):
    """An input file that cannot be read or parsed; the message names the file and position.

    `reason` is the `InvalidArticle` reason when the item was read but is not an article the
    worker would take (`empty_body`, `too_large`, ...); `None` for a file that cannot be read.
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)
