"""Scoring throughput and peak memory on real tweets.

Each scorer runs in its own fresh process so that its peak resident memory is its own and not
the high-water mark of whatever ran before. Two figures per scorer: the model alone (features
already extracted: what a batch costs the classifier) and end to end (cue extraction on, what the
stream pays per message).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
from typing import Any

import numpy as np

from pipeline.benchmarks.timing import best_rate
from pipeline.config import Settings
from pipeline.datasets.twitter_threads import load_twcs_tweets
from pipeline.scoring.registry import ScorerName, available_scorers, load_scorer

BATCH = 512


def bench_texts(settings: Settings, n: int = 5000) -> list[str]:
    """The first n real customer-support tweets (Kaggle TWCS head), customers and agents alike."""
    return [tweet.text for tweet in load_twcs_tweets(settings.data_dir)][:n]


def _measure(name: str, settings: Settings, texts: list[str], repeats: int) -> dict[str, Any]:
    scorer: Any = load_scorer(ScorerName(name), settings)
    ids = [str(i) for i in range(len(texts))]
    batches = [(ids[i : i + BATCH], texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
    scorer.score_texts(ids[:BATCH], texts[:BATCH])  # warm-up: lazy imports, first allocations
    result: dict[str, Any] = {"scorer": name, "model_version": scorer.version, "messages": len(texts), "batch": BATCH}
    if name == ScorerName.fast.value:
        from pipeline.scoring.fast_model import feature_frame

        cues = np.asarray(scorer.extractor.featurize(texts), dtype=float)
        frames = [feature_frame(texts[i : i + BATCH], cues[i : i + BATCH], scorer.meta.feature_names)
                  for i in range(0, len(texts), BATCH)]
        result["model_only_messages_per_s"] = round(
            best_rate(lambda: [scorer.model.predict_all(f) for f in frames], len(texts), repeats), 1)
        result["cue_extraction_messages_per_s"] = round(
            best_rate(lambda: [scorer.extractor.featurize(t) for _, t in batches], len(texts), repeats), 1)
    result["end_to_end_messages_per_s"] = round(
        best_rate(lambda: [scorer.score_texts(i, t) for i, t in batches], len(texts), repeats), 1)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def _child(name: str, settings: Settings, texts: list[str], repeats: int, queue: Any) -> None:
    queue.put(_measure(name, settings, texts, repeats))


def bench_scoring(settings: Settings, n: int = 5000, repeats: int = 3) -> dict[str, Any]:
    texts = bench_texts(settings, n)
    context = mp.get_context("spawn")
    results = []
    for name in available_scorers(settings):
        queue = context.Queue()
        process = context.Process(target=_child, args=(name.value, settings, texts, repeats, queue))
        process.start()
        results.append(queue.get())
        process.join()
    return {
        "benchmark": "scoring",
        "data": f"first {len(texts)} tweets of twcs-head (Customer Support on Twitter)",
        "cpu_count": mp.cpu_count(),
        "repeats": repeats,
        "scorers": results,
        "missing": [n.value for n in ScorerName if n not in available_scorers(settings)],
    }
