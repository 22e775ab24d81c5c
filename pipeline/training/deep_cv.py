"""Stratified k-fold cross-validation of the deep scorer, PyTorch fp32 and ONNX int8 side by side.

Each fold fine-tunes a fresh model on the other folds, then scores its own fold twice: with the
PyTorch model and with its int8 ONNX export, so the quantisation loss is measured on the same
protocol. Calibration and the decision threshold are cross-fitted on the raw out-of-fold scores:
fold k is calibrated by an isotonic map and a threshold fitted on the other folds only, so the
reported ECE and F1 never see the labels they are judged on. The raw scores are returned for the
served model's calibrator and for choosing the cascade's band.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from pipeline.scoring.calibration import best_macro_f1_threshold, fit_isotonic
from pipeline.scoring.deep import DeepMeta, DeepScorer, compose_severity
from pipeline.scoring.fast_model import FastPrediction, decide_severity
from pipeline.scoring.onnx_export import export_onnx, quantize_int8
from pipeline.training.deep import DeepConfig, finetune, predict
from pipeline.training.evaluation import OutOfFold, fold_metrics, summarise


@dataclass(frozen=True)
class RawOutOfFold:
    """Uncalibrated out-of-fold scores of one variant (fp32 or int8)."""

    complaint: np.ndarray
    severity: np.ndarray  # (n, 5), the severity head's own distribution
    fold: np.ndarray


def cross_fit(raw: RawOutOfFold, labels: np.ndarray) -> OutOfFold:
    """Calibrate and decide each fold with a map and threshold learnt on the other folds."""
    n = len(labels)
    oof = OutOfFold(np.zeros(n), np.zeros(n, dtype=int), np.zeros(n, dtype=int), raw.fold.copy())
    for k in np.unique(raw.fold):
        test, rest = raw.fold == k, raw.fold != k
        calibrator = fit_isotonic(raw.complaint[rest], labels[rest])
        threshold = best_macro_f1_threshold(labels[rest], calibrator.predict(raw.complaint[rest]))
        p = np.clip(calibrator.predict(raw.complaint[test]), 0.0, 1.0)
        decision = p >= threshold
        prediction = FastPrediction(complaint=p, severity=compose_severity(p, raw.severity[test]))
        oof.complaint[test], oof.decision[test] = p, decision
        oof.severity[test] = decide_severity(prediction, decision)
    return oof


def cross_validate_deep(
    frame: pd.DataFrame,
    folds: int = 10,
    seed: int = 13,
    config: DeepConfig = DeepConfig(),
    advance: Callable[[int], None] | None = None,
    on_fold: Callable[[int], None] | None = None,
    max_steps: int | None = None,
) -> tuple[dict[str, object], dict[str, RawOutOfFold]]:
    """The protocol for both variants; returns {"fp32": summary, "int8": summary, ...} and the raw OOF."""
    texts, labels = frame["text"].tolist(), frame["label"].to_numpy()
    severity = frame["severity"].to_numpy()
    n = len(frame)
    raw = {v: RawOutOfFold(np.zeros(n), np.zeros((n, 5)), np.zeros(n, dtype=int)) for v in ("fp32", "int8")}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(texts, labels)):
        model = finetune([texts[i] for i in train], labels[train], severity[train], config, advance, max_steps)
        test_texts = [texts[i] for i in test]
        p, sev = predict(model, test_texts)
        raw["fp32"].complaint[test], raw["fp32"].severity[test] = p, sev
        with tempfile.TemporaryDirectory(prefix="earlywarn-fold-") as folder:
            int8 = quantize_int8(export_onnx(model, Path(folder) / "fp32.onnx"), Path(folder) / "int8.onnx")
            meta = DeepMeta(version=f"cv-fold-{k}", trained_at="", threshold=0.5, quantized=True)
            scorer = DeepScorer(DeepScorer.save(Path(folder) / "artefact", int8, meta), meta)
            raw["int8"].complaint[test], raw["int8"].severity[test] = scorer.predict_raw(test_texts)
        for variant in raw.values():
            variant.fold[test] = k
        if on_fold:
            on_fold(k)
    result: dict[str, object] = {}
    for name, variant in raw.items():
        oof = cross_fit(variant, labels)
        per_fold = [fold_metrics(labels, severity, oof, oof.fold == k) for k in range(folds)]
        result[name] = summarise(frame, oof, per_fold, folds, seed)
    result["int8_macro_f1_loss_points"] = round(
        100 * (result["fp32"]["complaint_macro_f1"] - result["int8"]["complaint_macro_f1"]), 2)  # type: ignore[index]
    return result, raw

