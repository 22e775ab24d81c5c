"""Loaders for the public data releases, read from the configured data folder.

Every loader takes `data_dir: Path | None = None` (default: `get_settings().data_dir`, i.e.
`EARLYWARN_DATA_DIR` or ../shared/data) and raises `DataNotFoundError` naming the missing file.
`scripts/fetch_data.py` (logic in `pipeline.datasets.fetch`) downloads the same releases.
"""

from __future__ import annotations

from pipeline.errors import DatasetFormatError
from .airline_threads import load_airline_threads
from .banking77 import categories as banking77_categories
from .banking77 import load_banking77
from .cfpb import load_cfpb_sample
from .complaint_tweets import load_complaint_tweets
from .goemotions import goemotions_labels, is_dissatisfaction, load_goemotions
from .threads import Thread, ThreadMessage
from .twitter_threads import Tweet, group_threads, load_twcs_threads, load_twcs_tweets
from .uss import Dialogue, Turn, load_uss, user_turns_frame

__all__ = [
    "DatasetFormatError",
    "Dialogue",
    "Thread",
    "ThreadMessage",
    "Turn",
    "Tweet",
    "banking77_categories",
    "goemotions_labels",
    "group_threads",
    "is_dissatisfaction",
    "load_airline_threads",
    "load_banking77",
    "load_cfpb_sample",
    "load_complaint_tweets",
    "load_goemotions",
    "load_twcs_threads",
    "load_twcs_tweets",
    "load_uss",
    "user_turns_frame",
]
