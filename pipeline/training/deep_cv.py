"""Stratified k-fold cross-validation of the deep scorer, PyTorch fp32 and ONNX int8 side by side.

Each fold fine-tunes a fresh model on the other folds, then scores its own fold twice: with the
PyTorch model and with its int8 ONNX export, so the quantisation loss is measured on the same
protocol. The decision maps (stack with the fast model, calibrator, threshold, severity offsets)
are cross-fitted on the raw out-of-fold scores: fold k is decided by maps fitted on the other
folds only, so the reported F1 and ECE never see the labels they are judged on. The raw scores
are kept for the served model's maps and for choosing the cascade's band.

A full run fine-tunes ten models (40 minutes to over an hour on two cores), so each finished fold
is kept in a checkpoint folder under a key of the data, the folds and the configuration: its
weights, and its scores under a tag of the quantisation. An interrupted run resumes where it
stopped, a changed configuration never reuses a stale fold, and a changed quantisation is
measured on the same fold models without fine-tuning them again.

Each fold model also scores the unlabelled customer pool (`teach_pool`): the fast model's
cross-validation distils fold k from a network that did not see fold k, so its figures stay honest.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from pipeline.datasets.customer_pool import CustomerPool
from pipeline.scoring.deep import DeepMeta, DeepScorer
from pipeline.scoring.deep_model import ComplaintEncoder
from pipeline.scoring.onnx_export import QUANTIZATION, export_int8
from pipeline.scoring.stacking import DecisionMaps, compose_severity
from pipeline.training.deep import DeepConfig, finetune, predict
from pipeline.training.evaluation import OutOfFold, fold_metrics, summarise


@dataclass(frozen=True)
class RawOutOfFold:
    """Uncalibrated out-of-fold scores of one variant (fp32 or int8)."""

    complaint: np.ndarray
    severity: np.ndarray  # (n, 5), the severity head's own distribution
    fold: np.ndarray

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, complaint=self.complaint, severity=self.severity, fold=self.fold)
        return path

    @classmethod
    def load(cls, path: Path) -> RawOutOfFold:
        with np.load(path) as stored:
            return cls(stored["complaint"], stored["severity"], stored["fold"])


@dataclass(frozen=True)
class FoldTeachers:
    """For each fold k, a network's raw scores on one unlabelled pool, from a network that never saw fold k:
    what the fast model's fold k learns from."""

    complaint: np.ndarray  # (folds, pool)
    severity: np.ndarray  # (folds, pool, 5)
    fold: np.ndarray  # the labelled tweets' fold, to check the fast model's folds are these
    pool_fingerprint: str
    networks: int  # how many fine-tuned networks taught (one per group of folds)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, complaint=self.complaint, severity=self.severity, fold=self.fold,
                            pool_fingerprint=np.array(self.pool_fingerprint), networks=np.array(self.networks))
        return path

    @classmethod
    def load(cls, path: Path) -> FoldTeachers:
        with np.load(path) as stored:
            return cls(stored["complaint"], stored["severity"], stored["fold"], str(stored["pool_fingerprint"]),
                       int(stored["networks"]))


def run_key(frame: pd.DataFrame, folds: int, seed: int, config: DeepConfig, max_steps: int | None) -> str:
    """What a fold's result depends on; a checkpoint is reused only under the same key."""
    digest = hashlib.sha256(json.dumps([folds, seed, max_steps, config.as_params()], sort_keys=True).encode())
    for text, label, severity in zip(frame["text"], frame["label"], frame["severity"], strict=True):
        digest.update(f"{label}\t{severity}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def cross_fit(raw: RawOutOfFold, labels: np.ndarray, severity: np.ndarray | None = None,
              fast: np.ndarray | None = None) -> OutOfFold:
    """Decide each fold with `DecisionMaps` fitted on the other folds only: with `fast` (the fast model's
    out-of-fold P(complaint)) the stack of both models, with `severity` (the labels) the severity offsets."""
    n = len(labels)
    oof = OutOfFold(np.zeros(n), np.zeros(n, dtype=int), np.zeros(n, dtype=int), raw.fold.copy())
    for k in np.unique(raw.fold):
        test, rest = raw.fold == k, raw.fold != k
        maps = DecisionMaps.fit(raw.complaint[rest], raw.severity[rest], labels[rest],
                                None if severity is None else severity[rest], None if fast is None else fast[rest])
        p = maps.probability(raw.complaint[test], None if fast is None else fast[test])
        flagged = p >= maps.threshold
        oof.complaint[test], oof.decision[test] = p, flagged
        oof.severity[test] = maps.offsets.decide(compose_severity(p, raw.severity[test]), flagged)
    return oof


