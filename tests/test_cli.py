"""The `earlywarn` command end to end, in-process, against the real data and a real trained model."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import get_settings


@pytest.fixture
def env(monkeypatch, models_dir, tmp_path):
    monkeypatch.setenv("EARLYWARN_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("EARLYWARN_MLFLOW_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


runner = CliRunner()


def test_score_writes_one_line_per_good_record_in_order_and_lists_the_bad_ones(env):
    source = env / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "text": "You promised a refund and I'm still waiting. Cancel my account!"}),
                "{broken",
                json.dumps({"id": "b", "text": None}),
                json.dumps({"id": "c", "text": "What time do you open tomorrow?"}),
            ]
        )
        + "\n"
    )
    out = env / "out.jsonl"
    result = runner.invoke(app, ["score", str(source), "--output", str(out)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "c"]
    assert set(rows[0]) == {"id", "complaint_probability", "is_complaint", "threshold", "severity",
                            "severity_probabilities", "dissatisfaction", "cues", "model_version"}
    assert rows[0]["complaint_probability"] > rows[1]["complaint_probability"]
    errors = [json.loads(line) for line in (env / "out.errors.jsonl").read_text().splitlines()]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "<record>"), (3, "text")]
    assert "line 2" in result.stderr and "line 3" in result.stderr


def test_score_reads_csv_with_named_fields_and_exits_clean(env):
    source = env / "in.csv"
    source.write_text("tweet_id,tweet\n1,my order never arrived and nobody answers\n2,love the new app\n")
    result = runner.invoke(app, ["score", str(source), "--text-field", "tweet", "--id-field", "tweet_id"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["1", "2"]


def test_unknown_model_is_refused_with_the_choices(env):
    source = env / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "hi"}) + "\n")
    result = runner.invoke(app, ["score", str(source), "--model", "gpt"])
    assert result.exit_code != 0
    assert "choose one of fast" in str(result.exception)


@pytest.mark.slow
def test_train_then_evaluate_log_to_mlflow(env, monkeypatch):
    monkeypatch.setenv("EARLYWARN_MODELS_DIR", str(env / "models"))
    get_settings.cache_clear()
    trained = runner.invoke(app, ["train", "--model", "fast"])
    assert trained.exit_code == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert (env / "models" / "fast" / "model.joblib").is_file()
    assert summary["training_rows"] == 2759

    evaluated = runner.invoke(app, ["evaluate", "--model", "fast", "--folds", "2", "--plots", str(env / "plots")])
    assert evaluated.exit_code == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert metrics["folds"] == 2 and 0.75 < metrics["complaint_macro_f1"] <= 1.0
    assert set(metrics["per_domain"]) >= {"apparel", "random_tweet", "transport"}
    assert sorted(p.name for p in (env / "plots").iterdir()) == ["fast-calibration.csv", "fast-pr.csv"]

    import mlflow

    mlflow.set_tracking_uri(get_settings().tracking_uri)
    runs = mlflow.search_runs(experiment_names=["earlywarn-train", "earlywarn-evaluate"])
    assert len(runs) == 2
    assert "metrics.complaint_macro_f1" in runs.columns
    client = mlflow.MlflowClient()
    train_run = runs[runs["tags.mlflow.runName"].str.startswith("train-")].iloc[0]
    card = {a.path for a in client.list_artifacts(train_run.run_id, "model_card")}
    assert card == {"model_card/fast.md", "model_card/fast.json"}  # the card, and the per-domain metrics
    assert train_run["params.C"] == "10.0"  # from params.yaml
    eval_run = runs[runs["tags.mlflow.runName"] == "cv2-fast"].iloc[0]
    assert {a.path for a in client.list_artifacts(eval_run.run_id, "curves")} == {
        "curves/fast-pr.csv", "curves/fast-calibration.csv"}


def test_demo_replays_real_threads_into_the_tracker(env, uss_forecaster, models_dir, monkeypatch):
    from pipeline.conversation.forecast import artefact_dir

    uss_forecaster.save(artefact_dir(get_settings()))
    monkeypatch.setenv("EARLYWARN_DATABASE_URL", f"sqlite:///{env / 'demo.db'}")
    monkeypatch.setenv("EARLYWARN_STREAM_STATE_PATH", str(env / "state.jsonl"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["demo", "--replay", "300", "--model", "fast"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["received"] == 300 and summary["cases_opened"] > 0
    assert "escalation_demand" in result.stderr  # the sample's "I want to speak to a manager"
    assert f"{summary['cases_opened']} cases in" in result.stderr


def test_prepare_writes_the_joined_tweets_that_training_reads(env):
    from pipeline.datasets.complaint_tweets import read_prepared

    target = env / "prepared" / "tweets.parquet"
    result = runner.invoke(app, ["prepare", "--output", str(target)])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 2759 and summary["complaints"] == 985 and summary["domains"] == 11
    frame = read_prepared(target)
    assert len(frame) == 2759 and (frame["severity"] >= -1).all()


def test_a_prepared_file_from_elsewhere_names_what_is_missing(env):
    import pandas as pd

    from pipeline.datasets.complaint_tweets import read_prepared
    from pipeline.errors import DataNotFoundError

    odd = env / "odd.parquet"
    pd.DataFrame({"text": ["hi"], "label": [0]}).to_parquet(odd)
    with pytest.raises(DataNotFoundError, match="lacks the columns tweet_id, domain, severity.*earlywarn prepare"):
        read_prepared(odd)
    with pytest.raises(DataNotFoundError, match="Run `earlywarn prepare` first"):
        read_prepared(env / "absent.parquet")


@pytest.mark.parametrize(("command", "why"), [
    (["train", "--model", "cascade"], "band is chosen"),
    (["export", "--model", "fast"], "needs no export"),
])
def test_commands_that_do_not_apply_to_a_model_say_what_to_run(env, command, why):
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert why in result.stderr


def test_serve_refuses_several_workers_without_a_session_secret(tmp_path):
    """Each worker would sign sessions with its own random key; it must refuse before serving anything."""
    env = {k: v for k, v in os.environ.items() if k != "EARLYWARN_WORKSPACE_SECRET"}
    env["EARLYWARN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    refused = subprocess.run([sys.executable, "-c", "from pipeline.cli import main; main()", "serve", "--workers", "2",
                              "--port", "1"], env=env, capture_output=True, text=True, timeout=120, check=False)
    said = " ".join(refused.stderr.replace("│", " ").split())
    assert refused.returncode == 2 and "EARLYWARN_WORKSPACE_SECRET" in said and "--workers 1" in said, said
    assert not (tmp_path / "serve.db").exists(), "it refused before touching the store"
