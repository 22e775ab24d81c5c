"""Training and cross-validating the fast model on the complaint tweets, tracked in MLflow."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.datasets.complaint_tweets import load_complaint_tweets
from pipeline.scoring.fast import FastScorer
from pipeline.scoring.registry import ScorerName, artefact_dir
from pipeline.signals import CueExtractor, cue_feature_names
from pipeline.training.evaluation import cross_validate_fast
from pipeline.training.tracking import log_folder, log_json, tracked_run

Advance = Callable[[int], None]
CHUNK = 256


def featurize_with_progress(extractor: CueExtractor, texts: Sequence[str], advance: Advance | None = None) -> np.ndarray:
    rows: list[list[float]] = []
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        rows += extractor.featurize(chunk)
        if advance:
            advance(len(chunk))
    return np.asarray(rows, dtype=float)


def train_fast(
    settings: Settings, tweets: pd.DataFrame | None = None, advance: Advance | None = None, track: bool = True
) -> dict[str, object]:
    """Fit on every complaint tweet (`tweets` as `load_complaint_tweets` returns them), save the
    artefact, log it; returns a JSON-ready summary."""
    started = time.perf_counter()
    tweets = load_complaint_tweets(settings.data_dir) if tweets is None else tweets
    texts = tweets["text"].tolist()
    extractor = CueExtractor()
    cues = featurize_with_progress(extractor, texts, advance)
    scorer = FastScorer.train(
        texts, tweets["label"].tolist(), tweets["severity"].tolist(), extractor=extractor, cue_matrix=cues,
        random_state=settings.seed,
    )
    folder = scorer.save(artefact_dir(settings, ScorerName.fast))
    summary: dict[str, object] = {
        "model": "fast",
        "model_version": scorer.version,
        "path": str(folder),
        "threshold": round(scorer.threshold, 4),
        "training_rows": len(texts),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if track:
        with tracked_run(settings, "earlywarn-train", f"train-{scorer.version}", scorer.meta.params) as mlflow:
            log_json(mlflow, {"threshold": scorer.threshold, "training_rows": len(texts)}, "train.json")
            mlflow.set_tag("model_version", scorer.version)
            log_folder(mlflow, folder, "model")
    return summary


def fast_oof_path(settings: Settings) -> Path:
    return settings.models_dir / "fast-cv" / "oof.npz"


def evaluate_fast(
    settings: Settings,
    tweets: pd.DataFrame | None = None,
    folds: int = 10,
    advance_cues: Advance | None = None,
    on_fold: Callable[[int], None] | None = None,
    track: bool = True,
) -> dict[str, object]:
    tweets = load_complaint_tweets(settings.data_dir) if tweets is None else tweets
    names = cue_feature_names()
    cues = featurize_with_progress(CueExtractor(), tweets["text"].tolist(), advance_cues)
    summary, oof = cross_validate_fast(tweets, cues, names, folds=folds, seed=settings.seed, on_fold=on_fold)
    oof.save(fast_oof_path(settings))  # the cascade's band is chosen on these
    result = {"model": "fast", "protocol": f"stratified {folds}-fold CV on the complaint tweets", **summary}
    if track:
        with tracked_run(settings, "earlywarn-evaluate", f"cv{folds}-fast", {"model": "fast", "folds": folds, "seed": settings.seed}) as mlflow:
            log_json(mlflow, result, "evaluation.json")
    return result
