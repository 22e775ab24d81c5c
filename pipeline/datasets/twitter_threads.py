"""Kaggle "Customer Support on Twitter" (twcs), first 5,000 rows: typed tweets and their threads.

This is the unlabelled real stream with reply structure that replay runs on. The file is parsed
record by record (see `_io.csv_records`) because one row (tweet 3399) has line breaks, written as
bare carriage returns, in an unquoted text field: a plain CSV reader splits it into three broken
rows. Here it is read whole, and only what still does not fit is skipped and reported. Line breaks
in tweet text are normalised to "\n". The airline threads live in `airline_threads` and are re-exported here, so both
Twitter-derived sources are importable from one place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.schema import Author

from pipeline.errors import DatasetFormatError

from ._io import csv_records, require
from .airline_threads import AIRLINE_FILES, load_airline_threads
from .threads import Thread, ThreadMessage

__all__ = [
    "AIRLINE_FILES",
    "TWCS_COLUMNS",
    "TWCS_FILE",
    "ParseIssue",
    "Tweet",
    "group_threads",
    "load_airline_threads",
    "load_twcs_threads",
    "load_twcs_tweets",
    "parse_twcs",
    "parse_twitter_time",
]

log = logging.getLogger(__name__)

TWCS_FILE = "twcs-head/twcs_head5000.csv"
TWCS_COLUMNS = (
    "",  # the pandas index the upstream copy was written with
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_TWITTER_TIME = re.compile(
    r"^[A-Z][a-z]{2} (?P<mon>[A-Z][a-z]{2}) (?P<day>\d{2}) (?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2}) "
    r"(?P<sign>[+-])(?P<oh>\d{2})(?P<om>\d{2}) (?P<year>\d{4})$"
)


@dataclass(frozen=True, slots=True)
class Tweet:
    """One twcs row. `inbound` is True for a customer's tweet, False for a company's."""

    tweet_id: int
    author_id: str
    inbound: bool
    created_at: datetime  # timezone-aware
    text: str
    response_tweet_ids: tuple[int, ...]
    in_response_to_tweet_id: int | None
    line: int  # where the row starts in the file, for error reports

    @property
    def author(self) -> Author:
        return Author.customer if self.inbound else Author.agent


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """A record that was skipped (or joined back together), with where and why."""

    line: int
    reason: str
    skipped: bool


def parse_twitter_time(value: str) -> datetime:
    """'Tue Oct 31 22:10:47 +0000 2017' as an aware datetime (locale-independent, unlike strptime)."""
    match = _TWITTER_TIME.match(value.strip())
    if not match or match["mon"] not in _MONTHS:
        raise ValueError(f"not a Twitter timestamp: {value!r}")
    offset = timedelta(hours=int(match["oh"]), minutes=int(match["om"]))
    tz = timezone(offset if match["sign"] == "+" else -offset)
    return datetime(
        int(match["year"]), _MONTHS[match["mon"]], int(match["day"]),
        int(match["h"]), int(match["m"]), int(match["s"]), tzinfo=tz,
    )  # fmt: skip


def _tweet_id(value: str) -> int | None:
    """Ids are ints, but the upstream pandas dump wrote the optional parent id as a float ('3.0')."""
    value = value.strip()
    if not value:
        return None
    if value.endswith(".0"):
        value = value[:-2]
    return int(value)


def _bool(value: str) -> bool:
    if value not in ("True", "False"):
        raise ValueError(f"inbound is {value!r}, expected True or False")
    return value == "True"


def _tweet(fields: tuple[str, ...], line: int) -> Tweet:
    _, tweet_id, author_id, inbound, created_at, text, responses, parent = fields
    return Tweet(
        tweet_id=int(tweet_id),
        author_id=author_id,
        inbound=_bool(inbound),
        created_at=parse_twitter_time(created_at),
        text=text.replace("\r\n", "\n").replace("\r", "\n"),
        response_tweet_ids=tuple(int(x) for x in responses.split(",") if x.strip()),
        in_response_to_tweet_id=_tweet_id(parent),
        line=line,
    )


def parse_twcs(text: str, path: Path | None = None) -> tuple[list[Tweet], list[ParseIssue]]:
    """Every tweet that can be read, and an issue per record that was joined or skipped."""
    records = csv_records(text, width=len(TWCS_COLUMNS))
    header = next(records, None)
    if header is None or tuple(header.fields[1:]) != TWCS_COLUMNS[1:]:
        raise DatasetFormatError(path or Path(TWCS_FILE), 1, f"header is not {','.join(TWCS_COLUMNS)}")
    tweets: list[Tweet] = []
    issues: list[ParseIssue] = []
    for record in records:
        if not record.fields:
            if record.raw.strip():
                issues.append(ParseIssue(record.line, "not readable as CSV", skipped=True))
            continue
        if len(record.fields) != len(TWCS_COLUMNS):
            reason = f"{len(record.fields)} fields, expected {len(TWCS_COLUMNS)}"
            issues.append(ParseIssue(record.line, reason, skipped=True))
            continue
        try:
            tweets.append(_tweet(record.fields, record.line))
        except ValueError as exc:
            issues.append(ParseIssue(record.line, str(exc), skipped=True))
            continue
        if record.repaired:
            reason = "unquoted line breaks inside the text; read as one row"
            issues.append(ParseIssue(record.line, reason, skipped=False))
    return tweets, issues


def load_twcs_tweets(data_dir: Path | None = None) -> list[Tweet]:
    """The 5,000-row twcs head as typed tweets in file order; logs each repaired or skipped row."""
    path = require(data_dir, TWCS_FILE, "Customer Support on Twitter (twcs head)")
    with path.open(encoding="utf-8", newline="") as handle:  # keep bare "\r" as written
        tweets, issues = parse_twcs(handle.read(), path)
    for issue in issues:
        action = "skipped" if issue.skipped else "repaired"
        log.warning("%s:%d %s: %s", path, issue.line, action, issue.reason)
    return tweets


def _root_id(tweet: Tweet, by_id: dict[int, Tweet]) -> int:
    """Follow in_response_to upwards; a parent outside the file is still the thread's anchor."""
    current, seen = tweet, {tweet.tweet_id}
    while current.in_response_to_tweet_id is not None:
        parent_id = current.in_response_to_tweet_id
        parent = by_id.get(parent_id)
        if parent is None or parent_id in seen:
            return parent_id
        seen.add(parent_id)
        current = parent
    return current.tweet_id


