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


def test_a_line_that_is_not_utf8_spoils_only_its_own_record(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": "1", "text": "fine"}\n{"id": "2", "text": "caf\xe9"}\n{"id": "3", "text": "ok"}\n')
    results = dict(read_messages(path))
    assert [results[1].id, results[3].id] == ["1", "3"]
    bad = results[2]
    assert isinstance(bad, RecordError) and bad.field == "<record>"
    assert "not valid UTF-8" in bad.reason and "0xe9" in bad.reason and "save the file as UTF-8" in bad.reason


def test_a_byte_order_mark_is_dropped_from_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "excel.csv"
    csv_path.write_bytes("text,id\nmy parcel is late,7\n".encode("utf-8-sig"))
    jsonl_path = tmp_path / "bom.jsonl"
    jsonl_path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "j1", "text": "hello"}).encode() + b"\n")
    [(_, from_csv)] = list(read_messages(csv_path))
    [(_, from_jsonl)] = list(read_messages(jsonl_path))
    assert isinstance(from_csv, Message)
    assert (from_csv.id, from_csv.text, from_csv.metadata) == ("7", "my parcel is late", {})
    assert isinstance(from_jsonl, Message) and from_jsonl.id == "j1"


def test_a_csv_cell_that_is_not_utf8_is_reported_and_the_rest_flow(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,text\n1,caf\xe9 was cold\n2,fine\n")
    results = dict(read_messages(path))
    assert isinstance(results[2], RecordError) and results[2].field == "text"
    assert "not UTF-8" in results[2].reason
    assert isinstance(results[3], Message) and results[3].id == "2"


def test_json_that_cannot_be_read_is_a_record_error_not_a_crash(tmp_path):
    path = _write(tmp_path / "in.jsonl", [
        '{"id": "1", "n": ' + "9" * 5000 + ', "text": "huge number"}',
        "[" * 100_000,
        json.dumps({"id": "3", "text": "still read"}),
    ])
    results = dict(read_messages(path))
    assert "number too long" in results[1].reason and "plain JSON numbers" in results[1].reason
    assert "nested too deeply" in results[2].reason
    assert isinstance(results[3], Message)


def test_schema_errors_name_the_field_and_the_fix(tmp_path):
    path = _write(tmp_path / "in.jsonl", [json.dumps({"id": "1", "text": "hi", "channel": "fax"}),
                                          json.dumps({"id": "2", "text": "hi", "timestamp": "last tuesday"})])
    channel, timestamp = (error for _, error in read_messages(path))
    assert channel.field == "channel" and "send one of: query, chat, social, email" in channel.reason
    assert timestamp.field == "timestamp" and "ISO 8601 with an offset" in timestamp.reason


def test_stdin_is_read_line_by_line_as_bytes_too(monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"id": "a", "text": "ok"}\n\xff\n')))
    good, bad = (item for _, item in read_messages("-"))
    assert isinstance(good, Message) and isinstance(bad, RecordError) and "0xff" in bad.reason
