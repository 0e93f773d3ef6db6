"""Benchmarks: `make bench` runs them on the real stack and writes bench/results.json."""
