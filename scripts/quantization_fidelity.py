"""Where the int8 network departs from fp32: each kind of matrix product, and each layer, left in fp32 in turn.

    python scripts/quantization_fidelity.py [--twcs 3000] [--tweets 2000]

Scores real tweets (the twcs head and the complaint tweets) with the trained network (`models/deep-torch`)
in PyTorch fp32 and with int8 exports that exclude one group of MatMuls from quantisation, and prints JSON:
the mean and 99th-percentile |ΔP(complaint)| against fp32, the decisions flipped at 0.5, and the int8
network's speed on the twcs tweets. A group that closes much of the gap at little cost is worth keeping fp32.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from rich.progress import track

from pipeline.benchmarks.scoring import bench_texts
from pipeline.config import get_settings
from pipeline.scoring.deep import BATCH, DeepMeta, DeepScorer
from pipeline.scoring.onnx_export import QUANTIZATION, export_onnx, quantize_int8
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
    args = parser.parse_args()
    settings = get_settings()
    twcs = bench_texts(settings, args.twcs)
    prepared = Path("data/prepared/complaint_tweets.parquet")
    texts = twcs + (pd.read_parquet(prepared)["text"].tolist()[: args.tweets] if prepared.is_file() else [])
    model = load_trained(settings)
    reference, _ = predict(model, texts, batch_size=BATCH)
    results = {}
    with tempfile.TemporaryDirectory(prefix="earlywarn-quant-") as scratch:
        fp32 = export_onnx(model, Path(scratch) / "fp32.onnx")
        variants = {"all int8 (served)": []} | matmul_groups(fp32)
        for name, excluded in track(variants.items(), description="int8 variants"):
            graph = quantize_int8(fp32, Path(scratch) / "int8.onnx", QUANTIZATION, exclude=excluded)
            meta = DeepMeta(version=name, trained_at="", threshold=0.5, quantized=True)
            scorer = DeepScorer(DeepScorer.save(Path(scratch) / "artefact", graph, meta), meta)
            p, _ = scorer.predict_raw(texts)
            started = time.perf_counter()
            scorer.predict_raw(twcs)
            rate = len(twcs) / (time.perf_counter() - started)
            gap = np.abs(p - reference)
            results[name] = {"fp32_matmuls": len(excluded), "mean_abs_diff": round(float(gap.mean()), 5),
                             "p99_abs_diff": round(float(np.quantile(gap, 0.99)), 4),
                             "flips_at_0_5": int(((p >= 0.5) != (reference >= 0.5)).sum()),
                             "network_messages_per_s": round(rate, 1)}
    print(json.dumps({"texts": len(texts), "reference": "PyTorch fp32", "variants": results}, indent=2))


if __name__ == "__main__":
    main()
