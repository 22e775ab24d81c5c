import numpy as np

from pipeline.signals import cue_feature_names
from pipeline.training.evaluation import cross_validate_fast


def test_cross_validation_reports_every_metric_with_its_spread(training_sample, cue_extractor):
    cues = np.asarray(cue_extractor.featurize(training_sample["text"].tolist()))
    summary, oof = cross_validate_fast(training_sample, cues, cue_feature_names(), folds=3, params={"calibration_folds": 3})
    for name in ("complaint_macro_f1", "accuracy", "auroc", "severity_macro_f1"):
        assert 0.0 <= summary[name] <= 1.0
        assert summary[f"{name}_std"] >= 0.0
    assert summary["ece"] == summary["pooled"]["ece"] and summary["ece_fold_std"] >= 0.0
    assert summary["auroc"] > 0.8 and summary["complaint_macro_f1"] > 0.7
    # every tweet was predicted once, by one of three near-equal folds
    counts = np.bincount(oof.fold)
    assert len(counts) == 3 and counts.sum() == len(training_sample) and counts.max() - counts.min() <= 3
    assert (oof.severity[oof.decision == 0] == 0).all()
    assert summary["per_domain"]["random_tweet"]["complaint_rate"] == 0.0
