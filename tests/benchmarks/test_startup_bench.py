"""A new process builds the vulnerability detector from the regex cache an earlier one wrote."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.benchmarks.startup import start_up_seconds
from pipeline.signals.vulnerability import VulnerabilityDetector


def test_a_new_process_builds_the_detector_from_the_cache_without_compiling_anything_new():
    VulnerabilityDetector(learned=None)  # compiles into the run's cache, or finds it there
    cache = Path(os.environ["EARLYWARN_CACHE_DIR"])
    before = sorted(p.name for p in (cache / "regex").glob("*.sre"))
    assert len(before) > 10  # the large rules' programs

    assert start_up_seconds(cache) > 0  # the child asserts its detector finds a bereavement
    assert sorted(p.name for p in (cache / "regex").glob("*.sre")) == before
