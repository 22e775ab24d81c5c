"""Changes to the fast model that were tried and not adopted, each measured beside the served recipe on the
same folds of the issue's protocol (stratified 10-fold CV on the complaint tweets). Prints JSON.

- Severity offsets: per-level offsets on the severity head's log-probabilities, tuned for 5-way macro-F1 on the
  other folds' out-of-fold predictions, as the deep model's decision maps are (`SeverityOffsets`). The served fast
  model takes the likeliest level.
- Naive-Bayes weighting (NB-LR, Wang & Manning 2012): every text column scaled by the magnitude of its log-count
  ratio between complaints and non-complaints on the training fold, before the logistic regressions.
- Ordinal severity (cumulative binary heads, Frank & Hall 2001): the four complaint levels are ordered, from no
  explicit reproach to blame. One logistic regression per cut learns P(level > k) on the same rows as the served
  multinomial head. A level's probability is the difference between neighbouring cuts, clipped at 0 and
  renormalised.

Without --teachers every fold learns from the labelled tweets alone. With it, each fold is distilled from the deep
cross-validation's network for that fold, as `earlywarn evaluate --model fast` does; run
`earlywarn evaluate --model deep` first, or pass --teacher-groups N to fine-tune N teachers here (checkpointed, as
`earlywarn evaluate --model fast --teacher-groups N` does).

    python scripts/fast_model_trials.py [--teachers] [--teacher-groups N] [--folds 0 1 2] [--nb-alpha 0.05]
                                        [--nb-binary]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from pipeline.config import Settings
from pipeline.console import print_json, progress
from pipeline.datasets.complaint_tweets import load_complaint_tweets
from pipeline.schema import Severity
from pipeline.scoring.fast_model import (
    COMPLAINT_SEVERITIES,
    TEXT_COLUMN,
    FastComplaintModel,
    FastPrediction,
    TeacherLabels,
    decide_severity,
    feature_frame,
)
from pipeline.scoring.stacking import SeverityOffsets
from pipeline.signals import CueExtractor, cue_feature_names
from pipeline.training.distillation import fold_teachers
from pipeline.training.evaluation import OutOfFold, fold_metrics
from pipeline.training.fast import featurize_with_progress
from pipeline.training.params import load_params

SERVED, NAIVE_BAYES, ORDINAL = "served", "naive-Bayes weighted", "ordinal severity"


@dataclass(frozen=True)
class NaiveBayes:
    """How the log-count ratios are counted: `alpha` smooths both counts, `binary` counts presence, not TF-IDF mass."""

    alpha: float = 0.05
    binary: bool = False

    def scale(self, matrix: sp.csr_matrix, labels: NDArray[np.int_], cue_columns: int) -> NDArray[np.float64]:
        """|r| for each text column and 1 for the cue columns (standardised, not counts), in matrix order."""
        text = matrix[:, : matrix.shape[1] - cue_columns]
        if self.binary:
            text = (text != 0).astype(np.float64)
        positive = self.alpha + np.asarray(text[labels == 1].sum(axis=0)).ravel()
        negative = self.alpha + np.asarray(text[labels == 0].sum(axis=0)).ravel()
        ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
        return np.r_[np.abs(ratio), np.ones(cue_columns)]


class NaiveBayesWeighted(FastComplaintModel):
    """The served model, its feature matrix scaled column by column by the training fold's NB ratios."""

    naive_bayes = NaiveBayes()
    scale_: NDArray[np.float64] | None = None

    def fit(self, frame: pd.DataFrame, labels: Sequence[int], severity: Sequence[int] | None = None,
            teacher: TeacherLabels | None = None) -> NaiveBayesWeighted:
        self.scale_ = None
        self.cue_columns_ = [c for c in frame.columns if c != TEXT_COLUMN]
        seen = frame if teacher is None else pd.concat([frame, teacher.frame], ignore_index=True)
        self.features_ = self._features(self.cue_columns_).fit(seen)  # the same fit the parent repeats
        self.scale_ = self.naive_bayes.scale(self.feature_matrix(frame), np.asarray(labels, dtype=int),
                                             len(self.cue_columns_))
        super().fit(frame, labels, severity, teacher)
        return self

    def feature_matrix(self, frame: pd.DataFrame) -> sp.csr_matrix:
        matrix = super().feature_matrix(frame)
        return matrix if self.scale_ is None else matrix.multiply(self.scale_).tocsr()


