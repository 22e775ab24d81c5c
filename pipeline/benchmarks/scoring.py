"""Scoring throughput and peak memory on real tweets.

Each scorer runs in its own fresh process so that its peak resident memory is its own and not
the high-water mark of whatever ran before. Two figures per scorer: the model alone (features
already extracted, or the deep network alone: what a batch costs the classifier) and end to end
(cue extraction on, what the stream pays per message). The deep network is timed twice on the
same tweets at the same batch size, in PyTorch fp32 (`deep-pytorch-fp32`) and as served (int8
ONNX), so the quantisation speed-up is read off one run.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import traceback
from queue import Empty
from typing import Any

import numpy as np

from pipeline.benchmarks.timing import best_rate, cpu_model
from pipeline.config import Settings
from pipeline.datasets.twitter_threads import load_twcs_tweets
from pipeline.scoring import deep
from pipeline.scoring.registry import ScorerName, available_scorers, load_scorer
from pipeline.training.deep_runs import torch_dir

BATCH = 512
DEEP_BATCH = deep.BATCH  # the served network's batch, in PyTorch as in ONNX Runtime, so the two compare
DEEP_FP32 = "deep-pytorch-fp32"


def bench_texts(settings: Settings, n: int = 5000) -> list[str]:
    """The first n real customer-support tweets (Kaggle TWCS head), customers and agents alike."""
    return [tweet.text for tweet in load_twcs_tweets(settings.data_dir)][:n]


def _fast_only(scorer: Any, texts: list[str], repeats: int) -> dict[str, float]:
    from pipeline.scoring.fast_model import feature_frame

    cues = np.asarray(scorer.extractor.featurize(texts), dtype=float)
    frames = [feature_frame(texts[i : i + BATCH], cues[i : i + BATCH], scorer.meta.feature_names)
              for i in range(0, len(texts), BATCH)]
    return {
        "model_only_messages_per_s": round(
            best_rate(lambda: [scorer.model.predict_all(f) for f in frames], len(texts), repeats), 1),
        "cue_extraction_messages_per_s": round(
            best_rate(lambda: [scorer.extractor.featurize(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)],
                      len(texts), repeats), 1),
    }


def _pytorch_fp32(settings: Settings, texts: list[str], repeats: int) -> dict[str, Any]:
    """The fine-tuned network in PyTorch fp32, before export: the baseline int8 must beat 3×."""
    from pipeline.training.deep import predict
    from pipeline.training.deep_runs import load_trained

    model = load_trained(settings)
    predict(model, texts[:DEEP_BATCH], batch_size=DEEP_BATCH)
    rate = best_rate(lambda: predict(model, texts, batch_size=DEEP_BATCH), len(texts), repeats)
    return {"scorer": DEEP_FP32, "messages": len(texts), "batch": DEEP_BATCH, "network_messages_per_s": round(rate, 1)}


def _measure(name: str, settings: Settings, texts: list[str], repeats: int) -> dict[str, Any]:
    if name == DEEP_FP32:
        result = _pytorch_fp32(settings, texts, repeats)
        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return result
    scorer: Any = load_scorer(ScorerName(name), settings)
    ids = [str(i) for i in range(len(texts))]
    batches = [(ids[i : i + BATCH], texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
    scorer.score_texts(ids[:BATCH], texts[:BATCH])  # warm-up: lazy imports, first allocations
    result: dict[str, Any] = {"scorer": name, "model_version": scorer.version, "messages": len(texts), "batch": BATCH}
    if name == ScorerName.fast.value:
        result.update(_fast_only(scorer, texts, repeats))
    if name == ScorerName.deep.value:  # the int8 ONNX network alone, at the fp32 baseline's batch size
        result["network_batch"] = scorer.batch_size
        result["network_messages_per_s"] = round(best_rate(lambda: scorer.predict_raw(texts), len(texts), repeats), 1)
    if name == ScorerName.cascade.value:
        result["rescored_share"] = round(float(scorer.predict_texts(texts)[1].mean()), 4)
    result["end_to_end_messages_per_s"] = round(
        best_rate(lambda: [scorer.score_texts(i, t) for i, t in batches], len(texts), repeats), 1)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def _child(name: str, settings: Settings, texts: list[str], repeats: int, queue: Any) -> None:
    try:
        queue.put(_measure(name, settings, texts, repeats))
    except BaseException:
        queue.put({"scorer": name, "error": traceback.format_exc()})
        raise


def _measure_apart(context: Any, name: str, settings: Settings, texts: list[str], repeats: int) -> dict[str, Any]:
    """`_measure` in a fresh process; its failure is raised here, not waited on for ever."""
    queue = context.Queue()
    process = context.Process(target=_child, args=(name, settings, texts, repeats, queue))
    process.start()
    while True:
        try:
            result: dict[str, Any] = queue.get(timeout=1.0)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"the {name} benchmark process died (exit code {process.exitcode}) "
                                   "before reporting") from None
    process.join()
    if "error" in result:
        raise RuntimeError(f"the {name} benchmark failed:\n{result['error']}")
    return result


def bench_scoring(settings: Settings, n: int = 5000, repeats: int = 3) -> dict[str, Any]:
    texts = bench_texts(settings, n)
    context = mp.get_context("spawn")
    names = [n.value for n in available_scorers(settings)]
    if ScorerName.deep.value in names and (torch_dir(settings) / "model.pt").is_file():
        names.insert(names.index(ScorerName.deep.value), DEEP_FP32)
    results = [_measure_apart(context, name, settings, texts, repeats) for name in names]
    rates = {r["scorer"]: r.get("network_messages_per_s") for r in results}
    comparison = {}
    if rates.get(DEEP_FP32) and rates.get(ScorerName.deep.value):
        comparison["int8_network_speedup_vs_fp32"] = round(rates[ScorerName.deep.value] / rates[DEEP_FP32], 2)
    return {
        "benchmark": "scoring",
        "data": f"first {len(texts)} tweets of twcs-head (Customer Support on Twitter)",
        "cpu": cpu_model(),
        "cpu_count": mp.cpu_count(),
        "repeats": repeats,
        "scorers": results,
        **comparison,
        "missing": [n.value for n in ScorerName if n not in available_scorers(settings)],
    }