def cross_validate_deep(
    frame: pd.DataFrame,
    folds: int = 10,
    seed: int = 13,
    config: DeepConfig = DeepConfig(),
    advance: Callable[[int], None] | None = None,
    on_fold: Callable[[int], None] | None = None,
    max_steps: int | None = None,
    checkpoints: Path | None = None,
) -> dict[str, RawOutOfFold]:
    """Every tweet's raw score from the fold model that did not see it, in PyTorch fp32 and int8 ONNX.
    With `checkpoints`, finished folds are stored there and reused by a rerun."""
    texts, labels = frame["text"].tolist(), frame["label"].to_numpy()
    severity = frame["severity"].to_numpy()
    n = len(frame)
    raw = {v: RawOutOfFold(np.zeros(n), np.zeros((n, 5)), np.zeros(n, dtype=int)) for v in ("fp32", "int8")}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    key = run_key(frame, folds, seed, config, max_steps)
    for k, (train, test) in enumerate(splitter.split(texts, labels)):
        scores = checkpoints / f"{key}-{QUANTIZATION.tag}-fold{k}.npz" if checkpoints else None
        weights = checkpoints / f"{key}-fold{k}.pt" if checkpoints else None
        if scores is not None and scores.is_file():
            with np.load(scores) as fold:
                for name, variant in raw.items():
                    variant.complaint[test], variant.severity[test] = fold[f"{name}_complaint"], fold[f"{name}_severity"]
            if advance:
                advance(len(train) * config.epochs)
        else:
            test_texts, train_texts = [texts[i] for i in test], [texts[i] for i in train]
            model = _fold_model(weights, train_texts, labels[train], severity[train], config, advance, max_steps)
            raw["fp32"].complaint[test], raw["fp32"].severity[test] = predict(model, test_texts)
            raw["int8"].complaint[test], raw["int8"].severity[test] = int8_scores(model, test_texts, train_texts)
            if scores is not None:
                np.savez(scores, **{f"{name}_{part}": getattr(variant, part)[test]
                                    for name, variant in raw.items() for part in ("complaint", "severity")})
        for variant in raw.values():
            variant.fold[test] = k
        if on_fold:
            on_fold(k)
    return raw


def fold_assignment(frame: pd.DataFrame, folds: int, seed: int) -> np.ndarray:
    """Each tweet's fold under the protocol's stratified split (the one every scorer's CV uses)."""
    fold_of = np.zeros(len(frame), dtype=int)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(frame["text"].tolist(), frame["label"].to_numpy())):
        fold_of[test] = k
    return fold_of


def fold_groups(folds: int, groups: int) -> list[list[int]]:
    """Consecutive folds per teacher network: 10 folds in 2 groups are folds 0-4 and 5-9."""
    if not 2 <= groups <= folds:
        raise ValueError(f"{groups} teacher groups for {folds} folds: give between 2 and {folds} (a network "
                         "must see some folds and miss others)")
    return [[int(k) for k in members] for members in np.array_split(np.arange(folds), groups) if len(members)]


