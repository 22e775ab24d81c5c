"""Benchmarks that print JSON: speed is measured here, never by timed tests."""
