"""BANKING77 (PolyAI): single-turn banking queries labelled with 77 intents, for queue routing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd

from pipeline.errors import DatasetFormatError

from ._io import require

SPLITS = ("train", "test")
_DATASET = "BANKING77"


def categories(data_dir: Path | None = None) -> list[str]:
    """The 77 intent names in the release's order (categories.json)."""
    path = require(data_dir, "banking77/categories.json", _DATASET)
    names = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DatasetFormatError(path, None, "expected a JSON list of category names")
    return names


def load_banking77(split: Literal["train", "test"] = "train", data_dir: Path | None = None) -> pd.DataFrame:
    """Columns text, category; every category is checked against categories.json."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    known = set(categories(data_dir))
    path = require(data_dir, f"banking77/{split}.csv", _DATASET)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if list(frame.columns) != ["text", "category"]:
        raise DatasetFormatError(path, 1, f"columns are {list(frame.columns)}, expected text, category")
    unknown = sorted(set(frame["category"]) - known)
    if unknown:
        raise DatasetFormatError(path, None, f"categories not in categories.json: {', '.join(unknown[:5])}")
    return frame
