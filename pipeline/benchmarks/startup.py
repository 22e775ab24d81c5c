"""How long a new process takes to build the vulnerability detector, with the regex cache cold and warm.

Every stream worker, benchmark process and CLI call builds it at start. Each figure comes from a
fresh interpreter (imports included), so nothing this process has compiled or imported helps it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.benchmarks.timing import cpu_model
from pipeline.config import PROJECT_ROOT

_CHILD = "from pipeline.benchmarks.startup import build_once; build_once()"


def build_once() -> None:
    """Run in the child: import and build the detector the stream builds, check it works, print the time."""
    started = time.perf_counter()
    from pipeline.signals.vulnerability import VulnerabilityDetector

    detector = VulnerabilityDetector()
    seconds = time.perf_counter() - started
    if not detector.detect_one("my mum passed away last week"):
        raise RuntimeError("the detector built from the cache found no bereavement in a plain one")
    print(json.dumps({"seconds": seconds}))


def start_up_seconds(cache_dir: Path) -> float:
    """One fresh process's import and build time, with `cache_dir` as its regex cache."""
    done = subprocess.run([sys.executable, "-c", _CHILD], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "EARLYWARN_CACHE_DIR": str(cache_dir)}, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the vulnerability detector failed:\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def bench_startup(repeats: int = 3) -> dict[str, Any]:
    """Cold: an empty cache, as on a fresh machine (the process compiles and writes it). Warm: the best of
    `repeats` processes reading it."""
    with tempfile.TemporaryDirectory(prefix="earlywarn-startup-") as folder:
        cache = Path(folder)
        cold = start_up_seconds(cache)
        warm = min(start_up_seconds(cache) for _ in range(repeats))
        cached = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    return {
        "benchmark": "startup",
        "what": "a new process imports and builds VulnerabilityDetector",
        "cpu": cpu_model(),
        "cold_cache_s": round(cold, 2),
        "warm_cache_s": round(warm, 2),
        "speed_up": round(cold / warm, 1),
        "cache_mb": round(cached / 2**20, 1),
    }
