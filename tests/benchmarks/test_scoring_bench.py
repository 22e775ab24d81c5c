import multiprocessing as mp

import pytest

from pipeline.benchmarks.scoring import _measure_apart, bench_scoring
from pipeline.config import Settings


def test_bench_reports_rates_and_memory_for_each_trained_scorer(models_dir, settings):
    report = bench_scoring(Settings(models_dir=models_dir, data_dir=settings.data_dir), n=300, repeats=1)
    [fast] = report["scorers"]
    assert report["cpu"] and "family" in report["cpu"]  # speed-ups differ between CPU generations
    assert fast["scorer"] == "fast" and fast["messages"] == 300
    assert fast["model_only_messages_per_s"] > fast["end_to_end_messages_per_s"] > 0
    assert fast["peak_rss_mib"] > 50


def test_the_cpu_is_named_with_its_family_and_model(tmp_path):
    from pipeline.benchmarks.timing import cpu_model

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
                    "model name\t: AMD EPYC\n\nprocessor\t: 1\ncpu family\t: 99\n")
    assert cpu_model(info) == "AMD EPYC (family 26, model 2)"
    assert cpu_model(tmp_path / "absent")  # other systems: what the platform module knows


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
