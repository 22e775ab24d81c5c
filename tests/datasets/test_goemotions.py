from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.datasets.goemotions import (
    DISSATISFACTION_LABELS,
    dissatisfaction_ids,
    goemotions_labels,
    is_dissatisfaction,
    load_goemotions,
)
from pipeline.errors import DataNotFoundError


@pytest.mark.parametrize(("split", "rows"), [("train", 43_410), ("dev", 5_426), ("test", 5_427)])
def test_split_sizes_match_the_release(data_dir: Path, split: str, rows: int) -> None:
    frame = load_goemotions(split, data_dir)
    assert len(frame) == rows
    assert list(frame.columns) == ["text", "label_ids", "labels", "comment_id", "dissatisfaction"]
    assert frame["comment_id"].is_unique


def test_labels_and_dissatisfaction_ids(data_dir: Path) -> None:
    labels = goemotions_labels(data_dir)
    assert len(labels) == 28 and labels[27] == "neutral"
    assert dissatisfaction_ids(labels) == {2, 3, 9, 10}
    assert [labels[i] for i in sorted(dissatisfaction_ids(labels))] == list(DISSATISFACTION_LABELS)


def test_field_types_and_flag(data_dir: Path) -> None:
    frame = load_goemotions("dev", data_dir)
    row = frame.iloc[0]
    assert isinstance(row["text"], str) and row["text"]
    assert all(isinstance(i, int) for ids in frame["label_ids"] for i in ids)
    assert all(len(ids) == len(names) >= 1 for ids, names in zip(frame["label_ids"], frame["labels"]))
    expected = frame["label_ids"].map(lambda ids: bool({2, 3, 9, 10} & set(ids)))
    assert (frame["dissatisfaction"] == expected).all()
    assert 0.1 < frame["dissatisfaction"].mean() < 0.25  # ~16% of comments


def test_is_dissatisfaction() -> None:
    assert is_dissatisfaction([27, 9])
    assert not is_dissatisfaction([27])
    assert not is_dissatisfaction([])


def test_unknown_split_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        load_goemotions("validation", data_dir)  # type: ignore[arg-type]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "goemotions" / "labels.txt")):
        load_goemotions("train", tmp_path)
