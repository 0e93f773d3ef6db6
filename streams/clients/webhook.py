"""The alert webhook: POSTs each alert as JSON to the configured URL in the background, with
the one retry loop (`WIREWATCH_ALERT_WEBHOOK_ATTEMPTS` tries), and records the outcome on the
alert document. The URL and the token are secrets (a URL often embeds a token): never logged.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiohttp
import structlog
from elasticsearch import AsyncElasticsearch

from processors.errors import WirewatchError
from processors.rules import Alert
from streams import metrics
from streams.core.retry import RetryLater, RetryPolicy, retry
from streams.settings import Settings

log = structlog.get_logger(__name__)

WEBHOOK_QUEUE = 10_000
WEBHOOK_CONCURRENCY = 4


class WebhookRefused(WirewatchError):
    """The receiver refused the alert for good (a 4xx other than 408, 425, 429)."""


class WebhookSender:
    """POSTs alerts as JSON to the configured URL, retrying with backoff; records the outcome
    on the alert document. Never logs the URL (a secret: it often embeds a token)."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, index: str) -> None:
        assert settings.alert_webhook_url is not None
        self.url = settings.alert_webhook_url
        self.token = settings.alert_webhook_token
        self.timeout = settings.alert_webhook_timeout
        self.policy = RetryPolicy(
            base=settings.alert_webhook_backoff, cap=60.0, attempts=settings.alert_webhook_attempts
        )
        self.es = es
        self.index = index
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=WEBHOOK_QUEUE)
        self.session: aiohttp.ClientSession | None = None

    def submit(self, alert: Alert) -> bool:
        try:
            self.queue.put_nowait(alert)
        except asyncio.QueueFull:
            return False
        return True

    async def run(self) -> None:
        self.session = aiohttp.ClientSession()
        sem = asyncio.Semaphore(WEBHOOK_CONCURRENCY)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                alert = await self.queue.get()
                await sem.acquire()
                task = asyncio.create_task(self._deliver_and_release(alert, sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()
            await self.session.close()

    async def _deliver_and_release(self, alert: Alert, sem: asyncio.Semaphore) -> None:
        try:
            await self.deliver(alert)
        except Exception:
            log.exception("webhook.crashed", alert=alert.id)
        finally:
            sem.release()

    async def post(self, alert: Alert) -> tuple[bool, bool, str | None]:
        """One attempt: (delivered, worth retrying, error)."""
        assert self.session is not None
        headers = {"Content-Type": "application/json", "X-Wirewatch-Alert": alert.id}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        try:
            async with self.session.post(
                self.url.get_secret_value(),
                data=alert.to_bytes(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                if 200 <= resp.status < 300:
                    return True, False, None
                retry = resp.status in {408, 425, 429} or resp.status >= 500
                return False, retry, f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The class only: aiohttp's messages name the host and port of the secret URL.
            return False, True, type(exc).__name__

    async def deliver(self, alert: Alert) -> Alert:
        attempts = 0

        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            delivered, again, error = await self.post(alert)
            if delivered:
                return
            if again:
                raise RetryLater(error or "not delivered")
            raise WebhookRefused(error or "refused")

        delivered, error = True, None
        try:
            await retry("webhook", attempt, stage="webhook", policy=self.policy)
        except (RetryLater, WebhookRefused) as exc:
            delivered, error = False, str(exc)
        metrics.WEBHOOK_DELIVERIES.labels(outcome="delivered" if delivered else "failed").inc()
        delivered_at = datetime.now(UTC) if delivered else None
        update: dict[str, Any] = {
            "delivered": delivered,
            "delivery": "delivered" if delivered else "failed",
            "delivery_attempts": attempts,
            "delivery_error": error,
            "delivered_at": delivered_at.isoformat() if delivered_at else None,
        }
        if not delivered:
            log.warning("webhook.failed", alert=alert.id, attempts=attempts, error=error)
        await retry(
            "webhook_status",
            partial(self.es.update, index=self.index, id=alert.id, doc=update),
            stage="webhook",
        )
        return alert.model_copy(update=update | {"delivered_at": delivered_at})
