"""Customer-to-airline Twitter threads from ASAPP's dialog-intent-induction release (twcs-derived).

Each row is one thread: `first_utterance` holds the opening customer turn and `context` the rest,
every turn wrapped as `<cust__ … __cust>` or `<rep__ … __rep>`. Handles are already anonymised to
placeholders (`__company__`, `__cust__`; the labelled file also `__num__`, `__initials__`,
`__money__`, and is lower-cased and tokenised). The raw file repeats some threads (same first
tweet id, same turns, sometimes one copy tagged and one `UNK`); by default those are merged so
thread and message ids stay unique for replay.
"""

from __future__ import annotations

import bz2
import csv
import logging
import re
from pathlib import Path
from typing import Literal

from pipeline.schema import Author

from pipeline.errors import DatasetFormatError

from ._io import require
from .threads import Thread, ThreadMessage

log = logging.getLogger(__name__)

AIRLINE_FILES = {
    "raw": "twcs-airlines/airlines_raw.csv.bz2",
    "labelled": "twcs-airlines/airlines_500onlyb.csv.bz2",
}
PLACEHOLDERS = ("__company__", "__cust__", "__email__", "__num__", "__initials__", "__money__")
UNLABELLED_TAG = "UNK"
_REQUIRED = ("first_tweet_id", "tag", "first_utterance", "context")
_TURN = re.compile(r"<(cust|rep)__(.*?)__\1>", re.S)
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))
_AUTHOR = {"cust": Author.customer, "rep": Author.agent}


def clean_turn(text: str, keep_placeholders: bool = True) -> str:
    """Collapse the release's padding whitespace; optionally drop the anonymisation placeholders."""
    if not keep_placeholders:
        text = _PLACEHOLDER.sub(" ", text)
    return " ".join(text.split())


def parse_turns(marked: str) -> list[tuple[Author, str]]:
    """The `<cust__ … __cust>` / `<rep__ … __rep>` turns of a field, in order, text uncleaned."""
    return [(_AUTHOR[role], body) for role, body in _TURN.findall(marked)]


def _thread(row: dict[str, str], keep_placeholders: bool) -> Thread | None:
    thread_id = row["first_tweet_id"].strip()
    turns = parse_turns(row["first_utterance"]) + parse_turns(row["context"])
    if not thread_id or not turns:
        return None
    messages = tuple(
        ThreadMessage(f"{thread_id}-{i}", thread_id, author, clean_turn(body, keep_placeholders))
        for i, (author, body) in enumerate(turns)
    )
    tag = row["tag"].strip()
    meta = {"source": row["source"]} if row.get("source") else {}
    return Thread(thread_id, "airlines", messages, None if tag in ("", UNLABELLED_TAG) else tag, meta)


def _merge(kept: Thread, dup: Thread) -> Thread | None:
    """One thread from two rows with the same id, or None when their turns differ."""
    if kept.turns != dup.turns:
        return None
    return Thread(kept.thread_id, kept.source, kept.turns, kept.tag or dup.tag, kept.metadata or dup.metadata)


def load_airline_threads(
    which: Literal["raw", "labelled"] = "raw",
    data_dir: Path | None = None,
    *,
    dedupe: bool = True,
    keep_placeholders: bool = True,
) -> list[Thread]:
    """Airline threads in file order: `raw` (all, tag None when `UNK`) or `labelled` (14 intents).

    With `dedupe`, rows repeating a thread id with the same turns become one thread (keeping a
    real tag over `UNK`); a repeated id with different turns gets a `#2`, `#3` suffix. Rows with
    no id or no marked turns (the raw file ends with an empty row) are skipped and logged.
    """
    if which not in AIRLINE_FILES:
        raise ValueError(f"which must be one of {', '.join(AIRLINE_FILES)}, not {which!r}")
    path = require(data_dir, AIRLINE_FILES[which], f"airline Twitter threads ({which})")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise DatasetFormatError(path, 1, f"missing columns {', '.join(missing)}")
        threads: list[Thread] = []
        index: dict[str, int] = {}
        skipped = 0
        for row in reader:
            thread = _thread(row, keep_placeholders)
            if thread is None:
                skipped += 1
                log.warning("%s:%d skipped: no thread id or no marked turns", path, reader.line_num)
                continue
            if dedupe and thread.thread_id in index:
                pos = index[thread.thread_id]
                merged = _merge(threads[pos], thread)
                if merged is not None:
                    threads[pos] = merged
                    continue
                n = 2
                while f"{thread.thread_id}#{n}" in index:
                    n += 1
                new_id = f"{thread.thread_id}#{n}"
                turns = tuple(
                    ThreadMessage(f"{new_id}-{i}", new_id, t.author, t.text) for i, t in enumerate(thread.turns)
                )
                thread = Thread(new_id, thread.source, turns, thread.tag, thread.metadata)
            index[thread.thread_id] = len(threads)
            threads.append(thread)
    return threads
