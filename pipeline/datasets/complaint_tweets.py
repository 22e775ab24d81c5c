"""The complaint tweets of Preotiuc-Pietro et al. (2019) joined with the X-CI severity labels.

The two releases list the same tweets in different orders and with small text differences (HTML
entities, whitespace, case), so they are joined on normalised text rather than row order. Rows of
the first release that X-CI does not cover keep their complaint label; their severity is unknown
(-1) unless they are not complaints, which X-CI always rates severity 0.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from pipeline.errors import DataNotFoundError

from ._io import require

COMPLAINTS_FILE = "complaint-tweets/complaints-data.csv"
XCI_FILE = "complaint-tweets/X-CI_Dataset.csv"
UNKNOWN_SEVERITY = -1
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """The join key: unescaped, lower-cased, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(str(text)).lower()).strip()


def load_complaint_tweets(data_dir: Path | None = None) -> pd.DataFrame:
    """One row per tweet: tweet_id, text, label (1 complaint), domain, severity (0-4, -1 unknown),
    sentiment, emotion and the X-CI cause span (explain)."""
    tweets = pd.read_csv(
        require(data_dir, COMPLAINTS_FILE, "complaint tweets"),
        header=None,
        names=["tweet_id", "text", "label", "domain"],
        dtype={"tweet_id": str, "text": str, "label": int, "domain": str},
        keep_default_na=False,
    )
    xci = pd.read_csv(require(data_dir, XCI_FILE, "X-CI severity labels"), dtype=str, keep_default_na=False)
    xci = xci.assign(key=xci["tweet"].map(normalise_text)).drop_duplicates("key")
    xci = xci.rename(columns={"Severity": "severity", "Explain": "explain"})[
        ["key", "severity", "sentiment", "emotion", "explain"]
    ]
    joined = tweets.assign(key=tweets["text"].map(normalise_text)).merge(xci, on="key", how="left")
    severity = pd.to_numeric(joined["severity"], errors="coerce")
    severity = severity.where(severity.notna(), joined["label"].map({0: 0}).fillna(UNKNOWN_SEVERITY))
    return pd.DataFrame(
        {
            "tweet_id": joined["tweet_id"],
            "text": joined["text"],
            "label": joined["label"].astype(int),
            "domain": joined["domain"],
            "severity": severity.astype(int),
            "sentiment": joined["sentiment"].fillna("").str.lower(),
            "emotion": joined["emotion"].fillna(""),
            "explain": joined["explain"].fillna(""),
        }
    )


PREPARED_COLUMNS = ["tweet_id", "text", "label", "domain", "severity", "sentiment", "emotion", "explain"]


def write_prepared(tweets: pd.DataFrame, path: Path) -> dict[str, object]:
    """The joined tweets as one Parquet file (DVC's `prepare` stage); returns what it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tweets[PREPARED_COLUMNS].to_parquet(path, index=False)
    rated = tweets["severity"] >= 0
    return {
        "path": str(path),
        "rows": len(tweets),
        "complaints": int(tweets["label"].sum()),
        "severity_rated": int(rated.sum()),
        "severity_counts": {str(k): int(v) for k, v in tweets.loc[rated, "severity"].value_counts().sort_index().items()},
        "domains": int(tweets["domain"].nunique()),
    }


def read_prepared(path: Path) -> pd.DataFrame:
    """What `write_prepared` wrote, checked: a file from another version names the missing columns."""
    if not path.is_file():
        raise DataNotFoundError(path, "prepared complaint tweets", "run `earlywarn prepare` first")
    frame = pd.read_parquet(path)
    missing = [c for c in PREPARED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataNotFoundError(path, "prepared complaint tweets",
                                f"it lacks the columns {', '.join(missing)}: rerun `earlywarn prepare`")
    return frame
