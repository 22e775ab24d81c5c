"""Draw the rows of the vulnerability labels that a second annotator reads blind, reproducibly.

    python scripts/sample_second_reading.py --out /tmp/second_reading.jsonl

Forty labelled positives per driver (fewer where a driver has fewer), then labelled negatives up to
320 rows, shuffled: enough positives of each driver for a kappa that means something, and negatives
as the set mostly is. The output holds the texts (read from `EARLYWARN_DATA_DIR`, CFPB narratives cut
as annotated, by `attach_texts`) and no labels, so it is written outside the repository. The second annotator reads
docs/annotation/vulnerability-guide.md and these texts only (neither the first labels nor the
detector) and writes `data/annotations/vulnerability-second-reading.csv` in the labels file's
columns; `earlywarn evaluate --task vulnerability` then reports Cohen's kappa per driver. The draw
depends on the labels file: the committed second reading was drawn from it as it stood after
round 9 (2,511 rows).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from pipeline.config import get_settings
from pipeline.signals.vulnerability import Driver
from pipeline.training.vulnerability import Annotation, attach_texts, read_annotations

SEED = 2030
PER_DRIVER = 40
SIZE = 320


def second_reading_sample(rows: list[Annotation], seed: int = SEED, per_driver: int = PER_DRIVER,
                          size: int = SIZE) -> list[Annotation]:
    rng = random.Random(seed)
    chosen: dict[tuple[str, str], Annotation] = {}
    for driver in Driver:
        positives = [r for r in rows if driver in r.drivers]
        for row in rng.sample(positives, min(per_driver, len(positives))):
            chosen[(row.source, row.key)] = row
    negatives = [r for r in rows if not r.drivers and (r.source, r.key) not in chosen]
    for row in rng.sample(negatives, max(size - len(chosen), 0)):
        chosen[(row.source, row.key)] = row
    drawn = list(chosen.values())
    rng.shuffle(drawn)
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSONL to write (outside the repository)")
    args = parser.parse_args()
    rows = attach_texts(read_annotations(), get_settings().data_dir)
    with args.out.open("w", encoding="utf-8") as handle:
        for item, row in enumerate(second_reading_sample(rows)):
            handle.write(json.dumps({"item": item, "source": row.source, "key": row.key, "text": row.text}) + "\n")
    print(json.dumps({"out": str(args.out), "rows": item + 1}))


if __name__ == "__main__":
    main()
