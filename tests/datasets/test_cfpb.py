from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.datasets.cfpb import CFPB_FILE, COLUMNS, load_cfpb_sample
from pipeline.errors import DataNotFoundError


def test_parseable_rows_and_narratives(data_dir: Path) -> None:
    frame = load_cfpb_sample(data_dir)
    assert len(frame) == 2_067  # the truncated last record is dropped
    assert int(frame["has_narrative"].sum()) == 389
    assert list(frame.columns) == [*COLUMNS.values(), "has_narrative"]
    assert frame["complaint_id"].is_unique
    assert pd.api.types.is_datetime64_any_dtype(frame["date_received"])
    assert set(frame["timely_response"]) <= {True, False}
    assert set(frame["consumer_disputed"]) <= {True, False, None}
    narratives = frame.loc[frame["has_narrative"], "narrative"]
    assert (narratives.str.len() > 0).all()


def test_truncation_mid_character_is_dropped_cleanly(data_dir: Path, tmp_path: Path) -> None:
    source = (data_dir / CFPB_FILE).read_bytes()
    lines = source.split(b"\n")
    head = b"\n".join([lines[0], lines[1], lines[2]]) + b"\n"
    cut = head + lines[3][:40] + "é".encode()[:1]  # half a UTF-8 character at the very end
    (tmp_path / CFPB_FILE).parent.mkdir(parents=True)
    (tmp_path / CFPB_FILE).write_bytes(cut)
    frame = load_cfpb_sample(tmp_path)
    assert len(frame) == 2


def test_complete_last_line_is_kept(data_dir: Path, tmp_path: Path) -> None:
    lines = (data_dir / CFPB_FILE).read_bytes().split(b"\n")
    (tmp_path / CFPB_FILE).parent.mkdir(parents=True)
    (tmp_path / CFPB_FILE).write_bytes(b"\n".join(lines[:4]) + b"\n")
    assert len(load_cfpb_sample(tmp_path)) == 3


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="complaints_head1MB.csv"):
        load_cfpb_sample(tmp_path)
