"""User Satisfaction Simulation (Sun et al., SIGIR 2021): dialogues with per-turn user satisfaction.

This is what conversation-level early warning trains and evaluates on: each user turn carries
several annotators' 1-5 ratings of how satisfied the user is at that point, and each dialogue ends
in a `USER OVERALL` line with the dialogue-level ratings.

Format, as it really is (the documented "a,b,c" is not the whole story): tab-separated
`role, text, action, sat`; blank line between dialogues; `sat` is empty on SYSTEM lines and holds
3 to 7 comma-separated ratings on USER lines (the count varies within a file, so the ratings are
kept as a tuple and a turn's satisfaction is their mean); `action` is often empty; a few ReDial
user turns have empty text but are rated, so they are kept. `ReDial-action.txt` in the same
folder is a different, unrated annotation (ReDial with dialogue acts) and is not loaded here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Literal

import pandas as pd

from pipeline.errors import DatasetFormatError

from ._io import require

CORPORA = ("MWOZ", "SGD", "ReDial", "CCPE")
DISSATISFIED_AT = 2.0  # a user turn whose mean rating is at or below this counts as dissatisfied
_OVERALL = "OVERALL"
_ROLES = {"USER": "user", "SYSTEM": "system"}


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of a dialogue. `satisfaction` is the mean rating, set on user turns only."""

    role: Literal["user", "system"]
    text: str
    action: str
    ratings: tuple[int, ...]
    satisfaction: float | None

    @property
    def dissatisfied(self) -> bool:
        """True for a user turn rated at or below DISSATISFIED_AT on average."""
        return self.satisfaction is not None and self.satisfaction <= DISSATISFIED_AT


@dataclass(frozen=True, slots=True)
class Dialogue:
    """A rated dialogue; `overall` is the mean of the OVERALL ratings, None if the line is absent."""

    corpus: str
    dialogue_id: str
    turns: tuple[Turn, ...]
    overall: float | None
    overall_ratings: tuple[int, ...] = ()

    @property
    def user_turns(self) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.role == "user")


def _ratings(value: str, path: Path, line: int) -> tuple[int, ...]:
    try:
        ratings = tuple(int(x) for x in value.split(","))
    except ValueError:
        raise DatasetFormatError(path, line, f"sat {value!r} is not comma-separated integers") from None
    if not all(1 <= r <= 5 for r in ratings):
        raise DatasetFormatError(path, line, f"sat {value!r} has a rating outside 1-5")
    return ratings


def _blocks(path: Path) -> Iterator[list[tuple[int, list[str]]]]:
    """Dialogues as lists of (line number, fields), split on blank lines."""
    block: list[tuple[int, list[str]]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if block:
                    yield block
                block = []
                continue
            fields = line.split("\t")
            if len(fields) != 4:
                raise DatasetFormatError(path, number, f"{len(fields)} tab-separated fields, expected 4")
            block.append((number, fields))
    if block:
        yield block


def _dialogue(corpus: str, index: int, block: list[tuple[int, list[str]]], path: Path) -> Dialogue:
    turns: list[Turn] = []
    overall: tuple[int, ...] = ()
    for number, (role, text, action, sat) in block:
        if role not in _ROLES:
            raise DatasetFormatError(path, number, f"role {role!r} is neither USER nor SYSTEM")
        if role == "USER" and text == _OVERALL:
            overall = _ratings(sat, path, number)
            continue
        if role == "SYSTEM":
            turns.append(Turn("system", text, action, (), None))
            continue
        if not sat.strip():
            raise DatasetFormatError(path, number, "user turn has no sat ratings")
        ratings = _ratings(sat, path, number)
        turns.append(Turn("user", text, action, ratings, fmean(ratings)))
    return Dialogue(
        corpus, f"{corpus}-{index:04d}", tuple(turns), fmean(overall) if overall else None, overall
    )


def load_uss(corpora: Iterable[str] = CORPORA, data_dir: Path | None = None) -> list[Dialogue]:
    """Dialogues of the chosen corpora, in file order; ids are `<corpus>-<0-based index>`."""
    chosen = (corpora,) if isinstance(corpora, str) else tuple(corpora)
    unknown = [c for c in chosen if c not in CORPORA]
    if unknown:
        raise ValueError(f"unknown USS corpus {', '.join(unknown)}: choose from {', '.join(CORPORA)}")
    dialogues: list[Dialogue] = []
    for corpus in chosen:
        path = require(data_dir, f"uss/{corpus}.txt", f"User Satisfaction Simulation ({corpus})")
        dialogues.extend(_dialogue(corpus, i, block, path) for i, block in enumerate(_blocks(path)))
    return dialogues


def user_turns_frame(dialogues: Iterable[Dialogue]) -> pd.DataFrame:
    """One row per rated user turn, with its position, for turn-level training and evaluation."""
    rows = [
        {
            "corpus": d.corpus,
            "dialogue_id": d.dialogue_id,
            "turn_index": i,
            "text": t.text,
            "action": t.action,
            "satisfaction": t.satisfaction,
            "n_ratings": len(t.ratings),
            "dissatisfied": t.dissatisfied,
            "overall": d.overall,
        }
        for d in dialogues
        for i, t in enumerate(d.turns)
        if t.role == "user"
    ]
    return pd.DataFrame(rows)
