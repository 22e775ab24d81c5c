"""Unlabelled customer messages to companies: what the fast model learns from the deep model.

The fast model is distilled from the deep one on real customer tweets nobody labelled: the first
customer turn of every airline thread and every inbound tweet of the twcs head. They are written
to companies as the complaint tweets are, so the teacher's judgement on them carries over; the
complaint tweets themselves (and repeats) are left out so that no labelled text is ever scored as
unlabelled. The order is shuffled by a seed and cut to `size`, so a pool is reproducible.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .airline_threads import load_airline_threads
from .complaint_tweets import normalise_text
from .twitter_threads import load_twcs_threads

MIN_CHARS = 15  # shorter turns ("DM sent", "thanks!") say nothing about complaint intent


@dataclass(frozen=True)
class CustomerPool:
    texts: list[str]
    drawn_from: int
    """customer messages read before deduplication and the cut"""

    @property
    def fingerprint(self) -> str:
        """Names this exact pool, so teacher scores are never paired with another one's texts."""
        digest = hashlib.sha256()
        for text in self.texts:
            digest.update(text.encode() + b"\n")
        return digest.hexdigest()[:16]


def load_customer_pool(
    data_dir: Path | None = None, size: int = 15_000, seed: int = 13, exclude: Iterable[str] = ()
) -> CustomerPool:
    """Up to `size` distinct customer messages; texts equal (after normalisation) to one in `exclude`
    (the labelled tweets) are left out."""
    messages = [th.customer_turns[0].text
                for th in load_airline_threads("raw", data_dir, keep_placeholders=False) if th.customer_turns]
    messages += [turn.text for th in load_twcs_threads(data_dir) for turn in th.customer_turns]
    seen = {normalise_text(t) for t in exclude}
    kept = []
    for text in messages:
        key = normalise_text(text)
        if len(key) >= MIN_CHARS and key not in seen:
            seen.add(key)
            kept.append(text)
    random.Random(seed).shuffle(kept)
    return CustomerPool(kept[:size], drawn_from=len(messages))
