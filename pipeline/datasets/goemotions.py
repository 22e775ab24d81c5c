"""GoEmotions (official Google split): Reddit comments with 28 emotion labels, an auxiliary signal.

The scorer only needs a coarse question — does the text show a dissatisfaction emotion? — so the
loader also derives that flag from four labels (anger, annoyance, disappointment, disapproval).
The ids are looked up by name in labels.txt rather than hard-coded, so a relabelled release
fails loudly instead of silently flagging the wrong emotions.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import pandas as pd

from pipeline.errors import DatasetFormatError

from ._io import require

SPLITS = ("train", "dev", "test")
DISSATISFACTION_LABELS = ("anger", "annoyance", "disappointment", "disapproval")
_DATASET = "GoEmotions"


def goemotions_labels(data_dir: Path | None = None) -> list[str]:
    """The 28 label names; a label id is its index in this list."""
    path = require(data_dir, "goemotions/labels.txt", _DATASET)
    labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    missing = [name for name in (*DISSATISFACTION_LABELS, "neutral") if name not in labels]
    if missing:
        raise DatasetFormatError(path, None, f"labels {', '.join(missing)} are missing")
    return labels


def dissatisfaction_ids(labels: list[str]) -> frozenset[int]:
    """Ids of the dissatisfaction emotions under this labelling (2, 3, 9, 10 in the release)."""
    return frozenset(labels.index(name) for name in DISSATISFACTION_LABELS)


def is_dissatisfaction(label_ids: Iterable[int], ids: frozenset[int] = frozenset({2, 3, 9, 10})) -> bool:
    """True when any of the comment's labels is a dissatisfaction emotion."""
    return any(i in ids for i in label_ids)


def load_goemotions(
    split: Literal["train", "dev", "test"] = "train", data_dir: Path | None = None
) -> pd.DataFrame:
    """One row per comment: text, label_ids (list[int]), labels (list[str]), comment_id, dissatisfaction.

    The TSV is read with quoting off: comments contain bare quote characters that a CSV reader
    would treat as field quotes and merge lines.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    labels = goemotions_labels(data_dir)
    path = require(data_dir, f"goemotions/{split}.tsv", _DATASET)
    frame = pd.read_csv(
        path, sep="\t", header=None, names=["text", "label_ids", "comment_id"],
        quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False, encoding="utf-8",
    )  # fmt: skip
    try:
        ids = [[int(x) for x in value.split(",")] for value in frame["label_ids"]]
    except ValueError as exc:
        raise DatasetFormatError(path, None, f"a label id is not an integer ({exc})") from exc
    if any(i < 0 or i >= len(labels) for row in ids for i in row):
        raise DatasetFormatError(path, None, f"a label id is outside 0..{len(labels) - 1}")
    flag_ids = dissatisfaction_ids(labels)
    frame["label_ids"] = ids
    frame["labels"] = [[labels[i] for i in row] for row in ids]
    frame["dissatisfaction"] = [is_dissatisfaction(row, flag_ids) for row in ids]
    return frame[["text", "label_ids", "labels", "comment_id", "dissatisfaction"]]
