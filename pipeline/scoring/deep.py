"""`DeepScorer`: the fine-tuned MiniLM served through ONNX Runtime, behind the `Scorer` interface.

An artefact folder holds `model.onnx` (int8 by default), the tokenizer files, an optional
calibrator (`calibrator.joblib`, isotonic on out-of-fold scores) and `meta.json`, which also carries
the stack with the fast model and the severity offsets when export fitted them
(`pipeline.scoring.stacking`). Texts are sorted
by token count and batched in buckets, so a batch pads to its own longest text rather than to the
longest in the request. Cues still come from the cue extractor: they explain the score.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import joblib
import numpy as np

from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Message, MessageScore
from pipeline.scoring.deep_model import MAX_TOKENS, load_tokenizer, token_buckets
from pipeline.scoring.fast import FastScorer
from pipeline.scoring.fast_model import SEVERITY_NAMES, FastPrediction, message_scores
from pipeline.scoring.stacking import DecisionMaps, SeverityOffsets, Stack, compose_severity
from pipeline.signals import CueAnalysis, CueExtractor

ONNX_FILE = "model.onnx"
CALIBRATOR_FILE = "calibrator.joblib"
META_FILE = "meta.json"


#: Texts per ONNX Runtime call. A cascade hands the network a few dozen texts at a time (its uncertain band),
#: and small batches of similar token counts pad least: on bands of about 66 twcs tweets, 501 msg/s at 16
#: against 425 at 32 and 322 at 64; on 5,000 tweets at once the three are within noise (561-594 msg/s).
BATCH = 16

_FORKED_AWAY: list[object] = []  # ONNX sessions inherited by a forked process, which must not free them


@dataclass(frozen=True)
class DeepMeta:
    version: str
    trained_at: str
    threshold: float
    quantized: bool
    max_tokens: int = MAX_TOKENS
    training_rows: int = 0
    data_fingerprint: str = ""
    params: dict[str, object] = field(default_factory=dict)
    stack: dict[str, float] | None = None  # Stack's fields when served stacked with the fast model
    fast_version: str | None = None  # the fast model the stack was fitted with
    severity_offsets: list[float] | None = None

    def maps(self, calibrator: object | None, threshold: float) -> DecisionMaps:
        return DecisionMaps(calibrator, threshold, Stack(**self.stack) if self.stack else None,
                            SeverityOffsets(tuple(self.severity_offsets)) if self.severity_offsets else SeverityOffsets())


class DeepScorer:
    name = "deep"

    def __init__(self, directory: Path, meta: DeepMeta, calibrator: object | None = None,
                 extractor: CueExtractor | None = None, threshold: float | None = None,
                 batch_size: int = BATCH, threads: int | None = None, fast: FastScorer | None = None,
                 shared_cpu: bool = False) -> None:
        import onnxruntime as ort

        if meta.stack and (fast is None or fast.version != meta.fast_version):
            found = "none was given" if fast is None else f"{fast.version} was given"
            raise ModelNotTrainedError("deep", directory, hint=f"it is stacked with the fast model "
                                       f"{meta.fast_version} and {found}: load it with that model, or rerun "
                                       "`earlywarn export --model deep` after retraining the fast model")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if shared_cpu:  # idle ONNX Runtime workers spin by default, burning the core the caller's own work needs
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._graph, self._options = directory / ONNX_FILE, options
        self.session = self._open()
        self.tokenizer = load_tokenizer(directory)
        self.meta, self.calibrator, self.fast = meta, calibrator, fast
        self.maps = meta.maps(calibrator, meta.threshold)
        self._extractor = extractor or (fast.extractor if fast else None)
        self.threshold = meta.threshold if threshold is None else threshold
        self.batch_size = batch_size

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def extractor(self) -> CueExtractor:
        """Built on first use: cross-validation only needs the network's scores."""
        if self._extractor is None:
            self._extractor = CueExtractor()
        return self._extractor

    @staticmethod
    def save(directory: Path, onnx_path: Path, meta: DeepMeta, calibrator: object | None = None) -> Path:
        """Lay out an artefact: the ONNX graph, the tokenizer it was trained with, calibrator and meta."""
        directory.mkdir(parents=True, exist_ok=True)
        if onnx_path.resolve() != (directory / ONNX_FILE).resolve():
            (directory / ONNX_FILE).write_bytes(onnx_path.read_bytes())
        load_tokenizer().save_pretrained(str(directory))
        if calibrator is not None:
            joblib.dump(calibrator, directory / CALIBRATOR_FILE)
        (directory / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path, threshold: float | None = None, extractor: CueExtractor | None = None,
             fast: FastScorer | None = None, **kwargs: object) -> DeepScorer:
        if not (directory / ONNX_FILE).is_file() or not (directory / META_FILE).is_file():
            raise ModelNotTrainedError(cls.name, directory)
        meta = DeepMeta(**json.loads((directory / META_FILE).read_text()))
        calibrator = joblib.load(directory / CALIBRATOR_FILE) if (directory / CALIBRATOR_FILE).is_file() else None
        return cls(directory, meta, calibrator, extractor, threshold, fast=fast, **kwargs)  # type: ignore[arg-type]

    def predict(self, texts: Sequence[str], fast: np.ndarray | None = None,
                analyses: Sequence[CueAnalysis] | None = None) -> FastPrediction:
        """Calibrated P(complaint) and the consistent 5-way severity, in input order. A stacked model also
        needs the fast model's P(complaint): pass it as `fast` (the cascade has it), or it is computed here."""
        raw, severity = self.predict_raw(texts)
        if self.maps.stack is not None and fast is None:
            assert self.fast is not None  # checked in __init__
            analyses = analyses if analyses is not None else self.extractor.extract_with_sentiment(texts)
            fast = self.fast.predict_analysed(texts, analyses).complaint
        p = self.maps.probability(raw, fast)
        return FastPrediction(complaint=p, severity=compose_severity(p, severity))

    def levels(self, prediction: FastPrediction, flagged: np.ndarray) -> np.ndarray:
        """Severity decisions: none unless flagged, else the level after the offsets tuned for macro-F1."""
        return self.maps.offsets.decide(prediction.severity, flagged)

    def _open(self):  # -> onnxruntime.InferenceSession
        import onnxruntime as ort

        session = ort.InferenceSession(str(self._graph), self._options, providers=["CPUExecutionProvider"])
        self._opened_in = os.getpid()  # only once it opened: a failed reopen is tried again, never skipped
        return session

    def after_fork(self) -> None:
        """A forked process (a reading worker) opens its own session: the inherited one's thread pool
        stayed in the parent. The inherited session is kept, never freed: its destructor would wait
        for those threads for ever."""
        if self._opened_in != os.getpid():
            _FORKED_AWAY.append(self.session)
            self.session = self._open()

    def predict_raw(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The network's own P(complaint) and severity distribution, before calibration."""
        self.after_fork()  # a no-op unless forked since the session was opened
        raw = np.empty(len(texts), dtype=np.float64)
        severity = np.empty((len(texts), len(SEVERITY_NAMES)), dtype=np.float64)
        for idx, input_ids, attention_mask in token_buckets(self.tokenizer, texts, self.batch_size,
                                                            self.meta.max_tokens):
            complaint, sev = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
            raw[idx], severity[idx] = complaint, sev
        return raw, severity

    def score_texts(self, ids: Sequence[str], texts: Sequence[str]) -> list[MessageScore]:
        if not texts:
            return []
        analyses = self.extractor.extract_with_sentiment(texts)
        prediction = self.predict(texts, analyses=analyses)
        levels = self.levels(prediction, prediction.complaint >= self.threshold)
        return message_scores(ids, prediction, analyses, self.threshold, self.version, levels)

    def score(self, batch: Sequence[Message]) -> list[MessageScore]:
        return self.score_texts([m.id for m in batch], [m.text for m in batch])
