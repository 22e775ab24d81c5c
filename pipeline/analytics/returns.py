"""A complaints return for a period from the tracker's records, in the style of FCA DISP 1.10.

Counted per the return's conventions:
- opened: complaints received in the period;
- closed: complaints the firm closed in the period — the earliest of a summary resolution
  communication, a final response, a deadlock letter or the case's closure;
- closed within 3 business days (by close of business on the third business day after receipt,
  DISP 1.5), within 8 weeks (DISP 1.6.2), or later;
- upheld: closed complaints found justified or partly justified; complaints closed by summary
  resolution count as upheld, as the FCA's return guidance asks;
- redress paid on the complaints closed in the period;
- outstanding: received by the end of the period and not closed by then.
Business days follow each case's regulatory profile (its timezone and holiday calendar).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from pydantic import BaseModel

from pipeline.analytics.records import CaseRecords
from pipeline.cases.clocks import ClockSpec, RegulatoryProfile, Unit

_THREE_BUSINESS_DAYS = ClockSpec(name="return_3bd", description="summary resolution window", rule="DISP 1.5.1R",
                                 duration=3, unit=Unit.business_days)
_EIGHT_WEEKS = ClockSpec(name="return_8w", description="final response limit", rule="DISP 1.6.2R",
                         duration=8, unit=Unit.weeks)
_CLOSING = ("summary_resolution_at", "final_response_at", "deadlock_letter_at", "closed_at")
UPHELD = ("justified", "partly_justified")


class ComplaintsReturn(BaseModel):
    period: str
    profiles: list[str]
    opened: int
    closed: int
    closed_within_3_business_days: int
    closed_within_8_weeks: int  # after 3 business days, within 8 weeks
    closed_after_8_weeks: int
    upheld: int
    upheld_rate: float | None
    redress_paid: float
    outstanding_at_end: int

    def rows(self) -> list[tuple[str, str | int | float | None]]:
        """(line, value) in the order the return is read, for the CSV and the page."""
        return [(name.replace("_", " "), value) for name, value in self.model_dump().items()
                if name not in ("period", "profiles")]


def complaints_return(records: CaseRecords, profiles: Mapping[str, RegulatoryProfile],
                      included: Sequence[str] | None = None) -> ComplaintsReturn:
    """The return over cases under `included` profiles (default: the FCA ones)."""
    chosen = list(included) if included is not None else [p for p in profiles if p.startswith("fca")]
    unknown = sorted(set(chosen) - set(profiles))
    if unknown:
        raise ValueError(f"unknown regulatory profile(s) {', '.join(unknown)}: choose from {', '.join(profiles)}")
    period = records.period
    cases = records.cases[records.cases.profile.isin(chosen) & records.cases.received_at.notna()].copy()
    cases["resolved_at"] = cases[list(_CLOSING)].min(axis=1)
    received = cases[(cases.received_at >= period.start_at) & (cases.received_at < period.end_at)]
    closed = cases[(cases.resolved_at >= period.start_at) & (cases.resolved_at < period.end_at)]
    within_3 = within_8 = 0
    for row in closed.itertuples(index=False):
        profile = profiles[row.profile]
        start = row.received_at.to_pydatetime()
        if row.resolved_at < profile.due(_THREE_BUSINESS_DAYS, start):
            within_3 += 1
        elif row.resolved_at < profile.due(_EIGHT_WEEKS, start):
            within_8 += 1
    upheld = int((closed.findings_outcome.isin(UPHELD) | _by_summary(closed)).sum())
    outstanding = cases[(cases.received_at < period.end_at)
                        & (cases.resolved_at.isna() | (cases.resolved_at >= period.end_at))]
    return ComplaintsReturn(
        period=period.label(), profiles=chosen, opened=len(received), closed=len(closed),
        closed_within_3_business_days=within_3, closed_within_8_weeks=within_8,
        closed_after_8_weeks=len(closed) - within_3 - within_8, upheld=upheld,
        upheld_rate=round(upheld / len(closed), 4) if len(closed) else None,
        redress_paid=round(float(closed.redress_paid.sum()), 2), outstanding_at_end=len(outstanding),
    )


def _by_summary(closed: pd.DataFrame) -> pd.Series:
    """Closed by a summary resolution communication: it came first among the closing events."""
    return closed.summary_resolution_at.notna() & (closed.summary_resolution_at == closed.resolved_at)