class OrdinalSeverity(FastComplaintModel):
    """The served model with its severity head replaced by one binary head per cut between neighbouring levels."""

    cuts_: list[LogisticRegression]

    def fit(self, frame: pd.DataFrame, labels: Sequence[int], severity: Sequence[int] | None = None,
            teacher: TeacherLabels | None = None) -> OrdinalSeverity:
        super().fit(frame, labels, severity, teacher)
        y, sev = np.asarray(labels, dtype=int), np.full(len(labels), -1) if severity is None else np.asarray(severity)
        rated = (y == 1) & (sev >= Severity.no_explicit_reproach)
        taught = None if teacher is None else self._taught_levels(teacher)
        matrix = self.feature_matrix(frame)[rated]
        self.cuts_ = []
        for cut in COMPLAINT_SEVERITIES[:-1]:
            head = LogisticRegression(C=self.severity_C, class_weight="balanced", solver="liblinear")
            above = None if taught is None else replace(taught, y=(taught.y > cut).astype(int))
            self.cuts_.append(self._fit_head(head, matrix, (sev[rated] > cut).astype(int), above))
        return self

    def predict_all(self, frame: pd.DataFrame) -> FastPrediction:
        served = super().predict_all(frame)
        x = self.feature_matrix(frame)
        above = np.column_stack([np.ones(x.shape[0])] + [h.predict_proba(x)[:, 1] for h in self.cuts_]
                                + [np.zeros(x.shape[0])])
        given = np.clip(above[:, :-1] - above[:, 1:], 0.0, None) + 1e-12
        given /= given.sum(axis=1, keepdims=True)
        p = served.complaint
        return FastPrediction(complaint=p, severity=np.column_stack([1.0 - p, p[:, None] * given]))


@dataclass
class Predictions:
    """Out-of-fold outputs over every tweet (rows of folds not run stay zero): what the trials are read from."""

    complaint: NDArray[np.float64]
    flagged: NDArray[np.bool_]
    severity: NDArray[np.float64]  # (n, 5): P(none), then P(level and complaint)
    fold: NDArray[np.int_]

    @classmethod
    def empty(cls, n: int) -> Predictions:
        return cls(np.zeros(n), np.zeros(n, dtype=bool), np.zeros((n, 5)), np.full(n, -1))

    def out_of_fold(self, levels: NDArray[np.int_]) -> OutOfFold:
        return OutOfFold(self.complaint, self.flagged.astype(int), levels, self.fold)


def run_folds(tweets: pd.DataFrame, cues: np.ndarray, folds: int, seed: int,
              models: dict[str, Callable[[], FastComplaintModel]], only: Sequence[int],
              teachers: Sequence[TeacherLabels] | None = None, advance: Callable[[], None] | None = None,
              ) -> dict[str, Predictions]:
    """Each named model fitted on the same training folds (the protocol's splitter) and read on the held-out one."""
    inputs = feature_frame(tweets["text"].tolist(), cues, cue_feature_names())
    labels, severity = tweets["label"].to_numpy(dtype=int), tweets["severity"].to_numpy(dtype=int)
    out = {name: Predictions.empty(len(tweets)) for name in models}
    for k, (train, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(inputs, labels)):
        if k not in only:
            continue
        for name, make in models.items():
            model = make().fit(inputs.iloc[train], labels[train], severity[train],
                               None if teachers is None else teachers[k])
            prediction = model.predict_all(inputs.iloc[test])
            found = out[name]
            found.complaint[test], found.severity[test] = prediction.complaint, prediction.severity
            found.flagged[test], found.fold[test] = prediction.complaint >= model.threshold_, k
            if advance:
                advance()
    return out


def likeliest_levels(found: Predictions) -> NDArray[np.int_]:
    """The served rule: none unless flagged, else the likeliest level."""
    return decide_severity(FastPrediction(complaint=found.complaint, severity=found.severity), found.flagged)


def cross_fitted_levels(found: Predictions, severity: NDArray[np.int_]) -> tuple[NDArray[np.int_], list[list[float]]]:
    """Each fold's levels with the offsets tuned on the other folds run; and those offsets."""
    levels, chosen = np.zeros(len(severity), dtype=int), []
    for k in sorted(set(found.fold[found.fold >= 0])):
        test, rest = found.fold == k, (found.fold >= 0) & (found.fold != k)
        offsets = SeverityOffsets.fit(found.severity[rest], found.flagged[rest], severity[rest])
        levels[test] = offsets.decide(found.severity[test], found.flagged[test])
        chosen.append([round(o, 2) for o in offsets.offsets])
    return levels, chosen


