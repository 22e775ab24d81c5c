"""Root causes and recommendations: for the categories that lead the period, the evidence (counts,
trend against the period before, example messages with their cues, redress paid) and the kind of
change they suggest, with who should hear about it (CU824 3.1–3.3).

The suggestions come from `recommendations.yaml`, not from the code, so a complaints manager can
reword them; the evidence always comes from the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.analytics.metrics import Dimension, breakdown
from pipeline.analytics.records import CaseRecords, Period
from pipeline.errors import ConfigError
from pipeline.ingest.pii import redact

DEFAULT_RECOMMENDATIONS = Path(__file__).with_name("recommendations.yaml")
#: A trend is given only against a period before with at least this many flags in the category: from
#: 1 to 3 flags is noise, not "+200%".
MIN_TREND_FLAGS = 5
ChangeKind = Literal["service", "process", "policy", "training", "product"]


class Recommendation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    change: ChangeKind
    feedback_to: str
    suggestion: str


class Example(BaseModel):
    case_id: int
    text: str  # personal data redacted
    cues: list[str]
    complaint_probability: float | None


class RootCause(BaseModel):
    dimension: str
    category: str
    flags: int
    complaints: int
    previous_flags: int  # in the period of the same length just before
    trend: float | None  # flags against the previous period: 0.5 = half as many again; None: see trend_note
    trend_note: str | None = None  # why there is no trend
    spike_days: list[str]  # days the spike detector marked for a special review
    redress_paid: float
    examples: list[Example]
    recommendation: Recommendation


_NOT_A_CATEGORY = ("not closed", "unknown", "unrouted")


class Recommendations(dict[str, Recommendation]):
    """The recommendations by '<dimension>:<value>', with the file they came from (for errors)."""

    def __init__(self, entries: Mapping[str, Recommendation], path: Path) -> None:
        super().__init__(entries)
        self.path = path


def load_recommendations(path: Path | None = None) -> Recommendations:
    path = path or DEFAULT_RECOMMENDATIONS
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Recommendations({str(key): Recommendation.model_validate(value) for key, value in raw.items()}, path)
    except (OSError, yaml.YAMLError, ValidationError, AttributeError) as exc:
        raise ConfigError(path, f"cannot read the recommendations: {exc}; each key is '<dimension>:<value>' "
                                "with change, feedback_to and suggestion") from exc


def recommendation_for(dimension: str, category: str, table: Mapping[str, Recommendation]) -> Recommendation:
    found = table.get(f"{dimension}:{category}") or table.get(f"{dimension}:*")
    if found is None:
        where = table.path if isinstance(table, Recommendations) else "the recommendations given"
        raise ConfigError(where, f"no recommendation for {dimension}:{category} and no "
                                 f"'{dimension}:*' entry: add one")
    return found


def root_causes(records: CaseRecords, spike_days: Mapping[str, list[str]] | None = None,
                recommendations: Mapping[str, Recommendation] | None = None, per_dimension: int = 3,
                dimensions: tuple[Dimension, ...] = ("root_cause", "topic", "cue"), examples: int = 3
                ) -> list[RootCause]:
    """The leading `per_dimension` categories of each dimension, most flags first.

    `spike_days` maps "dimension=category" to the days the spike detector marked."""
    table = recommendations if recommendations is not None else load_recommendations()
    spike_days = spike_days or {}
    previous = _previous(records)
    uncovered = _not_covered(records, previous.period)
    out: list[RootCause] = []
    for dimension in dimensions:
        now = breakdown(records, dimension)
        now = now[~now.category.isin(_NOT_A_CATEGORY)]  # nothing to recommend about "we do not know yet"
        before = breakdown(previous, dimension).set_index("category")["flags"] if len(previous.cases) else pd.Series()
        for row in now.head(per_dimension).itertuples(index=False):
            ids = _case_ids(records, dimension, row.category)
            earlier = int(before.get(row.category, 0))
            trend, note = _trend(int(row.flags), earlier, uncovered)
            out.append(RootCause(
                dimension=dimension, category=row.category, flags=int(row.flags), complaints=int(row.complaints),
                previous_flags=earlier, trend=trend, trend_note=note,
                spike_days=spike_days.get(f"{dimension}={row.category}", []),
                redress_paid=round(float(records.cases[records.cases.case_id.isin(ids)].redress_paid.sum()), 2),
                examples=_examples(records, ids, examples),
                recommendation=recommendation_for(dimension, row.category, table),
            ))
    return out


def _previous(records: CaseRecords) -> CaseRecords:
    """The same records seen over the period of equal length just before."""
    length = pd.Timedelta(days=records.period.days)
    start = pd.Timestamp(records.period.start)
    period = Period((start - length).date(), (start - pd.Timedelta(days=1)).date())
    return replace(records, period=period)


def _not_covered(records: CaseRecords, previous: Period) -> str | None:
    """Why the period before cannot be compared with, if the tracker was not running for all of it
    (days before its first case are days it was not running, not quiet days)."""
    if records.cases.empty:
        return "no cases before"
    first = records.cases.created_at.min()
    if first > pd.Timestamp(previous.start_at):
        return f"the tracker started on {first.date().isoformat()}, within the period before"
    return None


def _trend(flags: int, earlier: int, uncovered: str | None) -> tuple[float | None, str | None]:
    if uncovered is not None:
        return None, uncovered
    if earlier < MIN_TREND_FLAGS:
        return None, (f"{earlier} flag{'' if earlier == 1 else 's'} in the period before, fewer than the "
                      f"{MIN_TREND_FLAGS} a trend needs")
    return round((flags - earlier) / earlier, 4), None


def _case_ids(records: CaseRecords, dimension: Dimension, category: str) -> set[int]:
    p = records.period
    if dimension == "cue":
        cues = records.cues
        hit = cues[(cues.label == category) & (cues.filed_at >= p.start_at) & (cues.filed_at < p.end_at)]
        return set(hit.case_id)
    cases = records.cases
    opened = cases[(cases.created_at >= p.start_at) & (cases.created_at < p.end_at)]
    return set(opened[opened[dimension].astype(str) == category].case_id)


def _examples(records: CaseRecords, ids: set[int], count: int) -> list[Example]:
    """The messages most likely to be complaints among the category's cases, one per case."""
    messages = records.messages
    if messages.empty or messages.text.isna().all():
        return []
    chosen = messages[messages.case_id.isin(ids)].sort_values("complaint_probability", ascending=False,
                                                              na_position="last")
    chosen = chosen.drop_duplicates("case_id").head(count)
    return [Example(case_id=int(m.case_id), text=redact(m.text), cues=list(m.cue_labels),
                    complaint_probability=None if pd.isna(m.complaint_probability) else float(m.complaint_probability))
            for m in chosen.itertuples(index=False)]
