"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor, with its family and model: int8 speed-ups differ between generations that share a
    name (two hosts that both call themselves "AMD EPYC" gave 2.9× and 3.0-4.1×), so a figure is only
    comparable on the same kind."""
    if not cpuinfo.is_file():
        return platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    for line in cpuinfo.read_text().splitlines():
        key, _, value = line.partition(":")
        if not line.strip():
            break  # the first processor is enough
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", platform.machine())
    return f"{name} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"


def best_rate(run: Callable[[], object], count: int, repeats: int) -> float:
    """Items per second of the fastest of `repeats` runs: the least disturbed by a busy machine."""
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - started)
    return count / fastest