def summary(found: Predictions, levels: NDArray[np.int_], tweets: pd.DataFrame) -> dict[str, float]:
    """The protocol's fold means (the ECE pooled over the folds run, as `earlywarn evaluate` reports it)."""
    labels, severity = tweets["label"].to_numpy(dtype=int), tweets["severity"].to_numpy(dtype=int)
    oof = found.out_of_fold(levels)
    ran = sorted(set(found.fold[found.fold >= 0]))
    per_fold = [fold_metrics(labels, severity, oof, found.fold == k) for k in ran]
    pooled = fold_metrics(labels, severity, oof, found.fold >= 0)
    means = {name: round(float(np.mean([m[name] for m in per_fold])), 4)
             for name in ("complaint_macro_f1", "severity_macro_f1", "auroc")}
    return {**means, "ece": round(float(pooled["ece"]), 4)}


def compare(tweets: pd.DataFrame, found: dict[str, Predictions], naive_bayes: NaiveBayes) -> dict[str, object]:
    severity = tweets["severity"].to_numpy(dtype=int)
    served = found[SERVED]
    offset_levels, offsets = cross_fitted_levels(served, severity)
    return {
        SERVED: summary(served, likeliest_levels(served), tweets),
        "severity offsets, cross-fitted": {**summary(served, offset_levels, tweets), "offsets_per_fold": offsets},
        f"{NAIVE_BAYES} (alpha {naive_bayes.alpha:g}, {'binary' if naive_bayes.binary else 'TF-IDF'} counts)":
            summary(found[NAIVE_BAYES], likeliest_levels(found[NAIVE_BAYES]), tweets),
        ORDINAL: summary(found[ORDINAL], likeliest_levels(found[ORDINAL]), tweets),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", action="store_true", help="distil each fold from the deep CV's fold network")
    parser.add_argument("--teacher-groups", type=int, default=0,
                        help="distil from N networks fine-tuned here, each on the folds outside its group (implies "
                             "--teachers)")
    parser.add_argument("--folds", type=int, nargs="*", help="which of the protocol's folds to run (default: all)")
    parser.add_argument("--nb-alpha", type=float, default=NaiveBayes.alpha)
    parser.add_argument("--nb-binary", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings()
    loaded = load_params(settings.params_file)
    folds = loaded.evaluation.folds
    only = list(range(folds)) if args.folds is None else args.folds
    tweets = load_complaint_tweets(settings.data_dir)
    extractor = CueExtractor()
    cues = featurize_with_progress(extractor, tweets["text"].tolist())
    teachers = None
    if args.teachers or args.teacher_groups:
        with progress() as bar:
            teaching = bar.add_task("fine-tuning teacher networks (tweets seen)", total=None)
            distillation = fold_teachers(settings, tweets, folds, lambda pool: featurize_with_progress(extractor, pool),
                                         groups=args.teacher_groups, advance=lambda n: bar.advance(teaching, n))
        if isinstance(distillation, str):
            parser.error(f"--teachers: {distillation}")
        teachers = distillation.teachers
    params = loaded.fast.overrides()
    naive_bayes = NaiveBayes(args.nb_alpha, args.nb_binary)

    def weighted() -> FastComplaintModel:
        model = NaiveBayesWeighted(random_state=settings.seed, **params)
        model.naive_bayes = naive_bayes
        return model

    models = {SERVED: lambda: FastComplaintModel(random_state=settings.seed, **params), NAIVE_BAYES: weighted,
              ORDINAL: lambda: OrdinalSeverity(random_state=settings.seed, **params)}
    with progress() as bar:
        task = bar.add_task("fitting", total=len(only) * len(models))
        found = run_folds(tweets, cues, folds, settings.seed, models, only, teachers,
                          lambda: bar.advance(task))
    result = {"protocol": f"stratified {folds}-fold CV on the complaint tweets, folds {only}",
              "distilled": teachers is not None, **compare(tweets, found, naive_bayes)}
    print_json(result)
    return result


if __name__ == "__main__":
    main()
