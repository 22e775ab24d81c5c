"""Measure CueExtractor.extract + cue_features on real customer-support tweets.

    python -m pipeline.signals.throughput            # twcs_head5000.csv under the data dir
    python -m pipeline.signals.throughput --csv PATH --column text --repeat 3

Reports the best of `--repeat` runs, in messages per second, after one warm-up batch.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from pipeline.config import get_settings
from pipeline.errors import DataNotFoundError
from pipeline.signals.extractor import CueExtractor
from pipeline.signals.features import cue_features

DEFAULT_CSV = Path("twcs-head") / "twcs_head5000.csv"


def read_texts(path: Path, column: str) -> list[str]:
    if not path.is_file():
        raise DataNotFoundError(path, "Customer Support on Twitter (first 5,000 rows)")
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle) if row.get(column)]


def messages_per_second(extractor: CueExtractor, texts: list[str], batch_size: int = 512) -> float:
    started = time.perf_counter()
    analyses = extractor.extract_with_sentiment(texts, batch_size=batch_size)
    for text, analysis in zip(texts, analyses, strict=True):
        cue_features(analysis.cues, text, analysis.sentiment)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=None, help="CSV file (default: data dir / twcs-head)")
    parser.add_argument("--column", default="text")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args()

    texts = read_texts(args.csv or get_settings().data_dir / DEFAULT_CSV, args.column)
    extractor = CueExtractor()
    extractor.extract(texts[:256])  # warm-up: first calls fill spaCy's lexeme cache
    rates = [messages_per_second(extractor, texts, args.batch_size) for _ in range(args.repeat)]
    tokens = sum(len(doc) for doc in extractor.nlp.tokenizer.pipe(texts)) / len(texts)
    print(f"{len(texts)} messages, {tokens:.1f} tokens on average")
    print(f"extract + cue_features: best {max(rates):,.0f} msg/s, runs {', '.join(f'{r:,.0f}' for r in rates)}")


if __name__ == "__main__":
    main()
