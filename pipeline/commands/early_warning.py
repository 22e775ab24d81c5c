"""`earlywarn train --model early-warning` and `earlywarn evaluate --task early-warning|lead-time`.

The forecaster reads the dissatisfaction the fast message scorer gives, so that is the scorer these
commands load; the artefact records its version.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import Settings
from pipeline.conversation.forecast import artefact_dir
from pipeline.console import progress


def _fast(settings: Settings) -> Any:
    from pipeline.scoring.registry import ScorerName, load_scorer

    return load_scorer(ScorerName.fast, settings)


def train(settings: Settings, folds: int, track: bool) -> dict[str, Any]:
    from pipeline.training.early_warning import train_early_warning

    with progress() as bar:
        task = bar.add_task(f"{folds}-fold cross-validation (level thresholds)", total=folds)
        forecaster, summary = train_early_warning(settings, _fast(settings), folds, lambda _: bar.advance(task))
    folder = forecaster.save(artefact_dir(settings))
    summary["path"] = str(folder)
    if track:
        from pipeline.training.tracking import log_folder, log_json, log_model_card, tracked_run

        with tracked_run(settings, "earlywarn-train", f"train-{forecaster.meta.version}",
                         {"model": "early-warning", "folds": folds, "seed": settings.seed}) as mlflow:
            log_json(mlflow, summary, "train.json")
            log_folder(mlflow, folder, "model")
            log_model_card(mlflow, settings, "early-warning")
    return summary


def evaluate(settings: Settings, task: str, folds: int, limit: int | None, track: bool) -> dict[str, Any]:
    if task == "lead-time":
        from pipeline.conversation.forecast import Forecaster
        from pipeline.training.lead_time import lead_time

        forecaster = Forecaster.load(artefact_dir(settings))
        with progress() as bar:
            replay = bar.add_task("replaying real threads (messages)", total=limit)
            return lead_time(settings, _fast(settings), forecaster, limit, lambda n: bar.advance(replay, n))
    from pipeline.training.early_warning import evaluate_early_warning

    with progress() as bar:
        task_id = bar.add_task(f"{folds}-fold cross-validation over dialogues", total=folds)
        result = evaluate_early_warning(settings, _fast(settings), folds, lambda _: bar.advance(task_id))
    if track:
        from pipeline.training.tracking import log_json, tracked_run

        with tracked_run(settings, "earlywarn-evaluate", f"cv{folds}-early-warning",
                         {"task": "early-warning", "folds": folds, "seed": settings.seed}) as mlflow:
            log_json(mlflow, result, "evaluation.json")
    return result
