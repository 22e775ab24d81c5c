"""`earlywarn feedback …`: labels from case outcomes and from analysts, and what retraining with them changes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from pipeline.config import get_settings
from pipeline.console import print_json, progress

feedback_app = typer.Typer(help="Feedback labels: active-learning export and import, and retraining with them.",
                           no_args_is_help=True)


@feedback_app.command("export")
def export(
    output: Annotated[Path, typer.Option(help="folder for tasks.csv, tasks.label-studio.json and the config")]
    = Path("reports/labelling"),
    k: Annotated[int, typer.Option(min=1, help="messages to send for labelling")] = 200,
    limit: Annotated[int, typer.Option(min=10, help="unlabelled replayed messages to choose from")] = 5000,
) -> None:
    """The most informative unlabelled messages (uncertain, and unlike each other) as a CSV and Label Studio tasks."""
    from pipeline.scoring.registry import ScorerName, load_scorer
    from pipeline.training.active_learning import (
        candidates_from_replay,
        export_csv,
        export_label_studio,
        label_config,
        select_for_labelling,
    )

    settings = get_settings()
    with progress() as bar:
        bar.add_task("scoring the replayed threads and choosing", total=None)
        pool = candidates_from_replay(settings, load_scorer(ScorerName.fast, settings), limit)
        chosen = select_for_labelling(pool.ids, pool.texts, pool.probabilities, k, threshold=pool.threshold,
                                      model_version=pool.model_version)
    output.mkdir(parents=True, exist_ok=True)
    (output / "label-studio-config.xml").write_text(label_config())
    print_json({"selected": len(chosen), "pool": len(pool.ids), "csv": str(export_csv(chosen, output / "tasks.csv")),
                "label_studio": str(export_label_studio(chosen, output / "tasks.label-studio.json")),
                "label_studio_config": str(output / "label-studio-config.xml")})


@feedback_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="the filled-in tasks.csv or a Label Studio JSON export")],
    output: Annotated[Path, typer.Option(help="where the checked labels are kept")] = Path("data/feedback/labels.csv"),
) -> None:
    """Check the labels and keep them for retraining; a bad row is refused with its number and the fix."""
    from pipeline.training.active_learning import import_labels

    labels = import_labels(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.is_file():
        labels = pd.concat([_kept(output), labels], ignore_index=True)
    labels.to_csv(output, index=False)
    print_json({"imported": int(labels.attrs.get("labelled", len(labels))), "kept_in": str(output),
                "rows_now": len(labels)})


@feedback_app.command("evaluate")
def evaluate(
    labels: Annotated[Path | None, typer.Option(help="imported labels (default: data/feedback/labels.csv if present)")]
    = None,
    folds: Annotated[int | None, typer.Option(min=2, help="cross-validation folds (default: params.yaml's "
                                              "evaluation.folds, 10)")] = None,
    since: Annotated[str | None, typer.Option(help="case outcomes settled (closed or dismissed) on or after "
                                              "YYYY-MM-DD")] = None,
) -> None:
    """Cross-validate the fast model without and with the feedback (case outcomes + imported labels) on the
    same folds; feedback rows only ever train. Prints both and the change."""
    from pipeline.cases.store import make_engine
    from pipeline.training.feedback import closed_since, feedback_examples, retrain_with_feedback

    from pipeline.training.params import load_params

    settings = get_settings()
    folds = folds or load_params(settings.params_file).evaluation.folds
    engine = make_engine(settings.database_url)
    try:
        frames = [feedback_examples(engine, closed_since(since))]
    finally:
        engine.dispose()
    path = labels or Path("data/feedback/labels.csv")
    if path.is_file():
        frames.append(_kept(path))
    elif labels is not None:
        raise typer.BadParameter(f"{path} does not exist: import labels with `earlywarn feedback import`",
                                 param_hint="--labels")
    feedback = pd.concat(frames, ignore_index=True)
    with progress() as bar:
        task = bar.add_task("cross-validation without and with feedback", total=2 * folds)
        result: dict[str, Any] = retrain_with_feedback(settings, feedback, folds=folds,
                                                       on_fold=lambda *_: bar.advance(task))
    print_json(result)


def _kept(path: Path) -> pd.DataFrame:
    """Labels kept by `import`, typed again after the trip through CSV."""
    from pipeline.training.feedback import feedback_frame

    return feedback_frame(pd.read_csv(path, keep_default_na=False, na_values=[""]).to_dict("records"))
