from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.datasets.banking77 import categories, load_banking77
from pipeline.errors import DataNotFoundError


@pytest.mark.parametrize(("split", "rows"), [("train", 10_003), ("test", 3_080)])
def test_split_sizes_match_the_release(data_dir: Path, split: str, rows: int) -> None:
    frame = load_banking77(split, data_dir)
    assert len(frame) == rows
    assert list(frame.columns) == ["text", "category"]
    assert frame["text"].map(lambda t: isinstance(t, str) and bool(t.strip())).all()
    assert set(frame["category"]) == set(categories(data_dir))


def test_77_categories(data_dir: Path) -> None:
    names = categories(data_dir)
    assert len(names) == len(set(names)) == 77
    assert "card_arrival" in names


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="categories.json"):
        load_banking77("train", tmp_path)
