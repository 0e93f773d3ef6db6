"""What every stage is: a Faust service with a name, the batch it takes from its source topic,
the topics it writes, and one way to send, dead-letter and isolate.

A stage's `process(events)` does one batch and returns only when the batch's effect is
durable (records on their topics with acks=all, documents accepted by Elasticsearch, dead
letters sent). `streams.app` runs it under the batch runner (`streams.core.batches`), which
isolates a poison message, retries an outage and fail-stops on a fatal error. Stages receive
all their collaborators here, from the topology; none reaches into another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import faust
import mode
from faust.types import EventT

from streams.core.batches import Isolation, wait_turn
from streams.core.deadletter import DeadLetters
from streams.core.send import Record, Sender, Undelivered, send_durably
from streams.settings import Settings


@dataclass(frozen=True)
class Batching:
    """How a stage takes its batches: up to `size` events, waiting at most `seconds`, with
    `overlap` batches in hand at once, finishing in the order taken
    (`streams.core.batches.Window`)."""

    size: int
    seconds: float
    overlap: int = 1


class Stage(mode.Service):
    """Base of the four stages (enrich, stories, index, alerts)."""

    name: ClassVar[str]
    """The stage's name in metrics, logs and dead letters."""

    def __init__(
        self,
        settings: Settings,
        sender: Sender,
        dead_letters: DeadLetters,
        outputs: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.sender = sender
        self.dead_letter = dead_letters
        self.outputs = outputs
        """Output role -> topic name, from the topology (for example `{"next": ...}`)."""
        self.ready = asyncio.Event()
        """Set when on_start has run: Faust resumes the streams after table recovery but
        starts services a moment later, so a batch can arrive before the stage is ready."""

    @property
    def isolation(self) -> Isolation:
        """How the batch runner isolates a poison message of this stage."""
        return Isolation(dead_letter=self.dead_letter, attempts=self.settings.poison_attempts)

    def declare(self, app: faust.App) -> None:
        """Declare what the stage needs on the app at build time (tables); none by default."""

    async def on_start(self) -> None:
        self.ready.set()

    async def process(self, events: Sequence[EventT[bytes]]) -> None:
        raise NotImplementedError

    async def run(self, events: Sequence[EventT[bytes]]) -> None:
        """One batch, once the stage is ready (what the agent calls)."""
        if not self.ready.is_set():
            await self.ready.wait()
        await self.process(events)

    async def send(self, role: str, records: Sequence[Record]) -> list[Undelivered]:
        """Send to the output topic of `role` durably (`streams.core.send`), after the
        batch taken before this one has sent (batches go out in the order taken)."""
        await wait_turn()
        return await send_durably(self.sender, self.outputs[role], records, stage=self.name)

    async def send_or_dead_letter(
        self,
        role: str,
        records: Sequence[tuple[EventT[bytes], Record]],
    ) -> None:
        """Send each event's output record; dead-letter the events whose record Kafka
        refuses for good (`undeliverable`), the same in every stage."""
        refused = await self.send(role, [record for _, record in records])
        if not refused:
            return
        by_record = {id(record): event for event, record in records}
        for item in refused:
            await self.dead_letter(
                by_record[id(item.record)],
                self.name,
                "undeliverable",
                f"{self.outputs[role]!r} refused the output record "
                f"({len(item.record.value)} bytes): {type(item.error).__name__}: {item.error}",
            )
