"""Cue extraction throughput on real tweets, next to its two fixed costs (VADER alone and spaCy's
tokenizer alone), so that a busy machine can be told from a slow extractor; and the FG21/1
vulnerability detector, the stream's second pass over each customer message."""

from __future__ import annotations

from typing import Any

from pipeline.benchmarks.scoring import bench_texts
from pipeline.benchmarks.timing import best_rate
from pipeline.config import Settings
from pipeline.signals import CueExtractor
from pipeline.signals.sentiment import score_text
from pipeline.signals.vulnerability import VulnerabilityDetector

BATCH = 512


def bench_cues(settings: Settings, n: int = 5000, repeats: int = 3) -> dict[str, Any]:
    texts = bench_texts(settings, n)
    extractor = CueExtractor()
    extractor.featurize(texts[:256])  # warm-up: fills spaCy's lexeme cache
    vulnerability = VulnerabilityDetector()
    vulnerability.detect(texts[:256])
    tokens = sum(len(doc) for doc in extractor.nlp.tokenizer.pipe(texts)) / len(texts)
    return {
        "benchmark": "cues",
        "messages": len(texts),
        "mean_tokens": round(tokens, 1),
        "extract_and_features_messages_per_s": round(
            best_rate(lambda: extractor.featurize(texts, batch_size=BATCH), len(texts), repeats), 1
        ),
        "vader_alone_messages_per_s": round(best_rate(lambda: [score_text(t) for t in texts], len(texts), repeats), 1),
        "tokenizer_alone_messages_per_s": round(
            best_rate(lambda: list(extractor.nlp.tokenizer.pipe(texts)), len(texts), repeats), 1
        ),
        "vulnerability_detector_messages_per_s": round(
            best_rate(lambda: vulnerability.detect(texts, batch_size=BATCH), len(texts), repeats), 1
        ),
    }
