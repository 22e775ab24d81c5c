"""Shared fixtures: the real data directory and a fast model trained once per session on real tweets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Settings, get_settings, offline_model_environment

offline_model_environment()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def complaint_tweets(settings: Settings) -> pd.DataFrame:
    from pipeline.datasets.complaint_tweets import load_complaint_tweets

    return load_complaint_tweets(settings.data_dir)


@pytest.fixture(scope="session")
def training_sample(complaint_tweets: pd.DataFrame) -> pd.DataFrame:
    """A stratified 900-tweet sample: enough for every severity level, small enough to train in seconds."""
    return complaint_tweets.groupby("severity", group_keys=False).sample(frac=0.33, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="session")
def cue_extractor():
    from pipeline.signals import CueExtractor

    return CueExtractor()


@pytest.fixture(scope="session")
def fast_scorer(training_sample: pd.DataFrame, cue_extractor):
    from pipeline.scoring.fast import FastScorer

    return FastScorer.train(
        training_sample["text"].tolist(),
        training_sample["label"].tolist(),
        training_sample["severity"].tolist(),
        extractor=cue_extractor,
        calibration_folds=3,
    )


@pytest.fixture(scope="session")
def models_dir(fast_scorer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding the session's fast model, as `earlywarn train` lays it out."""
    root = tmp_path_factory.mktemp("models")
    fast_scorer.save(root / "fast")
    return root
