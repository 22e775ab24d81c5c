"""Helpers every loader shares: find a release file, and read CSV records without losing any.

The shared copies have two CSV quirks a plain reader mishandles: a twcs row whose text holds raw
newlines without quotes, and a CFPB file cut at 1 MiB in the middle of a record. `csv_records`
splits the text into records itself (quote-aware), so a loader can repair the first and drop the
second while keeping every record's original text (the fetch script re-emits it byte for byte).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import get_settings
from pipeline.errors import DataNotFoundError

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def data_root(data_dir: Path | None) -> Path:
    """The folder holding the releases: the argument, else `EARLYWARN_DATA_DIR` / the default."""
    return Path(data_dir) if data_dir is not None else get_settings().data_dir


def require(data_dir: Path | None, relative: str, dataset: str) -> Path:
    """The path of one release file, or DataNotFoundError naming where it was looked for."""
    path = data_root(data_dir) / relative
    if not path.is_file():
        raise DataNotFoundError(path, dataset)
    return path


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One logical CSV record: its fields, its exact source text and where it starts."""

    fields: tuple[str, ...]
    raw: str
    line: int  # 1-based physical line the record starts on
    complete: bool  # False when the text ended before the record did (truncated file)
    repaired: bool = False  # True when unquoted newlines had split it and it was joined again


def _lines(source: str | Iterable[str]) -> Iterator[str]:
    """Lines ending in "\n" only (str.splitlines would also split on \x0b, \u2028 and friends)."""
    if isinstance(source, str):
        return (m.group(0) for m in _LINE.finditer(source))
    return iter(source)


def _physical_records(source: str | Iterable[str]) -> Iterator[tuple[str, int, bool]]:
    """Split on newlines outside quotes; yields (raw text, first line, ended properly).

    Only "\n" ends a line (and counts for line numbers): a file opened with newline="" also
    splits on a bare "\r", and those pieces are simply glued back together here.
    """
    buf: list[str] = []
    start = 1
    newlines = 0
    in_quotes = False
    for line in _lines(source):
        if not buf:
            start = newlines + 1
        buf.append(line)
        if line.count('"') % 2:
            in_quotes = not in_quotes
        if line.endswith("\n"):
            newlines += 1
            if not in_quotes:
                yield "".join(buf), start, True
                buf = []
    if buf:
        yield "".join(buf), start, False


_CR = "\uf8ff"  # a private-use character stands in for a bare carriage return while parsing


def _parse_one(raw: str) -> tuple[list[str], bool]:
    """The fields of one record, and whether bare carriage returns had to be kept as text.

    Python's csv module ends a record at a bare "\r" even mid-field; the twcs head has one row
    whose unquoted text holds "\r\r", so those are protected and restored as data.
    """
    body = raw[:-2] if raw.endswith("\r\n") else raw[:-1] if raw.endswith("\n") else raw
    try:
        rows = list(csv.reader([body]))
        return (rows[0] if rows else []), False
    except csv.Error:
        if "\r" not in body or _CR in body:
            raise
    rows = list(csv.reader([body.replace("\r", _CR)]))
    return [f.replace(_CR, "\r") for f in rows[0]], True


def csv_records(source: str | Iterable[str], width: int | None = None) -> Iterator[CsvRecord]:
    """Every record in `source` (the whole text, or a file opened with newline=""), header first.

    With `width` (the header's field count), a record with too few fields is joined with the
    records after it, as an unquoted newline inside its last field would have split it; the
    joined record is marked `repaired`. Records that still do not fit are yielded as they are,
    so the caller decides whether to report or skip them.
    """
    pending: tuple[list[str], list[str], int] | None = None  # fields, raw parts, start line
    for raw, line, complete in _physical_records(source):
        try:
            fields, bare_cr = _parse_one(raw)
        except csv.Error:
            fields, bare_cr = None, False
        if pending is not None and fields is not None:
            p_fields, p_raw, p_line = pending
            newline = p_raw[-1][len(p_raw[-1].rstrip("\r\n")) :]
            p_fields[-1] += newline + (fields[0] if fields else "")
            p_fields.extend(fields[1:])
            p_raw.append(raw)
            if len(p_fields) >= width or not complete:  # type: ignore[operator]
                yield CsvRecord(tuple(p_fields), "".join(p_raw), p_line, complete, True)
                pending = None
            continue
        if pending is not None:  # the next record is unreadable: give up joining
            p_fields, p_raw, p_line = pending
            yield CsvRecord(tuple(p_fields), "".join(p_raw), p_line, True, False)
            pending = None
        if fields is None:
            yield CsvRecord((), raw, line, complete)
        elif width is not None and complete and 0 < len(fields) < width and line > 1:
            pending = (fields, [raw], line)
        else:
            yield CsvRecord(tuple(fields), raw, line, complete, bare_cr)
    if pending is not None:
        p_fields, p_raw, p_line = pending
        yield CsvRecord(tuple(p_fields), "".join(p_raw), p_line, True, len(p_raw) > 1)
