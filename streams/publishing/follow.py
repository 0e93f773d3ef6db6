"""`publish --follow`: poll feeds (conditional GET) and watch folders, publish what is new.

Feeds are fetched with `If-None-Match` / `If-Modified-Since` from the validators of the last
response that was fully published; a 304 costs nothing. A failing source (network error,
HTTP error, a document that cannot be read) backs off exponentially with jitter, up to
`max_backoff`, honouring `Retry-After`; the other sources go on. A folder is scanned for
article files; a file is read once its size and modification time have been still for
`settle` seconds (so half-written files are not read), and again whenever it changes.

Every article goes through the publisher's state (`streams/publishing/state.py`): what was
already published is skipped, a changed item is published as a new version of the same id.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

import structlog

from processors.errors import InputFileError, WirewatchError
from processors.formats import read_document
from processors.models import Article
from streams.core.retry import backoff
from streams.publishing.publisher import Publisher, PublishReport, is_article_file, read_articles
from streams.publishing.state import PublishState

log = structlog.get_logger(__name__)

USER_AGENT = "wirewatch/0.1 (+feed follower)"
MAX_FEED_BYTES = 32 * 1024 * 1024


class FetchError(WirewatchError):
    """A feed could not be fetched (a transient failure: back off and try again)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    status: int
    """200, or 304 (not modified: `body` is empty)."""
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def http_fetch(url: str, validators: dict[str, str], timeout: float = 30.0) -> FetchResult:
    """GET `url`, conditional on the stored validators; `FetchError` when it fails."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http and https feeds can be followed")
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, application/xml, "
        "application/json, text/xml;q=0.9, */*;q=0.5",
    }
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = resp.read(MAX_FEED_BYTES + 1)
            if len(body) > MAX_FEED_BYTES:
                raise FetchError(f"{url}: response larger than {MAX_FEED_BYTES} bytes")
            return FetchResult(
                status=resp.status,
                body=body,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                content_type=resp.headers.get("Content-Type"),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return FetchResult(status=304)
        raise FetchError(
            f"{url}: HTTP {exc.code} {exc.reason}",
            retry_after=_retry_after(exc.headers.get("Retry-After") if exc.headers else None),
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: cannot fetch: {reason}") from exc


Fetch = Callable[[str, dict[str, str]], FetchResult]


@dataclass
class Source:
    """One followed feed URL or folder, with its schedule."""

    target: str
    next_due: float = 0.0
    failures: int = 0
    last_error: str | None = None

    @property
    def is_feed(self) -> bool:
        return self.target.lower().startswith(("http://", "https://"))


@dataclass
class FollowStats:
    polls: int = 0
    not_modified: int = 0
    fetch_errors: int = 0
    report: PublishReport = field(default_factory=PublishReport)


class Follower:
    """Polls feeds and folders on a schedule and publishes through one `Publisher` + state."""

    def __init__(
        self,
        publisher: Publisher,
        state: PublishState,
        targets: list[str],
        *,
        interval: float = 60.0,
        max_backoff: float = 1800.0,
        settle: float = 2.0,
        fmt: str = "auto",
        source: str | None = None,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        for target in targets:
            if not target.lower().startswith(("http://", "https://")) and not Path(target).is_dir():
                raise WirewatchError(f"--follow {target}: not an http(s) URL nor a folder")
        self.publisher = publisher
        self.state = state
        self.sources = [Source(t) for t in targets]
        self.interval = interval
        self.max_backoff = max_backoff
        self.settle = settle
        self.fmt = fmt
        self.default_source = source
        self.fetch = fetch
        self.clock = clock
        self.wall = wall
        self.stats = FollowStats()
        self._pending_files: dict[str, tuple[int, int]] = {}

    # -- one poll ------------------------------------------------------------------------

    def poll(self, src: Source) -> PublishReport:
        """Poll one source now; schedule its next poll (backing off after a failure)."""
        self.stats.polls += 1
        try:
            report = self._poll_feed(src) if src.is_feed else self._poll_folder(src)
        except FetchError as exc:
            src.failures += 1
            src.last_error = str(exc)
            self.stats.fetch_errors += 1
            delay = backoff(src.failures, base=self.interval, cap=self.max_backoff)
            if exc.retry_after is not None:
                delay = max(delay, min(exc.retry_after, self.max_backoff))
            src.next_due = self.clock() + delay
            log.warning("follow.backoff", source=src.target, error=str(exc), delay=round(delay))
            return PublishReport(errors=[str(exc)])
        src.failures = 0
        src.last_error = None
        src.next_due = self.clock() + self.interval
        self.stats.report.merge(report)
        return report

    def _poll_feed(self, src: Source) -> PublishReport:
        validators = self.state.feeds.get(src.target, {})
        result = self.fetch(src.target, validators)
        if result.status == 304:
            self.stats.not_modified += 1
            log.info("follow.not_modified", source=src.target)
            return PublishReport()
        items = list(
            read_document(
                result.body,
                name=src.target,
                fmt=self.fmt,
                source=self.default_source,
                base_url=src.target,
                max_bytes=self.publisher.settings.max_article_bytes,
            )
        )
        articles = [i for i in items if isinstance(i, Article)]
        if not articles and any(isinstance(i, InputFileError) for i in items):
            # Nothing readable: maybe a truncated response or an outage page. Try again later.
            raise FetchError("; ".join(str(i) for i in items if isinstance(i, InputFileError)))
        report = self.publisher.publish_items(items, state=self.state)
        if not report.undelivered:
            # Remember the validators only once everything of this response is in Kafka:
            # otherwise the next poll would get a 304 and never send what failed.
            self.state.feeds[src.target] = {
                k: v
                for k, v in (("etag", result.etag), ("last_modified", result.last_modified))
                if v
            }
            self.state.save()
        log.info("follow.polled", source=src.target, summary=report.summary())
        return report

    def _poll_folder(self, src: Source) -> PublishReport:
        folder = Path(src.target)
        report = PublishReport()
        try:
            files = sorted(f for f in folder.iterdir() if f.is_file() and is_article_file(f))
        except OSError as exc:
            raise FetchError(f"{folder}: cannot list: {exc}") from exc
        now = self.wall()
        present: set[str] = set()
        for path in files:
            key = str(path)
            present.add(key)
            try:
                st = path.stat()
            except OSError:
                continue  # removed meanwhile
            mark = (st.st_mtime_ns, st.st_size)
            if self.state.files.get(key) == mark:
                continue
            # Still being written? Wait until it has been still for `settle` seconds.
            if now - st.st_mtime < self.settle and self._pending_files.get(key) != mark:
                self._pending_files[key] = mark
                continue
            self._pending_files.pop(key, None)
            part = self.publisher.publish_items(
                read_articles(
                    path,
                    source=self.default_source,
                    fmt=self.fmt,
                    max_bytes=self.publisher.settings.max_article_bytes,
                ),
                state=self.state,
            )
            report.merge(part)
            if not part.undelivered:
                self.state.files[key] = mark
        for gone in set(self.state.files) - present:
            if gone.startswith(str(folder)):
                del self.state.files[gone]
        self.state.save()
        if report.published or report.errors:
            log.info("follow.scanned", source=src.target, summary=report.summary())
        return report

    # -- the loop ------------------------------------------------------------------------

    def poll_due(self) -> PublishReport:
        """Poll every source that is due now."""
        report = PublishReport()
        now = self.clock()
        for src in self.sources:
            if src.next_due <= now:
                report.merge(self.poll(src))
        return report

    def run(
        self,
        *,
        rounds: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], None] = time.sleep,
        on_round: Callable[[PublishReport], None] | None = None,
    ) -> FollowStats:
        """Poll until `should_stop()` (or `rounds` rounds); Ctrl-C stops it cleanly.

        The publisher flushes and the state is saved after every poll, so stopping at any
        moment loses nothing that was acknowledged.
        """
        done = 0
        while not should_stop() and (rounds is None or done < rounds):
            part = self.poll_due()
            done += 1
            if on_round is not None:
                on_round(part)
            if rounds is not None and done >= rounds:
                break
            # Sleep in short steps so a stop request is seen within a second.
            while not should_stop():
                wait = min(s.next_due for s in self.sources) - self.clock()
                if wait <= 0:
                    break
                sleep(min(1.0, wait))
        return self.stats
