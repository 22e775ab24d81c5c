"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_rate(run: Callable[[], object], count: int, repeats: int) -> float:
    """Items per second of the fastest of `repeats` runs: the least disturbed by a busy machine."""
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - started)
    return count / fastest
