"""Operator commands' logic: search, dead-letter replay, re-indexing, rule sync."""
