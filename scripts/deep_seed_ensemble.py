"""Would several fine-tuned MiniLMs, averaged, reach the deep target? A measured trial (issue 3).

    python scripts/deep_seed_ensemble.py [--seeds 13 14] [--folds 10]

The served deep model is one network fine-tuned with seed 13. Fine-tuning a small encoder on 2,500 tweets
is noisy from seed to seed, and averaging networks that differ only in their seed is the cheapest ensemble
there is. This runs the deep cross-validation (`cross_validate_deep`, same split, same recipe from
params.yaml) once per training seed, fold by fold, so that an interrupted run is already a paired
comparison on the folds it finished. Fold networks are checkpointed where `earlywarn evaluate --model deep`
keeps them: seed 13's folds are the served recipe's, and either command reuses the other's.

It prints JSON: each seed alone and the average of the first 2, 3, … seeds (mean logit of P(complaint),
mean severity distribution), with the protocol's cross-fitted figures in fp32 and int8, network alone (the
fast model's stack needs its own cross-validation and is left out). `--report` trains nothing and summarises
the folds every seed has finished: a partial run is a paired comparison on those folds. Two seeds, ten folds
took 113 minutes on two Zen 5 cores (5.7 minutes a network); a network takes about 7 minutes on two Zen 3 cores.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from pipeline.config import get_settings
from pipeline.console import print_json, progress
from pipeline.datasets.complaint_tweets import load_complaint_tweets
from pipeline.scoring.onnx_export import QUANTIZATION
from pipeline.training.deep import DeepConfig
from pipeline.training.deep_cv import (
    RawOutOfFold,
    cross_validate_deep,
    fold_assignment,
    run_key,
    summarise_deep,
)
from pipeline.training.deep_runs import deep_checkpoints

VARIANTS = ("fp32", "int8")
HEADLINE = ("complaint_macro_f1", "complaint_macro_f1_std", "severity_macro_f1", "ece", "auroc")


class _FoldDone(Exception):
    """Raised from `on_fold` to stop `cross_validate_deep` once the fold this pass trains is checkpointed."""


def train_through(frame: pd.DataFrame, fold: int, folds: int, split_seed: int, config: DeepConfig, checkpoints: Path,
                  max_steps: int | None = None) -> None:
    """Folds 0..`fold` of one seed's cross-validation, checkpointed (finished ones are read back, not retrained)."""
    def stop(k: int) -> None:
        if k >= fold:
            raise _FoldDone

    try:
        cross_validate_deep(frame, folds=folds, seed=split_seed, config=config, checkpoints=checkpoints,
                            on_fold=stop, max_steps=max_steps)
    except _FoldDone:
        pass


def fold_scores(checkpoints: Path, key: str, fold: int) -> Path:
    """Where `cross_validate_deep` stores a finished fold's scores (the test reads them back through it)."""
    return checkpoints / f"{key}-{QUANTIZATION.tag}-fold{fold}.npz"


def finished_folds(frame: pd.DataFrame, folds: int, split_seed: int, config: DeepConfig, checkpoints: Path,
                   max_steps: int | None = None) -> set[int]:
    key = run_key(frame, folds, split_seed, config, max_steps)
    return {k for k in range(folds) if fold_scores(checkpoints, key, k).is_file()}


def average(members: list[RawOutOfFold]) -> RawOutOfFold:
    """Mean logit of P(complaint) and mean severity distribution over the members."""
    clipped = [np.clip(m.complaint, 1e-6, 1 - 1e-6) for m in members]
    return RawOutOfFold(expit(np.mean([logit(p) for p in clipped], axis=0)),
                        np.mean([m.severity for m in members], axis=0), members[0].fold)


def load_finished(frame: pd.DataFrame, folds: int, split_seed: int, config: DeepConfig, checkpoints: Path,
                  fold_of: np.ndarray, keep: np.ndarray, max_steps: int | None = None) -> dict[str, RawOutOfFold]:
    """The checkpointed out-of-fold scores of the finished folds (rows `keep`), per variant."""
    key = run_key(frame, folds, split_seed, config, max_steps)
    raw = {v: RawOutOfFold(np.zeros(len(frame)), np.zeros((len(frame), 5)), fold_of) for v in VARIANTS}
    for k in np.unique(fold_of[keep]):
        with np.load(fold_scores(checkpoints, key, k)) as stored:
            for name, variant in raw.items():
                variant.complaint[fold_of == k] = stored[f"{name}_complaint"]
                variant.severity[fold_of == k] = stored[f"{name}_severity"]
    return {v: RawOutOfFold(r.complaint[keep], r.severity[keep], r.fold[keep]) for v, r in raw.items()}


def _headline(summary: dict[str, object]) -> dict[str, object]:
    return {variant: {name: summary[variant][name] for name in HEADLINE}  # type: ignore[index]
            for variant in VARIANTS} | {"int8_loss_points": summary["int8_macro_f1_loss_points"]}


def report(frame: pd.DataFrame, seeds: list[int], folds: int, split_seed: int, base: DeepConfig, checkpoints: Path,
           max_steps: int | None = None) -> dict[str, object]:
    """Each seed alone and the average of the first 2, 3, … seeds, on the folds every seed has finished."""
    configs = {seed: replace(base, seed=seed) for seed in seeds}
    done = sorted(set.intersection(*(finished_folds(frame, folds, split_seed, c, checkpoints, max_steps)
                                     for c in configs.values())))
    if len(done) < 2:
        raise ValueError(f"folds {done} are finished for every seed, and cross-fitting needs at least two: "
                         "train more folds (run the script without --report)")
    fold_of = fold_assignment(frame, folds, split_seed)
    keep = np.isin(fold_of, done)
    raw = {seed: load_finished(frame, folds, split_seed, config, checkpoints, fold_of, keep, max_steps)
           for seed, config in configs.items()}
    subset = frame[keep].reset_index(drop=True)
    result: dict[str, object] = {"folds_finished": done, "split_seed": split_seed, "seeds": seeds}
    for seed in seeds:
        result[f"seed {seed}"] = _headline(summarise_deep(subset, raw[seed], split_seed))
    for size in range(2, len(seeds) + 1):
        members = seeds[:size]
        averaged = {v: average([raw[s][v] for s in members]) for v in VARIANTS}
        result[f"average of seeds {members}"] = _headline(summarise_deep(subset, averaged, split_seed))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14], help="training seeds, served one first")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--report", action="store_true", help="summarise the finished folds, train nothing")
    args = parser.parse_args()

    settings = get_settings()
    frame = load_complaint_tweets(settings.data_dir)
    checkpoints = deep_checkpoints(settings)
    base = DeepConfig.from_settings(settings)
    if not args.report:
        with progress() as bar:
            task = bar.add_task("fold networks (fold-major, every seed)", total=args.folds * len(args.seeds))
            for k in range(args.folds):
                for seed in args.seeds:
                    train_through(frame, k, args.folds, settings.seed, replace(base, seed=seed), checkpoints)
                    bar.advance(task)
    try:
        print_json(report(frame, args.seeds, args.folds, settings.seed, base, checkpoints))
    except ValueError as too_few:
        raise SystemExit(str(too_few)) from None


if __name__ == "__main__":
    main()
