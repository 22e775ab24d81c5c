"""The MLflow registry path: versions and aliases, the promotion gate, and serving @champion with a
swap when the alias moves — on a real local MLflow store and the session's real fast model."""

from __future__ import annotations

import os
import shutil

import pytest

from pipeline.config import Settings
from pipeline.schema import Message
from pipeline.scoring.champion import (
    CHALLENGER,
    CHAMPION,
    ChampionScorer,
    PromotionRefused,
    by_alias,
    promote,
    record_evaluation,
    register,
)
from pipeline.scoring.fast import FastScorer
from pipeline.scoring.registry import ScorerName, load_scorer
from pipeline.training.tracking import log_folder, tracked_run

PROTOCOL = "cv10-seed13-dataabc"


@pytest.fixture(scope="module")
def store(tmp_path_factory, models_dir):
    """One MLflow store for the module (creating one costs seconds); each test registers its own model name."""
    folder = tmp_path_factory.mktemp("registry")
    here = os.getcwd()
    os.chdir(folder)  # MLflow keeps run artefacts under ./mlruns
    shutil.copytree(models_dir, folder / "models")
    yield Settings(models_dir=folder / "models", mlflow_uri=f"sqlite:///{folder / 'mlflow.db'}")
    os.chdir(here)


def trained(settings: Settings, scorer: str, label: str, macro_f1: float | None, protocol: str = PROTOCOL) -> int:
    """What `earlywarn train` then `earlywarn evaluate` do for one artefact."""
    with tracked_run(settings, "test-train", label, {"label": label}) as mlflow:
        log_folder(mlflow, settings.models_dir / "fast", "model")
        version = register(settings, scorer, mlflow.active_run().info.run_id, mlflow.get_artifact_uri("model"), label)
    if macro_f1 is not None:
        record_evaluation(settings, scorer, label, macro_f1, protocol)
    return version.number


def test_the_first_version_is_champion_and_a_worse_challenger_is_refused_with_the_numbers(store):
    first = trained(store, "worse", "worse-a", 0.80)
    assert by_alias(store, "worse", CHAMPION).number == first == by_alias(store, "worse", CHALLENGER).number
    second = trained(store, "worse", "worse-b", 0.78)
    assert by_alias(store, "worse", CHALLENGER).number == second
    with pytest.raises(PromotionRefused, match=r"0\.7800 against the champion's \(version 1\) 0\.8000"):
        promote(store, "worse")
    assert by_alias(store, "worse", CHAMPION).number == first


def test_only_like_is_compared_and_an_unevaluated_challenger_is_refused(store):
    trained(store, "unlike", "unlike-a", 0.80)
    trained(store, "unlike", "unlike-b", None)
    with pytest.raises(PromotionRefused, match="has no evaluation"):
        promote(store, "unlike")
    record_evaluation(store, "unlike", "unlike-b", 0.95, "cv5-seed1-dataother")
    with pytest.raises(PromotionRefused, match="not comparable"):
        promote(store, "unlike")


def test_a_better_challenger_is_promoted_and_served_without_a_restart(store):
    trained(store, "better", "better-a", 0.80)
    serving = ChampionScorer(store, "better", FastScorer.load, refresh_seconds=0.0)
    message = Message(id="m1", text="third time asking, where is my refund?")
    assert serving.current.number == 1 and serving.score([message])[0].id == "m1"
    better = trained(store, "better", "better-c", 0.83)
    result = promote(store, "better")
    assert result["champion"] == better and result["previous"] == 1
    serving.score([message])
    assert serving.current.number == better  # the alias moved; the next batch used the new champion


def test_registry_serving_is_chosen_by_setting(store):
    trained(store, "fast", "fast-a", 0.80)
    served = load_scorer(ScorerName.fast, store.model_copy(update={"model_source": "registry"}))
    assert isinstance(served, ChampionScorer) and served.current.number == 1