def group_threads(tweets: Iterable[Tweet], source: str = "twcs") -> list[Thread]:
    """Group tweets into conversations ordered by time.

    The conversation id is the root tweet id reached by following `in_response_to_tweet_id`;
    when the chain leaves the file (a 5,000-row head cuts threads), the first missing parent id
    is used, so replies to the same absent tweet still land in one thread. Turns are ordered by
    `created_at` (then id); threads by their first turn.
    """
    by_id = {t.tweet_id: t for t in tweets}
    groups: dict[int, list[Tweet]] = {}
    for tweet in by_id.values():
        groups.setdefault(_root_id(tweet, by_id), []).append(tweet)
    threads = []
    for root, members in groups.items():
        members.sort(key=lambda t: (t.created_at, t.tweet_id))
        thread_id = str(root)
        turns = tuple(
            ThreadMessage(str(t.tweet_id), thread_id, t.author, t.text, t.created_at, t.author_id)
            for t in members
        )
        meta = {"root_in_data": str(root in by_id).lower()}
        threads.append(Thread(thread_id, source, turns, None, meta))
    threads.sort(key=lambda th: (th.turns[0].timestamp, th.thread_id))
    return threads


def load_twcs_threads(data_dir: Path | None = None) -> list[Thread]:
    """The twcs head grouped into time-ordered threads (see `group_threads`)."""
    return group_threads(load_twcs_tweets(data_dir))
