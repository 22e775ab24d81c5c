"""What a running stream has done, for the live display and the benchmark: counts, rate and latency."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

LATENCY_SAMPLES = 200_000  # the most recent ingest-to-flag latencies kept for percentiles


@dataclass
class StreamCounters:
    started: float = field(default_factory=time.monotonic)
    received: int = 0
    accepted: int = 0
    dead_lettered: int = 0
    flagged: int = 0
    announced: int = 0  # flags published to queues (the risk level rose)
    cases_opened: int = 0
    cases_updated: int = 0
    batches: int = 0
    lag: int | None = None  # messages waiting at the source, where the source can tell
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.received / elapsed if elapsed > 0 else 0.0

    def latency_ms(self, q: float) -> float | None:
        return float(np.percentile(np.fromiter(self.latencies, float), q) * 1000) if self.latencies else None

    def snapshot(self) -> dict[str, object]:
        p50, p99 = self.latency_ms(50), self.latency_ms(99)
        return {
            "received": self.received, "accepted": self.accepted, "dead_lettered": self.dead_lettered,
            "flagged": self.flagged, "announced": self.announced, "cases_opened": self.cases_opened,
            "cases_updated": self.cases_updated, "batches": self.batches, "lag": self.lag,
            "messages_per_s": round(self.rate(), 1), "seconds": round(time.monotonic() - self.started, 2),
            "ingest_to_flag_p50_ms": round(p50, 2) if p50 is not None else None,
            "ingest_to_flag_p99_ms": round(p99, 2) if p99 is not None else None,
        }
