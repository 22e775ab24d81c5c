"""Scorers by name, loaded from the models directory: the CLI, the stream and the API ask here."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from pipeline.config import Settings
from pipeline.scoring.base import Scorer
from pipeline.scoring.fast import FastScorer


class ScorerName(str, Enum):
    fast = "fast"


def artefact_dir(settings: Settings, name: ScorerName) -> Path:
    return settings.models_dir / name.value


def load_scorer(name: ScorerName, settings: Settings) -> Scorer:
    if name is ScorerName.fast:
        return FastScorer.load(artefact_dir(settings, name), threshold=settings.complaint_threshold)
    raise AssertionError(f"unhandled scorer {name}")  # pragma: no cover - the enum is exhaustive


def available_scorers(settings: Settings) -> list[ScorerName]:
    """Scorers with a trained artefact on disk."""
    return [name for name in ScorerName if (artefact_dir(settings, name) / "meta.json").is_file()]
