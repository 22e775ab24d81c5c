"""The deep scorer's jobs and its cascade's: cross-validate, fine-tune on everything, export what serving loads.

They run in the order DVC runs them. `evaluate` keeps the raw out-of-fold scores under
`models/deep-cv/`; `train` fine-tunes on all tweets and keeps the PyTorch weights; `export`
turns those weights into the int8 ONNX artefact, with its decision maps (stack with the fast
model, calibrator, threshold, severity offsets) fitted on the out-of-fold scores, so they were
learnt from predictions by models that had not seen the tweets they were scoring.

The fast model's cross-validation is distilled from the deep fold networks, so it can only run after
them, and the served deep figure (int8 stacked with the fast model) only after it: `summarise_deep_cv`
re-reads the saved scores once both are there, and `export` computes the figure it registers from the
very scores its maps are fitted on, so the registry never carries another variant's number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Settings
from pipeline.errors import ModelNotTrainedError
from pipeline.scoring.cascade import CascadeMeta, CascadeScorer
from pipeline.scoring.champion import GATE_METRIC, evaluation_protocol, record_evaluation, register, registered_name
from pipeline.scoring.deep import DeepMeta, DeepScorer
from pipeline.scoring.fast import data_fingerprint
from pipeline.scoring.stacking import DecisionMaps
from pipeline.training.cascade import FIT_LOSS_POINTS, choose_band, cross_validate_cascade
from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import RawOutOfFold, cross_fit, cross_validate_deep, summarise_deep, teach_pool
from pipeline.training.distillation import customer_pool
from pipeline.training.evaluation import OutOfFold
from pipeline.training.tracking import log_folder, log_json, log_model_card, tracked_run

Advance = Callable[[int], None]
VARIANTS = ("fp32", "int8")
PROTOCOL_FILE = "protocol.json"  # which tweets, folds and seed the saved out-of-fold scores come from


def cv_dir(settings: Settings) -> Path:
    return settings.models_dir / "deep-cv"


def deep_checkpoints(settings: Settings) -> Path:
    """Where fine-tuned fold and teacher networks are kept, so no rerun fine-tunes one again."""
    return settings.models_dir / ".cache" / "deep-cv"


def teachers_path(settings: Settings) -> Path:
    """Each fold network's scores on the distillation pool, written by `evaluate_deep`."""
    return cv_dir(settings) / "teachers.npz"


def oof_path(settings: Settings, variant: str) -> Path:
    return cv_dir(settings) / f"oof-{variant}.npz"


def load_oof(settings: Settings, variant: str = "int8") -> RawOutOfFold:
    path = oof_path(settings, variant)
    if not path.is_file():
        raise ModelNotTrainedError("deep cross-validation", path.parent,
                                   hint="run `earlywarn evaluate --model deep` first")
    return RawOutOfFold.load(path)


