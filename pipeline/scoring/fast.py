"""`FastScorer`: cues plus the fast model behind the `Scorer` interface, and its artefact on disk.

An artefact is a folder holding the fitted estimator (`model.joblib`) and `meta.json` (version,
threshold, feature names, training data fingerprint), so a score can always be traced to the
exact model that produced it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np

from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Message, MessageScore
from pipeline.scoring.fast_model import (
    FastComplaintModel,
    FastPrediction,
    TeacherLabels,
    feature_frame,
    message_scores,
)
from pipeline.signals import CueAnalysis, CueExtractor, cue_feature_names, cue_features

MODEL_FILE = "model.joblib"
META_FILE = "meta.json"


@dataclass(frozen=True)
class ArtefactMeta:
    version: str
    trained_at: str
    threshold: float
    feature_names: list[str]
    training_rows: int
    data_fingerprint: str
    params: dict[str, object] = field(default_factory=dict)
    distilled: dict[str, object] | None = None
    """the teacher and unlabelled pool the model also learnt from; None: labelled tweets alone"""


def data_fingerprint(texts: Sequence[str], labels: Sequence[int]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def stored_params(params: dict[str, object]) -> dict[str, object]:
    """Model parameters as meta.json keeps them (JSON has no tuples)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


class FastScorer:
    """Scores messages with the fast model; cue extraction runs once and serves both the features
    and the explanation."""

    name = "fast"

    def __init__(
        self,
        model: FastComplaintModel,
        meta: ArtefactMeta,
        extractor: CueExtractor | None = None,
        threshold: float | None = None,
    ) -> None:
        if list(model.cue_columns_) != meta.feature_names:
            raise ValueError(
                "the model was trained on other cue features than this code produces: retrain it with "
                "`earlywarn train --model fast`"
            )
        self.model = model
        self.meta = meta
        self.extractor = extractor or CueExtractor()
        self.threshold = meta.threshold if threshold is None else threshold

    @property
    def version(self) -> str:
        return self.meta.version

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        severity: Sequence[int] | None = None,
        extractor: CueExtractor | None = None,
        cue_matrix: np.ndarray | None = None,
        teacher: TeacherLabels | None = None,
        distilled: dict[str, object] | None = None,
        **params: object,
    ) -> FastScorer:
        """Fit on texts; pass `cue_matrix` (from `extractor.featurize`) when already computed, and with
        `teacher` a teacher's scores on unlabelled messages (`distilled` says which, for meta.json)."""
        extractor = extractor or CueExtractor()
        names = cue_feature_names()
        if cue_matrix is None:
            cue_matrix = np.asarray(extractor.featurize(texts), dtype=float)
        frame = feature_frame(texts, cue_matrix, names)
        model = FastComplaintModel(**params).fit(frame, labels, severity, teacher)  # type: ignore[arg-type]
        trained_at = datetime.now(UTC)
        fingerprint = data_fingerprint(texts, labels)
        meta = ArtefactMeta(
            version=f"fast-{trained_at:%Y%m%d%H%M%S}-{fingerprint[:8]}",
            trained_at=trained_at.isoformat(),
            threshold=float(model.threshold_),
            feature_names=names,
            training_rows=len(texts),
            data_fingerprint=fingerprint,
            params=stored_params(model.get_params()),
            distilled=distilled if teacher is not None else None,
        )
        return cls(model, meta, extractor)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.model, directory / MODEL_FILE, compress=3)
        (directory / META_FILE).write_text(json.dumps(asdict(self.meta), indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path, threshold: float | None = None, extractor: CueExtractor | None = None) -> FastScorer:
        if not (directory / MODEL_FILE).is_file() or not (directory / META_FILE).is_file():
            raise ModelNotTrainedError(cls.name, directory)
        meta = ArtefactMeta(**json.loads((directory / META_FILE).read_text()))
        return cls(joblib.load(directory / MODEL_FILE), meta, extractor, threshold)

    def predict_analysed(self, texts: Sequence[str], analyses: Sequence[CueAnalysis]) -> FastPrediction:
        """The model's prediction from cues already extracted (the cascade reuses them for the deep rows)."""
        vectors = [cue_features(a.cues, t, a.sentiment) for t, a in zip(texts, analyses, strict=True)]
        return self.model.predict_all(feature_frame(texts, np.asarray(vectors), self.meta.feature_names))

    def score_texts(self, ids: Sequence[str], texts: Sequence[str]) -> list[MessageScore]:
        analyses = self.extractor.extract_with_sentiment(texts)
        return message_scores(ids, self.predict_analysed(texts, analyses), analyses, self.threshold, self.version)

    def score(self, batch: Sequence[Message]) -> list[MessageScore]:
        if not batch:
            return []
        return self.score_texts([m.id for m in batch], [m.text for m in batch])
