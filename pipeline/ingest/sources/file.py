"""JSONL or CSV files, or stdin, as envelopes: one per record, with its line number to report.

JSONL lines are read as bytes and passed on untouched, so a line that is not UTF-8 or not JSON
reaches the validator and becomes a rejection like any other bad record. CSV has to be parsed
here; a row the CSV reader cannot make sense of (stray quotes, the wrong number of cells) is handed
on as `Unreadable` with the text it spanned. Empty CSV cells count as absent fields.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pipeline.ingest.files import Format, detect_format
from pipeline.ingest.sources.base import Envelope
from pipeline.ingest.validate import Unreadable


class FileSource:
    """Records of one file (`-` for stdin, read as JSONL unless `fmt` says otherwise)."""

    def __init__(self, path: Path | str, *, fmt: Format | None = None) -> None:
        self.stdin = str(path) == "-"
        self.path = Path(path)
        if not self.stdin and not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such file. "
                                    f"Give the path of a .jsonl or .csv file, or - for stdin")
        self.fmt: Format = fmt or ("jsonl" if self.stdin else detect_format(self.path))
        self.label = "stdin" if self.stdin else self.path.name
        self.name = "stdin" if self.stdin else f"file:{self.path}"
        self._stopped = False

    def backlogged(self) -> bool:
        """A file on disk never makes the reader wait; stdin may."""
        return not self.stdin

    def batches(self, max_batch: int = 256) -> Iterator[list[Envelope]]:
        batch: list[Envelope] = []
        for line, payload in self._records():
            if self._stopped:
                break
            batch.append(Envelope(payload, str(line), self.name, f"{self.label}:{line}"))
            if len(batch) >= max_batch:
                yield batch
                batch = []
        if batch:
            yield batch

    def ack(self, delivery_ids: Sequence[str]) -> None:
        """Nothing to do: a file is read again from the start, not redelivered."""

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._stopped = True

    def _records(self) -> Iterator[tuple[int, Any]]:
        if self.fmt == "jsonl":
            stream: IO[bytes] = sys.stdin.buffer if self.stdin else open(self.path, "rb")  # noqa: SIM115
            try:
                yield from _jsonl(stream)
            finally:
                if not self.stdin:
                    stream.close()
            return
        text: IO[str] = (sys.stdin if self.stdin
                         else open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline=""))  # noqa: SIM115
        try:
            yield from _csv(text)
        finally:
            if not self.stdin:
                text.close()


def _jsonl(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line.rstrip(b"\r\n")


class _Tap:
    """Feeds lines to the CSV reader and remembers them, so each row keeps the text it came from."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.taken: list[str] = []
        self.count = 0

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        self.count += 1
        return line

    def take(self) -> str:
        raw = "".join(self.taken)
        self.taken.clear()
        return raw


def _csv(stream: IO[str]) -> Iterator[tuple[int, dict[str, str] | Unreadable]]:
    tap = _Tap(iter(stream))
    reader = csv.reader(tap)
    header: list[str] | None = None
    while True:
        start = tap.count + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, Unreadable(f"line {start}: not readable as CSV ({exc}): check the quoting of this row",
                                    tap.take())
            continue
        raw = tap.take()
        if header is None:
            header = row
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield start, Unreadable(f"line {start}: {len(row)} cells where the header has {len(header)}: "
                                    f"quote cells that hold commas or line breaks", raw)
            continue
        yield start, {key: cell for key, cell in zip(header, row, strict=True) if cell != ""}
