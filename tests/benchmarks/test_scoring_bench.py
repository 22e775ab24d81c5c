import multiprocessing as mp

import pytest

from pipeline.benchmarks.scoring import _measure_apart, bench_scoring
from pipeline.config import Settings


def test_bench_reports_rates_and_memory_for_each_trained_scorer(models_dir, settings):
    report = bench_scoring(Settings(models_dir=models_dir, data_dir=settings.data_dir), n=300, repeats=1)
    [fast] = report["scorers"]
    assert fast["scorer"] == "fast" and fast["messages"] == 300
    assert fast["model_only_messages_per_s"] > fast["end_to_end_messages_per_s"] > 0
    assert fast["peak_rss_mib"] > 50


def test_cue_bench_reports_extraction_beside_its_fixed_costs(settings):
    from pipeline.benchmarks.cues import bench_cues

    report = bench_cues(settings, n=200, repeats=1)
    assert report["messages"] == 200 and report["mean_tokens"] > 5
    assert report["tokenizer_alone_messages_per_s"] > report["extract_and_features_messages_per_s"] > 0
    assert report["vulnerability_detector_messages_per_s"] > 0


def test_a_scorer_that_fails_in_its_process_fails_the_bench_with_its_error(tmp_path, settings):
    empty = Settings(models_dir=tmp_path, data_dir=settings.data_dir)  # nothing trained: loading the scorer fails
    with pytest.raises(RuntimeError, match="the fast benchmark failed:(.|\n)*no trained 'fast' model"):
        _measure_apart(mp.get_context("spawn"), "fast", empty, ["my parcel never came"] * 4, 1)
