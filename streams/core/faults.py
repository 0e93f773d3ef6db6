"""The one answer to "is this error data, transient, process-wide or a bug?".

- `data`: the message can never be processed (bad input): dead-letter it, do not retry.
- `transient`: the broker or the node is away, slow or overloaded: retry with backoff, never
  dead-letter (the article is fine; waiting is the backpressure).
- `fatal`: nothing can work in this process (the model cannot load, configuration is wrong,
  a topic has the wrong layout): stop the worker before the ack, so an operator sees it.
- `bug`: anything else. It may be one hostile message (a `RecursionError`, a library's
  `ValueError`) or a defect; the batch runner (`streams.core.batches`) finds out by running the
  batch's messages one at a time.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from aiokafka.errors import KafkaError as AIOKafkaError  # type: ignore[import-untyped]
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, TransportError
from kafka.errors import KafkaError
from pydantic import ValidationError

from processors.errors import InvalidArticle, WirewatchError

Fault = Literal["data", "transient", "fatal", "bug"]

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses of Elasticsearch worth retrying."""


class FatalError(WirewatchError):
    """Process-wide: no message can be processed here (model, configuration, topic layout)."""


def classify(exc: BaseException) -> Fault:
    """Which kind of fault `exc` is (see the module docstring)."""
    if isinstance(exc, FatalError):
        return "fatal"
    if isinstance(exc, InvalidArticle | ValidationError):
        return "data"
    if isinstance(exc, ApiError):
        return "transient" if exc.status_code in TRANSIENT_STATUS else "bug"
    if isinstance(exc, ConnectionError | ConnectionTimeout | TransportError):
        return "transient"
    if isinstance(exc, AIOKafkaError | KafkaError):
        return "transient"  # producer and metadata errors all clear up or stay visible as lag
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionRefusedError):
        return "transient"
    return "bug"


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the node or broker is away, overloaded or failing for now."""
    return classify(exc) == "transient"
