"""Records from JSONL or CSV files (or stdin), each with the line it came from.

A record that cannot become a `Message` is yielded as a `RecordError` in its place, so callers
keep input order, report every bad line and still process the rest. Files are read the way
`FileSource` reads them: a byte-order mark (Excel's CSV) is dropped, and a line that is not UTF-8
spoils that record only, not the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import ValidationError

from pipeline.errors import InputFormatError, RecordError
from pipeline.schema import Message

Format = Literal["jsonl", "csv"]
_FORMATS: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
_UNDECODED = re.compile(r"[\udc80-\udcff]")  # a byte that was not UTF-8, kept by surrogateescape
_SAVE_AS_UTF8 = "save the file as UTF-8 (in Excel: Save As, CSV UTF-8)"


@dataclass(frozen=True)
class FieldMap:
    """Which input fields hold the message text and id (sources name them differently)."""

    text: str = "text"
    id: str = "id"


def detect_format(path: Path) -> Format:
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputFormatError(path) from None


def _jsonl_rows(lines: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    for line_number, raw in enumerate(lines, start=1):
        if line_number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"byte {exc.start + 1} of the line is {raw[exc.start]:#04x}"
            yield line_number, RecordError(line_number, "<record>", f"not valid UTF-8 ({where}): {_SAVE_AS_UTF8}")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_number, RecordError(line_number, "<record>", f"not valid JSON ({exc.msg}): send one JSON object per line")
            continue
        except RecursionError:
            yield line_number, RecordError(line_number, "<record>", "JSON nested too deeply to read: "
                                                                    "send a flat object of message fields")
            continue
        except ValueError as exc:  # an integer too long to convert
            what = "a number too long to read" if "digits" in str(exc) else str(exc)
            yield line_number, RecordError(line_number, "<record>", f"not valid JSON ({what}): "
                                                                    f"send plain JSON numbers and strings")
            continue
        if not isinstance(row, dict):
            yield line_number, RecordError(line_number, "<record>", f"a JSON {type(row).__name__}, not an object: send one object per line")
            continue
        yield line_number, row


def _csv_rows(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        yield 1, RecordError(1, "<header>", f"not readable as CSV ({exc}): make the first line name the columns")
        return
    if header:  # stdin is not opened as utf-8-sig: its byte-order mark goes here
        reader.fieldnames = [header[0].removeprefix("\ufeff"), *header[1:]]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, RecordError(reader.line_num, "<record>", f"not readable as CSV ({exc}): "
                                                                            f"check the quoting of this row")
            continue
        # line_num is the reader's physical line at the end of the row (quoted newlines span lines)
        record = {k: v for k, v in row.items() if k is not None}
        undecoded = next((k for k, v in record.items() if _UNDECODED.search(f"{k}{v or ''}")), None)
        if undecoded is not None:
            field = undecoded.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            yield reader.line_num, RecordError(reader.line_num, field, f"has bytes that are not UTF-8: {_SAVE_AS_UTF8}")
            continue
        yield reader.line_num, record


def to_message(line: int, row: dict[str, Any], fields: FieldMap) -> Message | RecordError:
    """Map one raw record onto the Message contract, naming the field at fault if it cannot be."""
    text = row.get(fields.text)
    if text is None:
        return RecordError(line, fields.text, f"missing: every record needs its message text in '{fields.text}' (or pass --text-field)")
    if not isinstance(text, str):
        return RecordError(line, fields.text, f"is a {type(text).__name__}, expected a string of message text")
    if not text.strip():
        return RecordError(line, fields.text, "is empty: there is nothing to score")
    raw_id = row.get(fields.id, f"line-{line}")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        return RecordError(line, fields.id, f"is a {type(raw_id).__name__}, expected a string or integer id")
    record = {k: v for k, v in row.items() if k not in (fields.text, fields.id)}
    try:
        return Message.from_record({**record, "id": str(raw_id), "text": text})
    except ValidationError as exc:
        from pipeline.ingest.validate import field_and_fix  # validate imports FieldMap from here

        return RecordError(line, *field_and_fix(exc))


def read_messages(
    path: Path | str, fields: FieldMap = FieldMap(), fmt: Format | None = None
) -> Iterator[tuple[int, Message | RecordError]]:
    """Yield (line, Message or RecordError) in input order; `-` reads stdin."""
    stdin = str(path) == "-"
    fmt = fmt or ("jsonl" if stdin else detect_format(Path(path)))
    stream: IO[Any]
    if fmt == "jsonl":  # bytes, so that each line is decoded on its own
        stream = _stdin_bytes() if stdin else open(path, "rb")  # noqa: SIM115 - closed below
        rows = _jsonl_rows(stream)
    else:
        # as FileSource reads CSV: a byte-order mark dropped, bytes that are not UTF-8 kept to be reported
        stream = sys.stdin if stdin else open(path, encoding="utf-8-sig",  # noqa: SIM115 - closed below
                                              errors="surrogateescape", newline="")
        rows = _csv_rows(stream)
    try:
        for line, row in rows:
            yield line, row if isinstance(row, RecordError) else to_message(line, row, fields)
    finally:
        if not stdin:
            stream.close()


def _stdin_bytes() -> IO[bytes]:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return buffer
    # a text-only stdin (a test's StringIO): its lines as the bytes they came from
    return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))
