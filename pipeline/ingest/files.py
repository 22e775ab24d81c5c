"""Records from JSONL or CSV files (or stdin), each with the line it came from.

A record that cannot become a `Message` is yielded as a `RecordError` in its place, so callers
keep input order, report every bad line and still process the rest.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from pipeline.errors import InputFormatError, RecordError
from pipeline.schema import Message

Format = Literal["jsonl", "csv"]
_FORMATS: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


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


def _jsonl_rows(stream: io.TextIOBase) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_number, RecordError(line_number, "<record>", f"not valid JSON ({exc.msg}): send one JSON object per line")
            continue
        if not isinstance(row, dict):
            yield line_number, RecordError(line_number, "<record>", f"a JSON {type(row).__name__}, not an object: send one object per line")
            continue
        yield line_number, row


def _csv_rows(stream: io.TextIOBase) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    reader = csv.DictReader(stream)
    for row in reader:
        # line_num is the reader's physical line at the end of the row (quoted newlines span lines)
        yield reader.line_num, {k: v for k, v in row.items() if k is not None}


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
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<record>"
        return RecordError(line, field, first["msg"])


def read_messages(
    path: Path | str, fields: FieldMap = FieldMap(), fmt: Format | None = None
) -> Iterator[tuple[int, Message | RecordError]]:
    """Yield (line, Message or RecordError) in input order; `-` reads stdin."""
    if str(path) == "-":
        stream: io.TextIOBase = sys.stdin  # type: ignore[assignment]
        fmt = fmt or "jsonl"
    else:
        path = Path(path)
        fmt = fmt or detect_format(path)
        stream = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    try:
        rows = _jsonl_rows(stream) if fmt == "jsonl" else _csv_rows(stream)
        for line, row in rows:
            yield line, row if isinstance(row, RecordError) else to_message(line, row, fields)
    finally:
        if stream is not sys.stdin:
            stream.close()
