"""The one way an `Article` is made, by the publisher's readers and by the worker alike.

`build_article` cleans the text (`processors.text`), picks the stable id, reads the date with
`processors.dates.parse_datetime`, and checks the size; what can never be an article raises
`InvalidArticle` with the same short reasons the worker dead-letters with (`missing_text`,
`empty_body`, `too_large`, `invalid_field`, `invalid_string`).

The rule this module exists for: an article built here, sent as JSON (with or without its
empty fields, with any version the publisher gives it), is accepted by the worker's
`processors.validate.parse_raw_article` and comes back equal. Cleaning is idempotent, the
size is checked on the largest form the article can travel in, and a `date_problem` travels
with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from processors.dates import parse_datetime
from processors.errors import InputFileError, InvalidArticle
from processors.models import MAX_VERSION, Article
from processors.text import clean_body, clean_title, has_surrogates, strip_controls

ID_PREFIX = "ww-"
MAX_ARTICLE_BYTES = 1_000_000
"""Largest article, as the JSON message on `articles.raw` (the worker's default limit)."""
_TEXT_FIELDS = ("title", "body", "source", "url")


def derive_id(
    *, source: str | None = None, url: str | None = None, title: str = "", body: str = ""
) -> str:
    """A stable article id: from source+url when there is a url, else from title+body.

    The same article re-sent by the same wire gets the same id, so indexing it again
    overwrites the document instead of adding a second one.
    """
    if url:
        basis = f"url\x1f{(source or '').strip().lower()}\x1f{url.strip()}"
    else:
        basis = f"text\x1f{' '.join(title.split())}\x1f{' '.join(body.split())}"
    return ID_PREFIX + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


def guid_id(guid: str) -> str:
    """A stable article id from the item's globally unique id (or its canonical URL).

    Hashed so that any guid (a URN, a long URL with a query) becomes a short, safe key, and
    the same guid always gives the same id whichever feed or file carried the item.
    """
    basis = f"guid\x1f{guid.strip()}"
    return ID_PREFIX + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


def _one_line(value: str | None) -> str | None:
    """A source or url: controls dropped, whitespace made single spaces; empty is `None`."""
    if value is None:
        return None
    return " ".join(strip_controls(value).split()) or None


def _date_problem(value: object) -> str:
    shown = value if isinstance(value, str) else repr(value)
    return f"unparseable date {shown[:100]!r}"


def build_article(
    *,
    title: str | None,
    body: str | None,
    source: str | None = None,
    url: str | None = None,
    published: object = None,
    id: str | None = None,
    guid: str | None = None,
    version: int | None = None,
    date_problem: str | None = None,
    max_bytes: int | None = MAX_ARTICLE_BYTES,
) -> Article:
    """The `Article` of these fields, cleaned; `InvalidArticle(reason, detail)` if none can be.

    - `title`, `body`: control characters dropped, HTML made text, line breaks `\\n`; the
      title on one line. No text at all is `missing_text`; a headline alone, `empty_body`.
    - the id: `id` as given, else `guid_id(guid)`, else `derive_id` from source and url,
      else from title and body.
    - `published`: anything `parse_datetime` reads (ISO 8601, RFC 2822, epoch, datetime,
      struct_time). One it cannot read keeps the article with `published_at` empty and
      `date_problem` saying why; with no date, a given `date_problem` is kept.
    - `version`: 0 to 2^63-1 (Elasticsearch's external versions), else `invalid_field`.
    - the article as JSON, with every field written and the largest version, must fit in
      `max_bytes`, else `too_large` (so any version the publisher sets still fits); `None`
      leaves that to the caller (`processors.formats.read_document` checks each article
      against the publisher's configured limit with `check_size`).
    """
    texts = {"title": title, "body": body, "source": source, "url": url, "id": id, "guid": guid}
    for key, value in texts.items():
        if value is not None and has_surrogates(value):
            raise InvalidArticle("invalid_string", detail=f"{key}: lone surrogate")
    raw_body = body or ""
    title, body = clean_title(title or ""), clean_body(raw_body)
    if not title and not body:
        raise InvalidArticle("missing_text", detail="no title and no body: not an article")
    if not body:
        detail = "the body has no text once markup is removed" if raw_body.strip() else ""
        raise InvalidArticle("empty_body", detail=detail or "the body is empty")
    source, url = _one_line(source), _one_line(url)
    if id is None:
        id = guid_id(guid) if guid else derive_id(source=source, url=url, title=title, body=body)
    when = parse_datetime(published)
    if published is not None and when is None:
        date_problem = _date_problem(published)
    elif when is not None:
        date_problem = None
    fields = {"id": id, "title": title, "body": body, "source": source, "url": url}
    try:
        article = Article.model_validate(
            {**fields, "published_at": when, "version": version, "date_problem": date_problem}
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        raise InvalidArticle("invalid_field", detail=f"{loc}: {err['msg']}") from exc
    if max_bytes is not None:
        check_size(article, max_bytes)
    return article


def check_size(article: Article, max_bytes: int = MAX_ARTICLE_BYTES) -> None:
    """`too_large` unless the article fits in `max_bytes` in the largest form it can travel
    in: JSON with every field written and the largest version (the publisher sets one)."""
    size = len(article.model_copy(update={"version": MAX_VERSION}).model_dump_json().encode())
    if size > max_bytes:
        raise InvalidArticle("too_large", detail=f"{size} bytes as JSON, limit {max_bytes}")


def article_from_mapping(
    data: Mapping[str, Any],
    *,
    default_source: str | None = None,
    id_required: bool = False,
    max_bytes: int | None = MAX_ARTICLE_BYTES,
) -> Article:
    """An article from a JSON object (`id, title, body, published_at, source, url, version`,
    and `date_problem` when `published_at` is empty), as the worker and the publisher read it.

    `title`, `body`, `source` and `url` must be strings (or null). The worker requires the
    `id` (`id_required`); the publisher derives one when it is missing or empty, and takes a
    number as its decimal string.
    """
    for key in _TEXT_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidArticle(
                "invalid_field", detail=f"{key} must be a string, got {type(data[key]).__name__}"
            )
    art_id = data.get("id")
    if id_required:
        if not isinstance(art_id, str) or not art_id:
            got = "missing" if art_id is None else f"got {art_id!r:.40}"
            raise InvalidArticle("invalid_field", detail=f"id: a non-empty string needed, {got}")
    elif isinstance(art_id, int) and not isinstance(art_id, bool):
        art_id = str(art_id)
    elif not art_id:
        art_id = None
    elif not isinstance(art_id, str):
        raise InvalidArticle(
            "invalid_field", detail=f"id must be a string, got {type(art_id).__name__}"
        )
    problem = data.get("date_problem")
    return build_article(
        id=art_id,
        title=data.get("title"),
        body=data.get("body"),
        source=data.get("source") or default_source,
        url=data.get("url"),
        published=data.get("published_at"),
        version=data.get("version"),
        date_problem=problem if isinstance(problem, str) else None,
        max_bytes=max_bytes,
    )


@contextmanager
def refused_as_input_error(where: str) -> Iterator[None]:
    """Inside: an `InvalidArticle` becomes an `InputFileError` naming `where`, with its reason,
    which the publisher reports as rejected input (file and position, then the reason)."""
    try:
        yield
    except InvalidArticle as exc:
        raise InputFileError(f"{where}: {exc}", reason=exc.reason) from exc
