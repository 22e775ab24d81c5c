"""The deep jobs in the order DVC runs them, on 120 real tweets with a one-epoch configuration:
evaluate → fast evaluated again, distilled → summarise → train → export, then the cascade's band from
both models' out-of-fold scores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.config import Settings
from pipeline.errors import ModelNotTrainedError
from pipeline.schema import Message
from pipeline.scoring.cascade import CascadeScorer
from pipeline.scoring.deep import DeepScorer
from pipeline.scoring.registry import ScorerName, available_scorers, load_scorer
from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import RawOutOfFold
from pipeline.training.deep_runs import (
    evaluate_cascade,
    evaluate_deep,
    export_cascade,
    export_deep,
    oof_path,
    summarise_deep_cv,
    train_deep,
)
from pipeline.training.fast import evaluate_fast, train_fast

TINY = DeepConfig(epochs=1, batch_size=16)


@pytest.fixture(scope="module")
def rows(training_sample):
    return training_sample.sample(120, random_state=11).reset_index(drop=True)


@pytest.fixture(scope="module")
def jobs(rows, settings, tmp_path_factory):
    """Every job run once, in order, into a fresh models directory."""
    models = tmp_path_factory.mktemp("models")
    params = models / "params.yaml"  # the shipped parameters with a small distillation pool
    shipped = Path(__file__).resolve().parents[2] / "params.yaml"
    shrunk = yaml.safe_load(shipped.read_text())
    shrunk["distillation"]["pool_size"] = 200
    params.write_text(yaml.safe_dump(shrunk))
    local = Settings(data_dir=settings.data_dir, models_dir=models, params_file=params)
    out = {"settings": local}
    train_fast(local, rows, track=False)
    out["fast"] = evaluate_fast(local, rows, folds=2, track=False)
    out["evaluate"] = evaluate_deep(local, rows, folds=2, config=TINY, track=False)
    out["fast_distilled"] = evaluate_fast(local, rows, folds=2, track=False)  # taught by the fold networks
    out["summary"] = summarise_deep_cv(local, rows, track=False)  # stacked with the distilled fast model
    out["train"] = train_deep(local, rows, TINY, track=False)
    out["cascade"] = evaluate_cascade(local, rows, track=False)
    out["export_cascade"] = export_cascade(local, rows)
    return out


def test_evaluation_reports_the_served_stack_beside_the_network_alone_and_keeps_raw_scores(jobs, rows):
    result = jobs["evaluate"]
    assert result["model"] == "deep" and result["served"] == "int8+fast"
    assert result["n"] == 120 and result["folds"] == 2
    assert {"complaint_macro_f1", "severity_macro_f1", "ece", "auroc", "per_domain"} <= set(result)
    assert set(result["network_alone"]) == {"fp32", "int8"} and result["network_alone"]["fp32"]["n"] == 120
    assert isinstance(result["int8_macro_f1_loss_points"], float)
    raw = RawOutOfFold.load(oof_path(jobs["settings"], "int8"))
    assert raw.complaint.shape == (120,) and set(np.unique(raw.fold)) == {0, 1}


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


def test_the_summary_reads_the_saved_scores_and_serves_the_stack_once_the_fast_model_was_cross_validated(
        jobs, rows, tmp_path):
    import shutil

    evaluated, summary, local = jobs["evaluate"], jobs["summary"], jobs["settings"]
    assert summary["served"] == "int8+fast" and summary["network_alone"] == evaluated["network_alone"]
    before = _listing(local.models_dir)
    assert summarise_deep_cv(local, rows, track=False) == summary  # the same scores, the same figures
    assert _listing(local.models_dir) == before  # nothing rewritten: DVC's evaluate_deep outputs stay as they were

    alone = Settings(data_dir=local.data_dir, models_dir=tmp_path, params_file=local.params_file)
    shutil.copytree(local.models_dir / "deep-cv", tmp_path / "deep-cv")  # no fast cross-validation here
    network = summarise_deep_cv(alone, rows, track=False)
    assert network["served"] == "int8" and "fp32+fast" not in network
    assert network["complaint_macro_f1"] == evaluated["network_alone"]["int8"]["complaint_macro_f1"]
    with pytest.raises(ModelNotTrainedError, match="other tweets or another seed"):
        summarise_deep_cv(alone, rows.head(60), track=False)
    with pytest.raises(ModelNotTrainedError, match="other tweets or another seed"):
        summarise_deep_cv(alone.model_copy(update={"seed": alone.seed + 1}), rows, track=False)


def test_fast_scores_on_other_folds_are_refused_by_the_summary_and_left_out_by_the_evaluation(
        jobs, rows, tmp_path):
    import shutil

    from pipeline.training.evaluation import OutOfFold
    from pipeline.training.fast import fast_oof_path

    local = jobs["settings"].model_copy(update={"models_dir": tmp_path / "models"})
    shutil.copytree(jobs["settings"].models_dir, local.models_dir)
    fast = OutOfFold.load(fast_oof_path(local))
    replace(fast, fold=1 - fast.fold).save(fast_oof_path(local))  # the same tweets, cross-validated on other folds
    with pytest.raises(ModelNotTrainedError, match="folds differ"):
        summarise_deep_cv(local, rows, track=False)
    lenient = summarise_deep_cv(local, rows, track=False, skip_stale_fast=True)
    assert lenient["served"] == "int8" and "folds differ" in lenient["fast_skipped"]


def test_the_evaluate_command_summarises_the_deep_model_alone_on_request(jobs, rows, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.config import get_settings

    tweets, output = tmp_path / "tweets.parquet", tmp_path / "deep.json"
    rows.to_parquet(tweets)
    monkeypatch.setenv("EARLYWARN_MODELS_DIR", str(jobs["settings"].models_dir))
    monkeypatch.setenv("EARLYWARN_PARAMS_FILE", str(jobs["settings"].params_file))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["evaluate", "--model", "deep", "--summarise-only", "--tweets", str(tweets),
                                        "--output", str(output), "--no-track"])
        refused = CliRunner().invoke(app, ["evaluate", "--model", "fast", "--summarise-only", "--no-track"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.stderr
    assert json.loads(output.read_text())["complaint_macro_f1"] == jobs["summary"]["complaint_macro_f1"]
    assert refused.exit_code != 0 and "--summarise-only" in refused.stderr
    refused = CliRunner().invoke(app, ["evaluate", "--task", "vulnerability", "--summarise-only", "--no-track"])
    assert refused.exit_code != 0 and "--summarise-only" in refused.stderr


def test_training_exports_a_calibrated_int8_artefact_stacked_with_the_fast_model(jobs):
    summary, local = jobs["train"], jobs["settings"]
    assert summary["calibrated"] is True and summary["model_version"].startswith("deep-")
    assert summary["onnx_mib"] < 40  # int8: a quarter of the fp32 graph
    scorer = load_scorer(ScorerName.deep, local)
    assert isinstance(scorer, DeepScorer) and scorer.calibrator is not None
    assert scorer.fast is not None and summary["stacked_with"] == scorer.fast.version
    meta = json.loads((local.models_dir / "deep" / "meta.json").read_text())
    assert meta["params"]["calibrated_on"] == "int8 out-of-fold scores" and meta["training_rows"] == 120
    assert set(meta["stack"]) == {"deep_weight", "fast_weight", "intercept"} and len(meta["severity_offsets"]) == 4
    [score] = scorer.score([Message(id="m", text="Still no refund after three calls. Disgraceful.")])
    assert score.threshold == pytest.approx(summary["threshold"], abs=1e-4)


def test_the_cascade_is_measured_and_served_from_both_models(jobs):
    result, local = jobs["cascade"], jobs["settings"]
    assert result["model"] == "cascade" and len(result["bands"]) == 2
    assert 0.0 <= result["rescored_share"] <= 1.0
    assert {ScorerName.fast, ScorerName.deep, ScorerName.cascade} <= set(available_scorers(local))
    cascade = load_scorer(ScorerName.cascade, local)
    assert isinstance(cascade, CascadeScorer)
    assert cascade.meta.rescored_share == jobs["export_cascade"]["rescored_share"]
    scores = cascade.score([Message(id=str(i), text=t) for i, t in enumerate(["where is my parcel", "worst service ever"])])
    assert [s.id for s in scores] == ["0", "1"] and all(s.model_version.startswith(cascade.version) for s in scores)


@pytest.mark.parametrize(("field", "value", "fix"), [
    ("version", "deep-newer", "export --model cascade"),  # the band was chosen for another deep model
    ("fast_version", "fast-older", "export --model deep"),  # the stack was fitted with another fast model
])
def test_a_retrained_model_makes_what_was_fitted_on_it_stale(jobs, field, value, fix):
    local = jobs["settings"]
    meta_file = local.models_dir / "deep" / "meta.json"
    original = meta_file.read_text()
    try:
        meta_file.write_text(json.dumps({**json.loads(original), field: value}))
        with pytest.raises(ModelNotTrainedError, match=fix):
            load_scorer(ScorerName.cascade, local)
    finally:
        meta_file.write_text(original)


def test_export_without_training_says_what_to_run(tmp_path, settings, rows):
    empty = Settings(data_dir=settings.data_dir, models_dir=tmp_path)
    with pytest.raises(ModelNotTrainedError, match="earlywarn train --model deep"):
        export_deep(empty, rows, track=False)
    with pytest.raises(ModelNotTrainedError, match="earlywarn evaluate --model deep"):
        evaluate_cascade(empty, rows, track=False)


@pytest.mark.parametrize("model", ["deep", "cascade"])
def test_the_score_command_serves_the_exported_models(jobs, model, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.config import get_settings

    monkeypatch.setenv("EARLYWARN_MODELS_DIR", str(jobs["settings"].models_dir))
    get_settings.cache_clear()
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps({"id": str(i), "text": t}) for i, t in enumerate(
        ["I have called four times and still no refund, I am going to the ombudsman", "do you deliver on sundays?"])))
    try:
        result = CliRunner().invoke(app, ["score", str(source), "--model", model])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["0", "1"]
    assert all(r["model_version"].startswith(model) for r in rows)
    assert {c["label"] for c in rows[0]["cues"]} >= {"regulator_mention"}


def test_the_scoring_bench_times_fp32_int8_and_the_cascade_on_the_same_tweets(jobs):
    from pipeline.benchmarks.scoring import DEEP_FP32, bench_scoring

    report = bench_scoring(jobs["settings"], n=200, repeats=1)
    by_name = {r["scorer"]: r for r in report["scorers"]}
    assert list(by_name) == ["fast", DEEP_FP32, "deep", "cascade"]
    assert {r["messages"] for r in by_name.values()} == {200}
    assert by_name[DEEP_FP32]["network_messages_per_s"] > 0 and by_name["deep"]["network_messages_per_s"] > 0
    assert report["int8_network_speedup_vs_fp32"] == pytest.approx(
        by_name["deep"]["network_messages_per_s"] / by_name[DEEP_FP32]["network_messages_per_s"], rel=0.01)
    assert 0.0 <= by_name["cascade"]["rescored_share"] <= 1.0
    assert all(r["peak_rss_mib"] > 50 for r in by_name.values())


def test_export_registers_the_deep_model_with_its_gate_figure_and_the_registry_serves_it_stacked(
        jobs, rows, tmp_path, monkeypatch):
    import shutil

    from pipeline.scoring.champion import CHAMPION, ChampionScorer, by_alias, register
    from pipeline.scoring.registry import artefact_version
    from pipeline.training.tracking import log_folder, tracked_run

    monkeypatch.chdir(tmp_path)  # MLflow keeps run artefacts under ./mlruns
    shutil.copytree(jobs["settings"].models_dir, tmp_path / "models")
    local = jobs["settings"].model_copy(update={"models_dir": tmp_path / "models",
                                                "mlflow_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    fast_version = artefact_version(local, ScorerName.fast)
    with tracked_run(local, "test-train", "fast", {}) as mlflow:  # what `earlywarn train --model fast` registers
        log_folder(mlflow, local.models_dir / "fast", "model")
        register(local, "fast", mlflow.active_run().info.run_id, mlflow.get_artifact_uri("model"), fast_version)

    summary = export_deep(local, rows, track=True)
    registered = summary["registered"]
    assert registered["version"] == 1 and registered["model"] == "earlywarn-deep"
    # the figure of what it serves: int8 stacked with the fast model whose out-of-fold scores its maps were fitted
    # on (the distilled one), not the stack the deep evaluation reported before that model was cross-validated
    assert registered["macro_f1"] == pytest.approx(jobs["summary"]["complaint_macro_f1"], abs=1e-6)
    assert registered["protocol"].startswith("cv2-seed13-data")  # the cross-validation the maps were fitted on
    assert by_alias(local, "deep", CHAMPION).artefact_version == summary["model_version"]

    (tmp_path / "models" / "fast").rename(tmp_path / "elsewhere")  # the stacked fast model must come from the registry
    serving = load_scorer(ScorerName.deep, local.model_copy(update={"model_source": "registry"}))
    assert isinstance(serving, ChampionScorer) and serving.version == summary["model_version"]
    [score] = serving.score([Message(id="m", text="Third time asking. Where is my refund?")])
    assert score.model_version == summary["model_version"] and 0 <= score.complaint_probability <= 1
    with pytest.raises(ModelNotTrainedError, match="cascade's band is pinned"):
        load_scorer(ScorerName.cascade, local.model_copy(update={"model_source": "registry"}))


def test_fast_model_is_distilled_from_the_fold_networks_once_the_deep_cv_ran(jobs):
    assert jobs["fast"]["distilled"] is None  # before the deep cross-validation: labelled tweets alone
    distilled = jobs["fast_distilled"]["distilled"]
    assert distilled["pool_size"] == 200 and "fold networks" in distilled["teacher"]
    assert jobs["fast_distilled"]["n"] == jobs["fast"]["n"] and jobs["fast_distilled"]["folds"] == 2


def test_the_served_fast_model_is_taught_by_the_network_trained_on_every_tweet(jobs, rows):
    from pipeline.training.distillation import served_teacher

    found = served_teacher(jobs["settings"], rows)
    [teacher] = found.teachers
    assert found.pool_size == 200 == len(teacher.frame) and "deep-torch" in found.source
    assert ((teacher.complaint >= 0) & (teacher.complaint <= 1)).all()
    assert not set(teacher.frame["text"]) & set(rows["text"])
