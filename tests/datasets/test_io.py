from __future__ import annotations

from pipeline.datasets._io import csv_records


def test_quoted_newlines_stay_in_one_record() -> None:
    text = 'a,b\n1,"x\ny"\n2,z\n'
    records = list(csv_records(text, width=2))
    assert [r.fields for r in records] == [("a", "b"), ("1", "x\ny"), ("2", "z")]
    assert "".join(r.raw for r in records) == text
    assert [r.line for r in records] == [1, 2, 4]


def test_unquoted_newlines_are_rejoined_and_raw_text_kept() -> None:
    text = "a,b,c\n1,x\n\ny,2\n3,z,4\n"
    records = list(csv_records(text, width=3))
    assert records[1].fields == ("1", "x\n\ny", "2") and records[1].repaired
    assert "".join(r.raw for r in records) == text


def test_truncated_last_record_is_marked_incomplete() -> None:
    records = list(csv_records('a,b\n1,2\n3,"unfinis', width=2))
    assert [r.complete for r in records] == [True, True, False]


def test_crlf_records() -> None:
    records = list(csv_records("a,b\r\n1,2\r\n", width=2))
    assert [r.fields for r in records] == [("a", "b"), ("1", "2")]


def test_bare_carriage_returns_in_an_unquoted_field_are_text() -> None:
    text = "a,b,c\n1,x\r\ry,2\n3,z,4\n"
    records = list(csv_records(text, width=3))
    assert records[1].fields == ("1", "x\r\ry", "2") and records[1].repaired
    assert [r.line for r in records] == [1, 2, 3]
    assert "".join(r.raw for r in records) == text


def test_file_handle_split_on_bare_cr_is_glued_back(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b,c\n1,x\r\ry,2\n3,z,4\n")
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv_records(handle, width=3))
    assert [r.fields for r in records][1:] == [("1", "x\r\ry", "2"), ("3", "z", "4")]
