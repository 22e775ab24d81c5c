"""Where the int8 network departs from fp32: smoothing strengths, then each kind of matrix product and each
layer left in fp32 in turn.

    python scripts/quantization_fidelity.py [--twcs 3000] [--tweets 2000] [--alphas 0.5 0.75 1.0]

Scores real tweets (the twcs head and the complaint tweets) with the trained network (`models/deep-torch`)
in PyTorch fp32 and with int8 exports: the served one (smoothed, `pipeline.scoring.smoothing`), one without
smoothing, one per other smoothing strength, and the served one with one group of MatMuls left fp32. JSON:
the mean and 99th-percentile |ΔP(complaint)| against fp32, the decisions flipped at 0.5, and the int8
network's speed on the twcs tweets. A group that closes much of the gap at little cost is worth keeping fp32.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from pipeline.benchmarks.scoring import bench_texts
from pipeline.config import get_settings
from pipeline.console import print_json, progress
from pipeline.scoring.deep import BATCH, DeepMeta, DeepScorer
from pipeline.scoring.onnx_export import QUANTIZATION, export_int8, quantize_int8
from pipeline.training.deep import predict
from pipeline.training.deep_runs import load_trained

GROUPS = ("attention/self/query", "attention/self/key", "attention/self/value", "attention/output/dense",
          "intermediate/dense", "/output/dense")


def matmul_groups(graph: Path) -> dict[str, list[str]]:
    """Node names of the quantisable MatMuls, by kind of product and by layer."""
    import onnx

    names = [n.name for n in onnx.load(str(graph)).graph.node  # weight products only: attention's own two
             if n.op_type == "MatMul" and "encoder" in n.name and not n.name.endswith(("self/MatMul", "self/MatMul_1"))]
    groups = {f"fp32 {g.strip('/')}": [n for n in names if g in n and (g != "/output/dense" or "attention" not in n)]
              for g in GROUPS}
    return groups | {f"fp32 layer {i}": [n for n in names if f"layer.{i}/" in n] for i in range(6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--twcs", type=int, default=3000, help="twcs head tweets (also timed)")
    parser.add_argument("--tweets", type=int, default=2000, help="complaint tweets (data/prepared)")
    parser.add_argument("--alphas", type=float, nargs="*", default=[0.5, 0.75, 1.0],
                        help="SmoothQuant strengths to compare with the served one")
    args = parser.parse_args()
    settings = get_settings()
    twcs = bench_texts(settings, args.twcs)
    prepared = Path("data/prepared/complaint_tweets.parquet")
    trained_on = pd.read_parquet(prepared)["text"].tolist() if prepared.is_file() else []
    texts = twcs + trained_on[: args.tweets]
    model = load_trained(settings)
    reference, _ = predict(model, texts, batch_size=BATCH)
    results = {}
    with tempfile.TemporaryDirectory(prefix="earlywarn-quant-") as scratch:
        served = export_int8(model, trained_on or twcs, Path(scratch) / "served")
        builds: dict[str, Callable[[Path], Path]] = {
            f"all int8 (served, {QUANTIZATION.tag})": lambda _: served,
            "all int8, unsmoothed": lambda folder: export_int8(model, [], folder, replace(QUANTIZATION, smoothing=None)),
        }
        for alpha in args.alphas:
            how = replace(QUANTIZATION, smoothing=alpha)
            builds[f"all int8, {how.tag}"] = lambda folder, how=how: export_int8(model, trained_on or twcs, folder, how)
        groups = matmul_groups(served.parent / "fp32.onnx")
        left_fp32 = {name: len(excluded) for name, excluded in groups.items()}
        for name, excluded in groups.items():
            builds[name] = lambda folder, excluded=excluded: quantize_int8(served.parent / "fp32.onnx",
                                                                            folder / "int8.onnx", exclude=excluded)
        with progress() as bar:
            for i, (name, build) in enumerate(bar.track(builds.items(), description="int8 variants")):
                folder = Path(scratch) / f"variant{i}"
                folder.mkdir()
                meta = DeepMeta(version=name, trained_at="", threshold=0.5, quantized=True)
                scorer = DeepScorer(DeepScorer.save(folder / "artefact", build(folder), meta), meta)
                p, _ = scorer.predict_raw(texts)
                started = time.perf_counter()
                scorer.predict_raw(twcs)
                rate = len(twcs) / (time.perf_counter() - started)
                gap = np.abs(p - reference)
                results[name] = {"fp32_matmuls": left_fp32.get(name, 0), "mean_abs_diff": round(float(gap.mean()), 5),
                                 "p99_abs_diff": round(float(np.quantile(gap, 0.99)), 4),
                                 "flips_at_0_5": int(((p >= 0.5) != (reference >= 0.5)).sum()),
                                 "network_messages_per_s": round(rate, 1)}
    print_json({"texts": len(texts), "reference": "PyTorch fp32", "variants": results})


if __name__ == "__main__":
    main()
