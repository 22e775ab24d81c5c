"""What the fast model learns from the deep one: the unlabelled pool and the teacher's scores on it.

Two teachers, one per job. Training the served fast model uses the network fine-tuned on every
labelled tweet (models/deep-torch). Cross-validating it uses, for fold k, a network that never saw
fold k's tweets, so the fast model's figures are as honest as the deep model's: the deep
cross-validation's fold-k network when that ran (models/deep-cv/teachers.npz), else one of a few
networks fine-tuned here on the folds outside a group of folds (`evaluate --teacher-groups N`). Both
score the pool as serving would: the int8 ONNX export, raw (before the stack and calibration, which
are fitted on labelled tweets).
Without a teacher the fast model trains on the labelled tweets alone, and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.datasets.customer_pool import CustomerPool, load_customer_pool
from pipeline.scoring.fast_model import TeacherLabels, feature_frame
from pipeline.signals import CueExtractor, cue_feature_names
from pipeline.training.params import load_params

log = logging.getLogger(__name__)
Featurize = Callable[[list[str]], np.ndarray]


def customer_pool(settings: Settings, tweets: pd.DataFrame) -> CustomerPool | None:
    """params.yaml's pool (None when its size is 0), never holding a labelled tweet."""
    size = load_params(settings.params_file).distillation.pool_size
    if size == 0:
        return None
    return load_customer_pool(settings.data_dir, size=size, seed=settings.seed, exclude=tweets["text"])


@dataclass(frozen=True)
class Distillation:
    """Which teacher taught, and its scores; `teachers` holds one per fold in cross-validation."""

    teachers: list[TeacherLabels]
    source: str
    pool_size: int
    pool_fingerprint: str

    def describe(self) -> dict[str, object]:
        return {"teacher": self.source, "pool_size": self.pool_size, "pool_fingerprint": self.pool_fingerprint}


def pool_frame(pool: CustomerPool, featurize: Featurize | None = None) -> pd.DataFrame:
    cues = (featurize or (lambda texts: np.asarray(CueExtractor().featurize(texts), dtype=float)))(pool.texts)
    return feature_frame(pool.texts, cues, cue_feature_names())


def served_teacher(settings: Settings, tweets: pd.DataFrame, featurize: Featurize | None = None) -> Distillation | str:
    """The network trained on every tweet scoring the pool; or why there is none."""
    from pipeline.training.deep_cv import int8_scores
    from pipeline.training.deep_runs import load_trained, torch_dir

    if not (torch_dir(settings) / "model.pt").is_file():
        return f"no deep network in {torch_dir(settings)}: `earlywarn train --model deep` first to distil from it"
    pool = customer_pool(settings, tweets)
    if pool is None:
        return "params.yaml's distillation.pool_size is 0"
    complaint, severity = int8_scores(load_trained(settings), pool.texts, tweets["text"].tolist())
    teacher = TeacherLabels(pool_frame(pool, featurize), complaint.astype(float), severity.astype(float))
    return Distillation([teacher], f"deep network {torch_dir(settings) / 'model.pt'}", len(pool.texts),
                        pool.fingerprint)


def fold_teachers(settings: Settings, tweets: pd.DataFrame, folds: int, featurize: Featurize | None = None,
                  groups: int = 0, advance: Callable[[int], None] | None = None) -> Distillation | str:
    """For each of `folds` folds, a network that never saw the fold, scoring the pool; or why there is none.

    With `groups` > 0: that many networks, fine-tuned here (and checkpointed) on the folds outside their
    group of folds. Otherwise the deep cross-validation's fold networks, when it ran on these folds and
    this pool (the strongest teachers: each saw all the other folds)."""
    from pipeline.training.deep import DeepConfig
    from pipeline.training.deep_cv import FoldTeachers, fold_assignment, teach_pool
    from pipeline.training.deep_runs import deep_checkpoints, teachers_path

    path = teachers_path(settings)
    if load_params(settings.params_file).distillation.pool_size == 0:
        return "params.yaml's distillation.pool_size is 0"
    if not groups and not path.is_file():
        return (f"no fold teachers in {path}: run `earlywarn evaluate --model deep --folds {folds}` first, or "
                "pass --teacher-groups N to fine-tune N teacher networks for this evaluation")
    pool = customer_pool(settings, tweets)
    assert pool is not None
    if groups:
        stored = teach_pool(tweets, pool, folds, settings.seed, DeepConfig.from_settings(settings),
                            deep_checkpoints(settings), groups=min(groups, folds), advance=advance)
        source = f"{stored.networks} networks, each fine-tuned on the folds outside its group of folds"
    else:
        stored = FoldTeachers.load(path)
        if len(stored.fold) != len(tweets) or not np.array_equal(stored.fold, fold_assignment(tweets, folds,
                                                                                              settings.seed)):
            return (f"the fold teachers in {path} were cross-validated on other folds, tweets or seed: rerun "
                    f"`earlywarn evaluate --model deep --folds {folds}`")
        if stored.pool_fingerprint != pool.fingerprint:
            return (f"the fold teachers in {path} scored another pool (pool_size or data changed): rerun "
                    "`earlywarn evaluate --model deep` (its fold networks are reused)")
        source = f"the deep cross-validation's {stored.networks} fold networks"
    frame = pool_frame(pool, featurize)
    teachers = [TeacherLabels(frame, stored.complaint[k], stored.severity[k]) for k in range(folds)]
    return Distillation(teachers, source, len(pool.texts), pool.fingerprint)


def report(found: Distillation | str) -> Distillation | None:
    """Log why the fast model trains without a teacher; pass a teacher on."""
    if isinstance(found, str):
        log.warning("fast model trained on the labelled tweets alone (no distillation): %s", found)
        return None
    return found