def evaluate_deep(
    settings: Settings,
    tweets: pd.DataFrame,
    folds: int = 10,
    config: DeepConfig | None = None,
    advance: Advance | None = None,
    on_fold: Callable[[int], None] | None = None,
    track: bool = True,
    on_pool_fold: Callable[[int], None] | None = None,
) -> dict[str, object]:
    """The fast model's protocol for the network in fp32 and int8 and, when the fast model's out-of-fold
    scores are there, for int8 stacked with it. The headline is what `export` will serve. Each fold's
    network also scores the unlabelled pool, the fast model's teachers in its own cross-validation."""
    config = config or DeepConfig.from_settings(settings)
    started = time.perf_counter()
    checkpoints = deep_checkpoints(settings)
    raw = cross_validate_deep(tweets, folds=folds, seed=settings.seed, config=config, advance=advance,
                              on_fold=on_fold, checkpoints=checkpoints)
    for variant in VARIANTS:
        raw[variant].save(oof_path(settings, variant))
    protocol = {"protocol": evaluation_protocol(tweets["text"].tolist(), folds, settings.seed)}
    (cv_dir(settings) / PROTOCOL_FILE).write_text(json.dumps(protocol, indent=1) + "\n")
    pool = customer_pool(settings, tweets)
    if pool is not None:  # the fast model's cross-validation distils fold k from fold k's network
        teach_pool(tweets, pool, folds, settings.seed, config, checkpoints,
                   on_group=on_pool_fold).save(teachers_path(settings))
    result = summarise_deep_cv(settings, tweets, track=False, skip_stale_fast=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    if track:
        _track(settings, result, f"cv{folds}-deep", config)
    return result


def summarise_deep_cv(settings: Settings, tweets: pd.DataFrame, track: bool = True,
                      skip_stale_fast: bool = False) -> dict[str, object]:
    """The cross-validated figures of what `export` would serve now, from the saved out-of-fold scores
    (seconds; fine-tunes nothing and rewrites none of the cross-validation's files): int8 stacked with the
    fast model once the fast model's out-of-fold scores are there, the network alone before. Fast scores
    from other folds are refused, or with `skip_stale_fast` left out and said so (the deep evaluation
    itself, whose new folds the fast model has not been cross-validated on yet)."""
    raw = {variant: load_oof(settings, variant) for variant in VARIANTS}
    _check_protocol(settings, tweets)
    if len(raw["int8"].complaint) != len(tweets):
        raise ModelNotTrainedError("deep cross-validation", cv_dir(settings),
                                   hint=f"its out-of-fold scores cover {len(raw['int8'].complaint)} tweets, not "
                                        f"these {len(tweets)}: rerun `earlywarn evaluate --model deep`")
    folds = int(raw["int8"].fold.max()) + 1
    skipped = None
    try:
        fast = fast_oof(settings, raw["int8"])
    except ModelNotTrainedError as stale:
        if not skip_stale_fast:
            raise
        fast, skipped = None, f"the fast model's out-of-fold scores were left out: {stale}"
    summary = summarise_deep(tweets, raw, settings.seed, None if fast is None else fast.complaint)
    served = "int8" if fast is None else "int8+fast"
    result: dict[str, object] = {
        "model": "deep",
        "served": served,
        "protocol": f"stratified {folds}-fold CV on the complaint tweets; stack, calibration, threshold and "
                    "severity offsets cross-fitted on the other folds",
        **summary[served],  # type: ignore[dict-item]
        "network_alone": {v: summary[v] for v in VARIANTS},
        **({} if fast is None else {"fp32+fast": summary["fp32+fast"]}),
        **{k: v for k, v in summary.items() if k.startswith("int8_macro_f1_loss_points")},
        **({} if skipped is None else {"fast_skipped": skipped}),
    }
    if track:
        _track(settings, result, f"cv{folds}-deep-summary")
    return result


def _check_protocol(settings: Settings, tweets: pd.DataFrame) -> str:
    """The saved scores' protocol (folds, seed, data fingerprint), refused when it is not these tweets'."""
    path = cv_dir(settings) / PROTOCOL_FILE
    if not path.is_file():
        raise ModelNotTrainedError("deep cross-validation", cv_dir(settings),
                                   hint="it was saved without its protocol: rerun `earlywarn evaluate --model deep`")
    protocol = str(json.loads(path.read_text()).get("protocol", ""))
    folds = protocol.split("-")[0].removeprefix("cv")
    if not folds.isdigit() or protocol != evaluation_protocol(tweets["text"].tolist(), int(folds), settings.seed):
        raise ModelNotTrainedError("deep cross-validation", cv_dir(settings),
                                   hint=f"its scores ({protocol or 'no protocol'}) are from other tweets or another "
                                        f"seed than these (seed {settings.seed}): rerun `earlywarn evaluate --model deep`")
    return protocol


def _track(settings: Settings, result: dict[str, object], name: str, config: DeepConfig | None = None) -> None:
    """One MLflow run for an evaluation; with the config it fine-tuned with, also its saved scores."""
    folds = result["folds"]
    params = {"model": "deep", "folds": folds, **(config.as_params() if config else {})}
    with tracked_run(settings, "earlywarn-evaluate", name, params) as mlflow:
        log_json(mlflow, result, "evaluation.json")
        if config is not None:
            log_folder(mlflow, cv_dir(settings), "out-of-fold")


def fast_oof(settings: Settings, like: RawOutOfFold) -> OutOfFold | None:
    """The fast model's out-of-fold predictions when they exist for the same folds, else None."""
    from pipeline.training.fast import fast_oof_path

    if not fast_oof_path(settings).is_file():
        return None
    fast = OutOfFold.load(fast_oof_path(settings))
    if not np.array_equal(fast.fold, like.fold):
        raise ModelNotTrainedError("fast cross-validation", fast_oof_path(settings).parent,
                                   hint="its folds differ from the deep model's: rerun `earlywarn evaluate "
                                        "--model fast` with the same seed and folds")
    return fast


def torch_dir(settings: Settings) -> Path:
    return settings.models_dir / "deep-torch"


def train_deep(
    settings: Settings,
    tweets: pd.DataFrame,
    config: DeepConfig | None = None,
    advance: Advance | None = None,
    track: bool = True,
    export: bool = True,
) -> dict[str, object]:
    """Fine-tune on every tweet and keep the PyTorch weights; with `export`, also build the served artefact."""
    import torch

    from pipeline.training.deep import finetune

    config = config or DeepConfig.from_settings(settings)
    started = time.perf_counter()
    texts, labels = tweets["text"].tolist(), tweets["label"].tolist()
    model = finetune(texts, labels, tweets["severity"].tolist(), config, advance)
    folder = torch_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pt")
    trained_at = datetime.now(UTC)
    fingerprint = data_fingerprint(texts, labels)
    info = {"trained_at": trained_at.isoformat(), "training_rows": len(texts), "data_fingerprint": fingerprint,
            "params": config.as_params()}
    (folder / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    summary: dict[str, object] = {"model": "deep", "path": str(folder), "training_rows": len(texts),
                                  "train_seconds": round(time.perf_counter() - started, 1)}
    if export:  # its own tracked run, which logs and registers the served artefact
        summary.update(export_deep(settings, tweets, track=track))
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if track:
        with tracked_run(settings, "earlywarn-train", f"train-deep-{fingerprint[:8]}", config.as_params()) as mlflow:
            log_json(mlflow, {k: v for k, v in summary.items() if k not in ("path", "registered")}, "train.json")
            log_folder(mlflow, folder, "pytorch")
            log_model_card(mlflow, settings, "deep")
    return summary


def load_trained(settings: Settings):  # -> ComplaintEncoder (torch imported lazily)
    import torch

    from pipeline.scoring.deep_model import ComplaintEncoder

    weights = torch_dir(settings) / "model.pt"
    if not weights.is_file():
        raise ModelNotTrainedError("deep", weights.parent)
    model = ComplaintEncoder()
    model.load_state_dict(torch.load(weights, weights_only=True))
    return model.eval()


def export_deep(settings: Settings, tweets: pd.DataFrame, track: bool = True) -> dict[str, object]:
    """ONNX, int8, and the decision maps fitted on the int8 out-of-fold scores: the stack with the fast model
    (when its out-of-fold scores are there), isotonic calibrator, threshold and severity offsets."""
    import tempfile

    from pipeline.scoring.onnx_export import export_int8

    info = json.loads((torch_dir(settings) / "training.json").read_text()) if (
        torch_dir(settings) / "training.json").is_file() else {}
    model = load_trained(settings)
    maps, fast, calibrated = None, None, oof_path(settings, "int8").is_file()
    if calibrated:
        raw = load_oof(settings, "int8")
        labels = tweets["label"].to_numpy()
        if len(raw.complaint) != len(labels):
            raise ModelNotTrainedError("deep cross-validation", cv_dir(settings),
                                       hint="its out-of-fold scores are from other data: rerun "
                                            "`earlywarn evaluate --model deep`")
        fast = fast_oof(settings, raw)
        maps = DecisionMaps.fit(raw.complaint, raw.severity, labels, tweets["severity"].to_numpy(),
                                None if fast is None else fast.complaint)
    fast_version = None
    if maps is not None and maps.stack is not None:
        from pipeline.scoring.registry import ScorerName, artefact_version

        fast_version = artefact_version(settings, ScorerName.fast)
    target = settings.models_dir / "deep"
    with tempfile.TemporaryDirectory(prefix="earlywarn-export-") as scratch:
        int8 = export_int8(model, tweets["text"].tolist(), Path(scratch))
        fingerprint = str(info.get("data_fingerprint", ""))
        trained_at = str(info.get("trained_at", datetime.now(UTC).isoformat()))
        meta = DeepMeta(
            version=f"deep-{datetime.fromisoformat(trained_at):%Y%m%d%H%M%S}-{fingerprint[:8]}",
            trained_at=trained_at, threshold=float(maps.threshold if maps else 0.5), quantized=True,
            training_rows=int(info.get("training_rows", 0)), data_fingerprint=fingerprint,
            params={**info.get("params", {}), "calibrated_on": "int8 out-of-fold scores" if calibrated else "none"},
            stack=asdict(maps.stack) if maps and maps.stack else None, fast_version=fast_version,
            severity_offsets=list(maps.offsets.offsets) if maps else None,
        )
        DeepScorer.save(target, int8, meta, maps.calibrator if maps else None)
    summary: dict[str, object] = {"model_version": meta.version, "artefact": str(target),
                                  "threshold": round(meta.threshold, 4), "calibrated": calibrated,
                                  "stacked_with": fast_version,
                                  "onnx_mib": round((target / "model.onnx").stat().st_size / 2**20, 1)}
    if track:
        with tracked_run(settings, "earlywarn-export", f"export-{meta.version}", {"model": "deep"}) as mlflow:
            log_json(mlflow, {k: v for k, v in summary.items() if k != "artefact"}, "export.json")
            log_folder(mlflow, target, "model")
            log_model_card(mlflow, settings, "deep")
            mlflow.set_tag("model_version", meta.version)
            registered = register(settings, "deep", mlflow.active_run().info.run_id, mlflow.get_artifact_uri("model"),
                                  meta.version)
        summary["registered"] = {"model": registered_name("deep"), "version": registered.number,
                                 **_record_gate(settings, tweets, meta.version)}
    return summary


def _record_gate(settings: Settings, tweets: pd.DataFrame, version: str) -> dict[str, object]:
    """Tag the registered export with the cross-validated figure of the variant it serves, summarised from
    the out-of-fold scores its decision maps were fitted on, when that evaluation was made on these tweets."""
    try:
        result = summarise_deep_cv(settings, tweets, track=False)
    except ModelNotTrainedError as missing:
        return {"evaluation": f"none: {missing}"}
    protocol = _check_protocol(settings, tweets)
    recorded = record_evaluation(settings, "deep", version, float(result["complaint_macro_f1"]),  # type: ignore[arg-type]
                                 protocol)
    return {} if recorded is None else {"protocol": recorded.protocol, GATE_METRIC: recorded.metric}


def _cascade_inputs(settings: Settings, tweets: pd.DataFrame) -> tuple[OutOfFold, OutOfFold]:
    """The fast model's out-of-fold predictions and the served deep model's, cross-fitted."""
    from pipeline.training.fast import fast_oof_path

    raw = load_oof(settings)
    fast = fast_oof(settings, raw) if len(raw.complaint) == len(tweets) else None
    if fast is None:
        raise ModelNotTrainedError("fast cross-validation", fast_oof_path(settings).parent,
                                   hint="run `earlywarn evaluate --model fast` (and `--model deep`) on these tweets first")
    deep = cross_fit(raw, tweets["label"].to_numpy(), tweets["severity"].to_numpy(), fast.complaint)
    return fast, deep


def evaluate_cascade(settings: Settings, tweets: pd.DataFrame, track: bool = True) -> dict[str, object]:
    """The cascade under the same protocol, from the saved out-of-fold scores (seconds, not hours)."""
    fast, deep = _cascade_inputs(settings, tweets)
    summary = cross_validate_cascade(tweets, fast, deep, settings.seed)
    result: dict[str, object] = {
        "model": "cascade",
        "protocol": f"stratified {summary['folds']}-fold CV on the complaint tweets; each fold's band chosen on "
                    "the other folds' out-of-fold scores (fast, deep int8)",
        **summary,
    }
    if track:
        with tracked_run(settings, "earlywarn-evaluate", f"cv{summary['folds']}-cascade",
                         {"model": "cascade", "fit_loss_points": FIT_LOSS_POINTS}) as mlflow:
            log_json(mlflow, {k: v for k, v in result.items() if k != "bands"}, "evaluation.json")
    return result


def export_cascade(settings: Settings, tweets: pd.DataFrame) -> dict[str, object]:
    """The served band, chosen on all out-of-fold scores, pinned to the fast and deep versions it was chosen for."""
    from pipeline.scoring.registry import ScorerName, artefact_dir, artefact_version

    fast, deep = _cascade_inputs(settings, tweets)
    band = choose_band(fast, deep, tweets["label"].to_numpy(), np.arange(len(tweets)))
    fast_version, deep_version = artefact_version(settings, ScorerName.fast), artefact_version(settings, ScorerName.deep)
    share = float(band.contains(fast.complaint).mean())
    meta = CascadeMeta(version=f"cascade-{deep_version.removeprefix('deep-')}", band=band, fast_version=fast_version,
                       deep_version=deep_version, rescored_share=round(share, 4),
                       chosen_on=f"{len(tweets)} out-of-fold scores, at most {FIT_LOSS_POINTS} macro-F1 points "
                                 "below the deep model")
    folder = CascadeScorer.save(artefact_dir(settings, ScorerName.cascade), meta)
    return {"model_version": meta.version, "artefact": str(folder), "band": asdict(band), "rescored_share": meta.rescored_share}
