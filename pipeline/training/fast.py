"""Training and cross-validating the fast model on the complaint tweets, tracked in MLflow."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.datasets.complaint_tweets import load_complaint_tweets
from pipeline.errors import ModelNotTrainedError
from pipeline.scoring.champion import (
    CHALLENGER,
    CHAMPION,
    GATE_METRIC,
    by_alias,
    evaluation_protocol,
    record_evaluation,
    register,
    registered_name,
)
from pipeline.scoring.fast import FastScorer, stored_params
from pipeline.scoring.fast_model import FastComplaintModel
from pipeline.scoring.registry import ScorerName, artefact_dir, artefact_version
from pipeline.signals import CueExtractor, cue_feature_names
from pipeline.training.curves import write_curves
from pipeline.training.distillation import fold_teachers, report, served_teacher
from pipeline.training.evaluation import cross_validate_fast
from pipeline.training.params import load_params
from pipeline.training.tracking import log_folder, log_json, log_model_card, tracked_run

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
    distillation = report(served_teacher(settings, tweets, lambda pool: featurize_with_progress(extractor, pool)))
    scorer = FastScorer.train(
        texts, tweets["label"].tolist(), tweets["severity"].tolist(), extractor=extractor, cue_matrix=cues,
        teacher=None if distillation is None else distillation.teachers[0],
        distilled=None if distillation is None else distillation.describe(),
        random_state=settings.seed, **load_params(settings.params_file).fast.overrides(),
    )
    folder = scorer.save(artefact_dir(settings, ScorerName.fast))
    summary: dict[str, object] = {
        "model": "fast",
        "model_version": scorer.version,
        "path": str(folder),
        "threshold": round(scorer.threshold, 4),
        "training_rows": len(texts),
        "distilled": scorer.meta.distilled,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if track:
        with tracked_run(settings, "earlywarn-train", f"train-{scorer.version}", scorer.meta.params) as mlflow:
            log_json(mlflow, {"threshold": scorer.threshold, "training_rows": len(texts)}, "train.json")
            mlflow.set_tag("model_version", scorer.version)
            log_folder(mlflow, folder, "model")
            log_model_card(mlflow, settings, "fast")
            registered = register(settings, ScorerName.fast.value, mlflow.active_run().info.run_id,
                                  mlflow.get_artifact_uri("model"), scorer.version)
        summary["registered"] = {"model": registered_name(ScorerName.fast.value), "version": registered.number,
                                 "aliases": _aliases(settings, registered.number)}
    return summary


def _aliases(settings: Settings, number: int) -> list[str]:
    return [alias for alias in (CHAMPION, CHALLENGER)
            if (found := by_alias(settings, ScorerName.fast.value, alias)) and found.number == number]


def fast_oof_path(settings: Settings) -> Path:
    return settings.models_dir / "fast-cv" / "oof.npz"


def evaluate_fast(
    settings: Settings,
    tweets: pd.DataFrame | None = None,
    folds: int = 10,
    advance_cues: Advance | None = None,
    on_fold: Callable[[int], None] | None = None,
    track: bool = True,
    plots: Path | None = None,
    teacher_groups: int = 0,
    advance_teachers: Advance | None = None,
) -> dict[str, object]:
    """The 10-fold protocol on the complaint tweets with params.yaml's `fast` section; `plots` also
    writes the out-of-fold precision-recall and reliability tables there (`fast-pr.csv`,
    `fast-calibration.csv`) for `dvc plots`. Fold k is distilled from a network that never saw it: the deep
    cross-validation's, or with `teacher_groups` one of that many fine-tuned here (see `fold_teachers`)."""
    tweets = load_complaint_tweets(settings.data_dir) if tweets is None else tweets
    names = cue_feature_names()
    params = load_params(settings.params_file).fast.overrides()
    extractor = CueExtractor()
    cues = featurize_with_progress(extractor, tweets["text"].tolist(), advance_cues)
    distillation = report(fold_teachers(settings, tweets, folds, lambda pool: featurize_with_progress(extractor, pool),
                                        groups=teacher_groups, advance=advance_teachers))
    summary, oof = cross_validate_fast(tweets, cues, names, folds=folds, seed=settings.seed, on_fold=on_fold,
                                       params=params, teachers=None if distillation is None else distillation.teachers)
    oof.save(fast_oof_path(settings))  # the cascade's band is chosen on these
    curves = write_curves(tweets["label"].to_numpy(dtype=int), oof.complaint, plots, "fast") if plots else []
    result = {"model": "fast", "protocol": f"stratified {folds}-fold CV on the complaint tweets",
              "distilled": None if distillation is None else distillation.describe(), **summary}
    if track:
        with tracked_run(settings, "earlywarn-evaluate", f"cv{folds}-fast",
                         {"model": "fast", "folds": folds, "seed": settings.seed, **params}) as mlflow:
            log_json(mlflow, result, "evaluation.json")
            for path in curves:
                mlflow.log_artifact(str(path), artifact_path="curves")
        result["registered"] = _record(settings, tweets, folds, float(summary["complaint_macro_f1"]), params,
                                       distillation is not None)
    return result


def _record(settings: Settings, tweets: pd.DataFrame, folds: int, macro_f1: float,
            params: dict[str, object], distilled: bool) -> dict[str, object] | None:
    """The evaluation on the registered version of the artefact in models/fast: what the promotion gate
    compares. The protocol names folds, seed and a fingerprint of the data, so only like is compared;
    and the figure is recorded only when that artefact was trained as just evaluated: with the same
    parameters, and distilled from a teacher exactly when the evaluation was."""
    try:
        on_disk = artefact_version(settings, ScorerName.fast)
    except ModelNotTrainedError:
        return None
    evaluated = stored_params(FastComplaintModel(random_state=settings.seed, **params).get_params())
    meta = json.loads((artefact_dir(settings, ScorerName.fast) / "meta.json").read_text())
    if (meta.get("distilled") is not None) != distilled:
        how = "with" if distilled else "without"
        return {"version": None, "not_recorded": f"models/fast ({on_disk}) was trained {'without' if distilled else 'with'} "
                f"a teacher, and this evaluation ran {how} one: train both the same way (the deep network in "
                "models/deep-torch teaches `train`; the deep cross-validation's fold networks teach `evaluate`)"}
    trained = meta.get("params", {})
    differ = sorted(k for k in evaluated if trained.get(k) != evaluated[k])
    if differ:
        return {"version": None, "not_recorded": f"models/fast ({on_disk}) was trained with other values of "
                f"{', '.join(differ)} than params.yaml gives now: train it again (`earlywarn train --model fast`) "
                "and evaluate, so the gate compares the model it would promote"}
    protocol = evaluation_protocol(tweets["text"].tolist(), folds, settings.seed)
    version = record_evaluation(settings, ScorerName.fast.value, on_disk, macro_f1, protocol)
    return None if version is None else {"version": version.number, "protocol": protocol, GATE_METRIC: macro_f1}