def teach_pool(
    frame: pd.DataFrame,
    pool: CustomerPool,
    folds: int,
    seed: int,
    config: DeepConfig,
    checkpoints: Path,
    groups: int | None = None,
    max_steps: int | None = None,
    advance: Callable[[int], None] | None = None,
    on_group: Callable[[int], None] | None = None,
) -> FoldTeachers:
    """For each fold k, the pool's raw int8 scores (as served) from a network that never saw fold k.

    One network per group of folds, fine-tuned on the tweets outside its group. With `groups` = `folds`
    (the default) these are the deep cross-validation's own fold networks, whose checkpoints are reused;
    fewer groups cost fewer fine-tunings, each on fewer tweets. Networks and scores are checkpointed."""
    groups = folds if groups is None else groups
    key = run_key(frame, folds, seed, config, max_steps)
    texts, labels, severity = frame["text"].tolist(), frame["label"].to_numpy(), frame["severity"].to_numpy()
    fold_of = fold_assignment(frame, folds, seed)
    complaint = np.zeros((folds, len(pool.texts)))
    severity_scores = np.zeros((folds, len(pool.texts), 5))
    for j, members in enumerate(fold_groups(folds, groups)):
        name = f"fold{members[0]}" if groups == folds else f"g{groups}-group{j}"
        scores = checkpoints / f"{key}-{QUANTIZATION.tag}-pool-{pool.fingerprint}-{name}.npz"
        if not scores.is_file():
            seen = np.flatnonzero(~np.isin(fold_of, members))
            seen_texts = [texts[i] for i in seen]
            model = _fold_model(checkpoints / f"{key}-{name}.pt", seen_texts, labels[seen],
                                severity[seen], config, advance, max_steps)
            checkpoints.mkdir(parents=True, exist_ok=True)
            found = int8_scores(model, pool.texts, seen_texts)
            np.savez(scores, **dict(zip(("complaint", "severity"), found, strict=True)))
        with np.load(scores) as stored:
            complaint[members], severity_scores[members] = stored["complaint"], stored["severity"]
        if on_group:
            on_group(j)
    return FoldTeachers(complaint, severity_scores, fold_of, pool.fingerprint, groups)


def _fold_model(weights: Path | None, texts: list[str], labels: np.ndarray, severity: np.ndarray,
                config: DeepConfig, advance: Callable[[int], None] | None, max_steps: int | None) -> ComplaintEncoder:
    """The fold's fine-tuned network: from its checkpointed weights when a run already trained it
    (so a new quantisation is measured without fine-tuning again), else trained and checkpointed."""
    import torch

    if weights is not None and weights.is_file():
        model = ComplaintEncoder()
        model.load_state_dict(torch.load(weights, weights_only=True))
        if advance:
            advance(len(texts) * config.epochs)
        return model.eval()
    model = finetune(texts, labels, severity, config, advance, max_steps)
    if weights is not None:
        weights.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), weights)
    return model


def int8_scores(model: ComplaintEncoder, texts: list[str], trained_on: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Raw P(complaint) and severity from the network's int8 ONNX export, as serving would score them
    (smoothing calibrated on `trained_on`, the network's own training texts)."""
    with tempfile.TemporaryDirectory(prefix="earlywarn-fold-") as folder:
        int8 = export_int8(model, trained_on, Path(folder), QUANTIZATION)
        meta = DeepMeta(version="cv-fold", trained_at="", threshold=0.5, quantized=True)
        return DeepScorer(DeepScorer.save(Path(folder) / "artefact", int8, meta), meta).predict_raw(texts)


def summarise_deep(frame: pd.DataFrame, raw: dict[str, RawOutOfFold], seed: int,
                   fast: np.ndarray | None = None) -> dict[str, object]:
    """The protocol's JSON for the network alone (fp32, int8) and, given the fast model's out-of-fold
    P(complaint), for the int8 network stacked with it; all with cross-fitted severity offsets."""
    labels, severity = frame["label"].to_numpy(), frame["severity"].to_numpy()
    folds = int(raw["int8"].fold.max()) + 1
    variants = {name: (variant, None) for name, variant in raw.items()}
    if fast is not None:
        variants |= {f"{name}+fast": (variant, fast) for name, variant in raw.items()}
    result: dict[str, object] = {}
    for name, (variant, companion) in variants.items():
        oof = cross_fit(variant, labels, severity, companion)
        per_fold = [fold_metrics(labels, severity, oof, oof.fold == k) for k in range(folds)]
        result[name] = summarise(frame, oof, per_fold, folds, seed)
    loss = lambda a, b: round(100 * (result[a]["complaint_macro_f1"] - result[b]["complaint_macro_f1"]), 2)  # type: ignore[index]  # noqa: E731
    result["int8_macro_f1_loss_points"] = loss("fp32", "int8")
    if fast is not None:
        result["int8_macro_f1_loss_points_stacked"] = loss("fp32+fast", "int8+fast")
    return result
