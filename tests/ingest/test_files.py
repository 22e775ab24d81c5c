import json

import pytest

from pipeline.errors import InputFormatError, RecordError
from pipeline.ingest.files import FieldMap, read_messages
from pipeline.schema import Message


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_records_become_messages_and_keep_unknown_fields(tmp_path):
    path = _write(tmp_path / "in.jsonl", [json.dumps({"id": "a1", "text": "my parcel is late", "reach": 120})])
    [(line, message)] = list(read_messages(path))
    assert line == 1 and isinstance(message, Message)
    assert message.id == "a1" and message.metadata == {"reach": 120}


def test_every_bad_record_is_reported_with_its_line_and_field_and_the_rest_still_flow(tmp_path):
    path = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "text": "fine"}),
            "{not json",
            json.dumps({"id": 3}),
            json.dumps({"id": 4, "text": 42}),
            json.dumps({"id": 5, "text": "   "}),
            json.dumps(["a", "list"]),
            json.dumps({"id": {"nested": 1}, "text": "x"}),
            json.dumps({"id": 8, "text": "ok", "timestamp": "2026-01-01T10:00:00"}),
            json.dumps({"id": 9, "text": "also fine"}),
        ],
    )
    results = dict(read_messages(path))
    good = {line for line, item in results.items() if isinstance(item, Message)}
    bad = {line: item for line, item in results.items() if isinstance(item, RecordError)}
    assert good == {1, 9}
    assert {line: e.field for line, e in bad.items()} == {
        2: "<record>", 3: "text", 4: "text", 5: "text", 6: "<record>", 7: "id", 8: "timestamp",
    }
    assert "timezone" in bad[8].reason


def test_csv_with_custom_fields_and_embedded_newlines(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('tweet_id,body\n10,"first line\nsecond line"\n11,short\n', encoding="utf-8")
    results = list(read_messages(path, FieldMap(text="body", id="tweet_id")))
    assert [m.id for _, m in results] == ["10", "11"]
    assert results[0][1].text == "first line\nsecond line"


def test_missing_id_falls_back_to_the_line_number(tmp_path):
    path = _write(tmp_path / "in.jsonl", [json.dumps({"text": "hello"})])
    [(_, message)] = list(read_messages(path))
    assert message.id == "line-1"


def test_unknown_extension_names_the_fix(tmp_path):
    with pytest.raises(InputFormatError, match=".jsonl or .csv"):
        list(read_messages(tmp_path / "input.txt"))
