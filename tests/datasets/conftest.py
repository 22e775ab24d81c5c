"""Fixtures for the loader tests: the real data folder, and the big airline file parsed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import get_settings


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = get_settings().data_dir
    if not (root / "goemotions" / "labels.txt").is_file():
        pytest.skip(f"the public data releases are not at {root}: set EARLYWARN_DATA_DIR or run scripts/fetch_data.py")
    return root


@pytest.fixture(scope="session")
def airline_raw(data_dir: Path):
    from pipeline.datasets.airline_threads import load_airline_threads

    return load_airline_threads("raw", data_dir)
