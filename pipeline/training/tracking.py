"""MLflow tracking on the configured store (a local SQLite file unless EARLYWARN_MLFLOW_URI says otherwise)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.config import PROJECT_ROOT, Settings

#: the model cards (data, its licence, intended use, limits) and the metrics files DVC keeps,
#: in the checkout; an installed package without them logs no card
MODEL_CARDS = PROJECT_ROOT / "models"
METRICS = PROJECT_ROOT / "metrics"


def _configure(settings: Settings) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    import mlflow  # imported late: it is slow to import and only training needs it

    mlflow.set_tracking_uri(settings.tracking_uri)
    return mlflow


_METRIC_UNSAFE = re.compile(r"[^\w\-.:/]")


def flat_metrics(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested JSON results as MLflow metric names (`per_domain.food.macro_f1`)."""
    out: dict[str, float] = {}
    for key, value in values.items():
        name = _METRIC_UNSAFE.sub("_", f"{prefix}{key}")  # MLflow refuses names like "int8+fast.auroc"
        if isinstance(value, Mapping):
            out.update(flat_metrics(value, prefix=f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


@contextmanager
def tracked_run(settings: Settings, experiment: str, run_name: str, params: Mapping[str, Any]) -> Iterator[Any]:
    """An MLflow run with its params logged; yields the mlflow module for metrics and artefacts."""
    mlflow = _configure(settings)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name):
        mlflow.log_params({k: json.dumps(v) if isinstance(v, (list, tuple, dict)) else v for k, v in params.items()})
        yield mlflow


def log_json(mlflow: Any, payload: Mapping[str, Any], name: str) -> None:
    mlflow.log_metrics(flat_metrics(payload))
    mlflow.log_dict(dict(payload), name)


def log_folder(mlflow: Any, folder: Path, artifact_path: str) -> None:
    mlflow.log_artifacts(str(folder), artifact_path=artifact_path)


def log_model_card(mlflow: Any, settings: Settings, name: str) -> list[str]:
    """The model card `<name>.md` (from the models directory, else the checkout's `models/`) and the
    evaluation it quotes, `metrics/<name>.json` with the per-domain figures, under `model_card/`;
    returns what was logged. The evaluation is the last one DVC recorded, not this run's: a card
    describes the model family, and each run's own metrics are logged beside it."""
    card = next((p for p in (settings.models_dir / f"{name}.md", MODEL_CARDS / f"{name}.md") if p.is_file()), None)
    logged = [path for path in (card, METRICS / f"{name}.json") if path is not None and path.is_file()]
    for path in logged:
        mlflow.log_artifact(str(path), artifact_path="model_card")
    return [path.name for path in logged]
