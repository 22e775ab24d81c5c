"""Two small maps fitted on out-of-fold predictions that sit on top of the deep network.

- `Stack`: P(complaint) from the deep network and the fast model together, a logistic regression
  on their logits. The two err differently (subword semantics against n-grams and lexical cues),
  and the stack scores above either alone.
- `SeverityOffsets`: per-level additive offsets on the log-probabilities of the four complaint
  severities, chosen for macro-F1. The head is trained on a skewed label mix (no explicit
  reproach is twice as common as blame), so its argmax under-calls the rare, serious levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from pipeline.scoring.calibration import best_macro_f1_threshold, fit_isotonic

EPS = 1e-4
LEVELS = 4  # the complaint severities, after "none"


def compose_severity(p_complaint: NDArray[np.float64], p_severity: NDArray[np.float64]) -> NDArray[np.float64]:
    """The head's 5-way distribution made consistent with the (calibrated) complaint probability:
    P(none) = 1 − P(complaint), and the four complaint levels share P(complaint) as the head ranks them."""
    within = p_severity[:, 1:] / np.clip(p_severity[:, 1:].sum(axis=1, keepdims=True), 1e-9, None)
    return np.column_stack([1.0 - p_complaint, p_complaint[:, None] * within])


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    return logit(np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS))


@dataclass(frozen=True)
class Stack:
    deep_weight: float
    fast_weight: float
    intercept: float

    @classmethod
    def fit(cls, p_deep: NDArray[np.float64], p_fast: NDArray[np.float64], labels: NDArray[np.int_]) -> Stack:
        model = LogisticRegression(C=1.0, max_iter=1000).fit(np.column_stack([_logit(p_deep), _logit(p_fast)]), labels)
        (deep, fast), (intercept,) = model.coef_[0], model.intercept_
        return cls(float(deep), float(fast), float(intercept))

    def score(self, p_deep: NDArray[np.float64], p_fast: NDArray[np.float64]) -> NDArray[np.float64]:
        """The stacked P(complaint), before the isotonic calibrator that follows it."""
        return expit(self.deep_weight * _logit(p_deep) + self.fast_weight * _logit(p_fast) + self.intercept)


def severity_macro_f1(labels: NDArray[np.int_], predicted: NDArray[np.int_], classes: int = LEVELS + 1) -> float:
    """Macro-F1 over all five levels from a confusion matrix (the offset search calls it thousands of times)."""
    confusion = np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    tp = np.diag(confusion).astype(float)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    return float(np.mean(np.divide(2 * tp, denominator, out=np.zeros(classes), where=denominator > 0)))


@dataclass(frozen=True)
class SeverityOffsets:
    offsets: tuple[float, ...] = (0.0,) * LEVELS

    def decide(self, p_severity: NDArray[np.float64], flagged: NDArray[np.bool_]) -> NDArray[np.int_]:
        """None unless flagged, else the level with the highest offset log-probability."""
        within = np.log(np.clip(p_severity[:, 1:], 1e-12, None)) + np.asarray(self.offsets)
        return np.where(flagged, np.argmax(within, axis=1) + 1, 0)

    @classmethod
    def fit(cls, p_severity: NDArray[np.float64], flagged: NDArray[np.bool_], labels: NDArray[np.int_],
            grid: NDArray[np.float64] = np.linspace(-2.0, 2.0, 41), rounds: int = 3) -> SeverityOffsets:
        """Coordinate ascent on macro-F1 over the rated rows; level 1's offset stays 0 (only differences matter)."""
        rated = labels >= 0
        p, f, y = p_severity[rated], flagged[rated], labels[rated]
        offsets = np.zeros(LEVELS)
        best = severity_macro_f1(y, cls(tuple(offsets)).decide(p, f))
        for _ in range(rounds):
            for level in range(1, LEVELS):
                for value in grid:
                    trial = offsets.copy()
                    trial[level] = value
                    score = severity_macro_f1(y, cls(tuple(trial)).decide(p, f))
                    if score > best + 1e-9:
                        best, offsets = score, trial
        return cls(tuple(float(o) for o in offsets))


@dataclass(frozen=True)
class DecisionMaps:
    """Everything between the network's raw outputs and a decision, all fitted on out-of-fold scores:
    the optional stack with the fast model, the isotonic calibrator, the threshold, the severity offsets."""

    calibrator: object | None
    threshold: float
    stack: Stack | None = None
    offsets: SeverityOffsets = SeverityOffsets()

    def probability(self, raw: NDArray[np.float64], fast: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        if self.stack is not None:
            if fast is None:
                raise ValueError("this deep model is stacked with the fast model: pass the fast model's P(complaint)")
            raw = self.stack.score(raw, fast)
        return raw if self.calibrator is None else np.clip(self.calibrator.predict(raw), 0.0, 1.0)  # type: ignore[attr-defined]

    @classmethod
    def fit(cls, raw: NDArray[np.float64], raw_severity: NDArray[np.float64], labels: NDArray[np.int_],
            severity: NDArray[np.int_] | None = None, fast: NDArray[np.float64] | None = None) -> DecisionMaps:
        stack = None if fast is None else Stack.fit(raw, fast, labels)
        scores = raw if stack is None else stack.score(raw, fast)  # type: ignore[arg-type]
        calibrator = fit_isotonic(scores, labels)
        p = np.clip(calibrator.predict(scores), 0.0, 1.0)
        threshold = best_macro_f1_threshold(labels, p)
        offsets = SeverityOffsets() if severity is None else SeverityOffsets.fit(
            compose_severity(p, raw_severity), p >= threshold, severity)
        return cls(calibrator, threshold, stack, offsets)
