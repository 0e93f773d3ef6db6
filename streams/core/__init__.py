"""The reliability primitives every stage and client share: the fault classifier, the one
retry loop and backoff, the one durable Kafka send, the batch runner, dead letters."""
