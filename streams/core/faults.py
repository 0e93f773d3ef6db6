"""The one answer to "is this error data, transient, process-wide or a bug?".

- `data`: the message can never be processed (bad input, a record Kafka refuses as too
  large): dead-letter it, do not retry.
- `transient`: the broker or the node is away, slow or overloaded: retry with backoff, never
  dead-letter (the article is fine; waiting is the backpressure).
- `fatal`: nothing can work in this process (the model cannot load, configuration is wrong,
  credentials or permissions are refused, a topic has the wrong layout): stop the worker
  before the ack, so an operator sees it.
- `bug`: anything else. It may be one hostile message (a `RecursionError`, a library's
  `ValueError`) or a defect; the batch runner (`streams.core.batches`) finds out by running
  the batch's messages one at a time.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from aiokafka import errors as aiokafka_errors  # type: ignore[import-untyped]
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, TransportError
from kafka import errors as kafka_errors
from pydantic import ValidationError

from processors.errors import InvalidArticle, WirewatchError

Fault = Literal["data", "transient", "fatal", "bug"]

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses of Elasticsearch worth retrying."""
FATAL_STATUS = frozenset({401, 403})
"""HTTP statuses that no retry can fix: credentials or privileges are wrong."""

KAFKA_DATA = (
    aiokafka_errors.MessageSizeTooLargeError,
    aiokafka_errors.RecordListTooLargeError,
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
)
"""The broker refuses this record, whatever the retries: it is the message's fault."""
KAFKA_FATAL = (
    aiokafka_errors.TopicAuthorizationFailedError,
    aiokafka_errors.ClusterAuthorizationFailedError,
    aiokafka_errors.AuthenticationFailedError,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.SaslAuthenticationFailedError,
)
"""Credentials or ACLs refused: no message can be sent until an operator fixes them."""
KAFKA_ERRORS = (aiokafka_errors.KafkaError, kafka_errors.KafkaError)


class FatalError(WirewatchError):
    """Process-wide: no message can be processed here (model, configuration, topic layout)."""


class RetryLater(WirewatchError):
    """Part of the work is done and the rest must run again after a backoff (transient)."""


class UndeliverableRecord(WirewatchError):
    """Kafka refused this one record for good (for example larger than the topic allows)."""


def classify(exc: BaseException) -> Fault:
    """Which kind of fault `exc` is (see the module docstring)."""
    if isinstance(exc, FatalError):
        return "fatal"
    if isinstance(exc, RetryLater):
        return "transient"
    if isinstance(exc, InvalidArticle | ValidationError | UndeliverableRecord):
        return "data"
    if isinstance(exc, ApiError):
        if exc.status_code in FATAL_STATUS:
            return "fatal"
        return "transient" if exc.status_code in TRANSIENT_STATUS else "bug"
    if isinstance(exc, ConnectionError | ConnectionTimeout | TransportError):
        return "transient"
    if isinstance(exc, KAFKA_DATA):
        return "data"
    if isinstance(exc, KAFKA_FATAL):
        return "fatal"
    if isinstance(exc, KAFKA_ERRORS):
        # Retriable or not, other broker errors clear up or stay visible as consumer lag;
        # dropping an article on one would lose it.
        return "transient"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionRefusedError):
        return "transient"
    return "bug"


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the node or broker is away, overloaded or failing for now."""
    return classify(exc) == "transient"
