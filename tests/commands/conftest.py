"""The CLI against a fresh SQLite store: settings and the cached service are reset around each test."""

from __future__ import annotations

import pytest

from pipeline.commands.cases import _service
from pipeline.config import get_settings


@pytest.fixture
def db(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EARLYWARN_DATABASE_URL", url)
    get_settings.cache_clear()
    _service.cache_clear()
    yield tmp_path / "cli.db"
    _service.cache_clear()
    get_settings.cache_clear()
