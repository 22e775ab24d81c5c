"""`CascadeScorer`: the fast model scores everything; the deep model rescores only what the fast
model is unsure of.

The uncertain band is an interval of the fast model's calibrated P(complaint), chosen on
out-of-fold predictions as the narrowest band whose cascade loses at most half a macro-F1 point
against the deep model alone (`pipeline.training.cascade`). Cues are extracted once, by the fast
stage, and explain every message whichever model decided it. The two stages can run apart
(`begin`, the `StagedScorer` protocol): the stream overlaps the deep rescoring with its other work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Message, MessageScore
from pipeline.scoring.base import finished
from pipeline.scoring.deep import DeepScorer
from pipeline.scoring.fast import FastScorer
from pipeline.scoring.fast_model import FastPrediction, decide_severity, message_scores
from pipeline.signals import CueAnalysis

META_FILE = "meta.json"

#: The merged prediction, which rows the deep model decided, the severity levels, the cue analyses.
Merged = tuple[FastPrediction, NDArray[np.bool_], NDArray[np.int_], list[CueAnalysis]]


@dataclass(frozen=True)
class Band:
    """Fast P(complaint) in [low, high) is uncertain and goes to the deep model."""

    low: float
    high: float

    def contains(self, p: NDArray[np.float64]) -> NDArray[np.bool_]:
        return (p >= self.low) & (p < self.high)


@dataclass(frozen=True)
class CascadeMeta:
    version: str
    band: Band
    fast_version: str
    deep_version: str
    rescored_share: float  # share of the complaint tweets' out-of-fold scores inside the band
    chosen_on: str

    @classmethod
    def from_json(cls, text: str) -> CascadeMeta:
        raw = json.loads(text)
        return cls(**{**raw, "band": Band(**raw["band"])})


class CascadeScorer:
    name = "cascade"

    def __init__(self, fast: FastScorer, deep: DeepScorer, meta: CascadeMeta) -> None:
        stale = [f"{m.name} is {m.version}, the band was chosen for {want}"
                 for m, want in ((fast, meta.fast_version), (deep, meta.deep_version)) if m.version != want]
        if stale:
            raise ModelNotTrainedError("cascade", Path("models/cascade"),
                                       hint=f"its band is stale ({'; '.join(stale)}): rerun "
                                            "`earlywarn evaluate --model cascade` and `earlywarn export --model cascade`")
        self.fast, self.deep, self.meta = fast, deep, meta

    @property
    def version(self) -> str:
        return self.meta.version

    @staticmethod
    def save(directory: Path, meta: CascadeMeta) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path, fast: FastScorer, deep: DeepScorer) -> CascadeScorer:
        if not (directory / META_FILE).is_file():
            raise ModelNotTrainedError("cascade", directory, hint="choose its band with `earlywarn export --model cascade`")
        return cls(fast, deep, CascadeMeta.from_json((directory / META_FILE).read_text()))

    def after_fork(self) -> None:
        self.deep.after_fork()

    def predict_texts(self, texts: Sequence[str]) -> Merged:
        """The merged prediction, which rows the deep model decided, the severity levels, the cue analyses."""
        return self._triage(texts).rescore(self.deep)

    def _triage(self, texts: Sequence[str]) -> _Triage:
        """The fast stage: every text scored and explained, the uncertain ones marked for the deep model."""
        analyses = self.fast.extractor.extract_with_sentiment(texts)
        fast = self.fast.predict_analysed(texts, analyses)
        return _Triage(texts, fast, self.meta.band.contains(fast.complaint),
                       decide_severity(fast, fast.complaint >= self.fast.threshold), analyses)

    def score_texts(self, ids: Sequence[str], texts: Sequence[str]) -> list[MessageScore]:
        return self._scores(ids, *self.predict_texts(texts)) if texts else []

    def score(self, batch: Sequence[Message]) -> list[MessageScore]:
        return self.score_texts([m.id for m in batch], [m.text for m in batch])

    def begin(self, batch: Sequence[Message], executor: Executor) -> Future[list[MessageScore]]:
        """The fast stage now, the deep rescoring on `executor`: ONNX Runtime releases the GIL, so the
        caller's own work (the stream's other taggers) runs beside it on another core. The deep model
        is always called with the fast scores, so the scoring thread never touches spaCy."""
        ids, texts = [m.id for m in batch], [m.text for m in batch]
        triage = self._triage(texts)

        def rescored() -> list[MessageScore]:
            return self._scores(ids, *triage.rescore(self.deep))

        if not triage.uncertain.any():  # nothing for the deep model: no hand-off
            return finished(rescored())
        return executor.submit(rescored)

    def _scores(self, ids: Sequence[str], prediction: FastPrediction, deep_rows: NDArray[np.bool_],
                levels: NDArray[np.int_], analyses: list[CueAnalysis]) -> list[MessageScore]:
        thresholds = np.where(deep_rows, self.deep.threshold, self.fast.threshold)
        versions = [f"{self.version}/{self.deep.version if d else self.fast.version}" for d in deep_rows]
        return message_scores(ids, prediction, analyses, thresholds, versions, levels)


@dataclass(frozen=True)
class _Triage:
    """A batch after the fast stage: its scores, the rows in the band, severity levels, cue analyses."""

    texts: Sequence[str]
    fast: FastPrediction
    uncertain: NDArray[np.bool_]
    levels: NDArray[np.int_]
    analyses: list[CueAnalysis]

    def rescore(self, deep: DeepScorer) -> Merged:
        complaint, severity = self.fast.complaint.astype(float), self.fast.severity.astype(float)
        levels = self.levels.copy()
        rows = np.flatnonzero(self.uncertain)
        if rows.size:
            found = deep.predict([self.texts[i] for i in rows], fast=self.fast.complaint[rows])
            complaint[rows], severity[rows] = found.complaint, found.severity
            levels[rows] = deep.levels(found, found.complaint >= deep.threshold)
        return FastPrediction(complaint=complaint, severity=severity), self.uncertain, levels, self.analyses
