"""dvc.yaml and params.yaml work with DVC itself, offline and with no remote: the plots it declares
draw from the committed curve tables, its metrics and params are readable, and every stage that
trains or evaluates a model depends on the params section that shapes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.config import PROJECT_ROOT

DVC = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))


def dvc(*args: str) -> dict:
    done = subprocess.run([DVC, *args, "--json"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]


def test_dvc_plots_draws_the_precision_recall_and_calibration_curves():
    shown = dvc("plots", "show")["data"]
    assert {"precision-recall", "handler-workload", "calibration"} <= set(shown)
    points = shown["precision-recall"][0]["content"]["data"]["values"]
    assert len(points) > 50 and {"precision", "recall"} <= set(points[0])
    reliability = shown["calibration"][0]["content"]["data"]["values"]
    assert all(0 <= float(p["fraction_positive"]) <= 1 for p in reliability)


def test_dvc_reads_the_metrics_and_the_params():
    metrics = dvc("metrics", "show")[""]["data"]
    assert 0.5 < metrics["metrics/fast.json"]["data"]["complaint_macro_f1"] <= 1
    params = dvc("params", "diff", "--all")["params.yaml"]
    assert {"fast.C", "deep.learning_rate", "evaluation.folds"} <= set(params)


def test_training_and_evaluation_stages_depend_on_their_params(stages):
    for name, stage in stages.items():
        cmd = stage["cmd"]
        if "--summarise-only" in cmd:  # reads saved scores, no parameter: it depends on the stage that used them
            assert "models/deep-cv" in stage["deps"], f"{name} does not depend on the scores it summarises"
            continue
        model = next((m for m in ("fast", "deep") if f"--model {m} " in f"{cmd} "), None)
        if model and (cmd.startswith("earlywarn train") or cmd.startswith("earlywarn evaluate")):
            assert model in stage.get("params", []), f"{name} does not depend on params.yaml's {model} section"
        # every job that cross-validates reads the folds from params.yaml unless its command fixes them
        cross_validates = (cmd.startswith("earlywarn evaluate") and (model or "--task early-warning" in cmd)) or \
            "train --model early-warning" in cmd
        if cross_validates and "--folds" not in cmd:
            assert "evaluation.folds" in stage.get("params", []), f"{name} does not depend on evaluation.folds"
    assert "--plots metrics/plots" in stages["evaluate_fast"]["cmd"]
