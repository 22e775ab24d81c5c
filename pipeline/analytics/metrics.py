"""Complaint volumes, rates and handling performance for a period, from `CaseRecords`.

What each count means (so the report, the dashboard and the CSVs say the same thing):
- flags: cases the tracker opened (an early warning, or a complaint filed directly);
- complaints: cases whose regulatory clocks started (received) in the period;
- prevented: flags settled before they became complaints (CU824 1.2) and not reopened by the period's end;
- dismissed: flags a handler judged not a complaint and not reopened by the period's end (false alarms), a
  headline figure only (the volume tables count flags, complaints, prevented and closed);
- closed: complaints closed in the period;
- conversion: of the flags opened in the period that were not complaints when opened (flag-first),
  the share received as complaints by the period's end; the same cohort in the headline figures
  and in every breakdown. A case counts under each cue its customer messages carried by then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import pandas as pd
from pydantic import BaseModel

from pipeline.analytics.records import CaseRecords
from pipeline.cases.clocks import ClockKind, ClockStatus, Milestone, RegulatoryProfile, evaluate

Freq = Literal["D", "W"]
Dimension = Literal["channel", "queue", "topic", "cue", "root_cause"]
DIMENSIONS: tuple[Dimension, ...] = ("channel", "queue", "topic", "cue", "root_cause")

#: Each count and the column of `CaseRecords.cases` that dates it.
COUNTED = {"flags": "created_at", "complaints": "received_at", "prevented": "prevented_at", "closed": "closed_at"}
UPHELD = ("justified", "partly_justified")


class Compliance(BaseModel):
    """How one clock fared on the complaints received in the period."""

    clock: str
    rule: str
    due: int  # cases whose clock had reached its deadline, or stopped, by the end of the period
    met: int
    met_late: int
    breached: int
    running: int

    @property
    def rate(self) -> float | None:
        return self.met / self.due if self.due else None


class Kpis(BaseModel):
    """The headline figures of a period."""

    flags: int
    complaints: int
    prevented: int
    closed: int
    prevention_rate: float | None  # prevented / flags opened in the period
    dismissed: int
    false_alarm_rate: float | None  # flags opened in the period and dismissed as not a complaint
    conversion_rate: float | None  # flags opened in the period that became complaints
    findings: int
    justified_rate: float | None  # justified or partly justified / findings recorded
    median_hours_to_acknowledge: float | None
    median_days_to_resolve: float | None
    mean_days_to_resolve: float | None
    satisfied_rate: float | None
    escalations: int
    escalations_by_target: dict[str, int]
    customer_requested_escalations: int
    ombudsman_referrals: int
    redress_paid: float
    repeat_complainants: int  # customers with two or more cases opened in the period
    repeat_share: float | None  # of customers with any case
    vulnerable_cases: int  # opened in the period with a vulnerability marker (a count: FG21/1 data is never listed)
    compliance: list[Compliance]


def _in(series: pd.Series, records: CaseRecords) -> pd.Series:
    p = records.period
    return (series >= p.start_at) & (series < p.end_at)


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _median(series: pd.Series) -> float | None:
    series = series.dropna()
    return round(float(series.median()), 2) if len(series) else None


def kpis(records: CaseRecords, profiles: Mapping[str, RegulatoryProfile], now: datetime) -> Kpis:
    c = records.cases
    opened = c[_in(c.created_at, records)]
    received = c[_in(c.received_at, records)]
    prevented = c[_in(c.prevented_at, records)]
    closed = c[_in(c.closed_at, records)]
    flagged_first = _flagged_first(records)
    findings = closed[closed.findings_outcome.notna()]
    hours_to_ack = (received.acknowledged_at - received.received_at).dt.total_seconds() / 3600
    days_to_resolve = (closed.closed_at - closed.received_at).dt.total_seconds() / 86400
    escalations = records.escalations[_in(records.escalations.escalated_at, records)]
    customers = opened.customer_id.dropna().value_counts()
    checked = closed.satisfied.dropna()
    return Kpis(
        flags=len(opened), complaints=len(received), prevented=len(prevented), closed=len(closed),
        prevention_rate=_ratio(int(flagged_first.prevented_at.notna().sum()), len(flagged_first)),
        dismissed=int(_in(c.dismissed_at, records).sum()),
        false_alarm_rate=_ratio(int(flagged_first.dismissed_at.notna().sum()), len(flagged_first)),
        conversion_rate=_ratio(int(_converted(flagged_first, records).sum()), len(flagged_first)),
        findings=len(findings),
        justified_rate=_ratio(int(findings.findings_outcome.isin(UPHELD).sum()), len(findings)),
        median_hours_to_acknowledge=_median(hours_to_ack),
        median_days_to_resolve=_median(days_to_resolve),
        mean_days_to_resolve=round(float(days_to_resolve.mean()), 2) if days_to_resolve.notna().any() else None,
        satisfied_rate=_ratio(int(checked.astype(bool).sum()), len(checked)),
        escalations=len(escalations),
        escalations_by_target={str(k): int(v) for k, v in escalations.target.value_counts().items()},
        customer_requested_escalations=int(escalations.customer_requested.sum()),
        ombudsman_referrals=int((escalations.target == "ombudsman").sum()),
        redress_paid=round(float(closed.redress_paid.sum()), 2),
        repeat_complainants=int((customers >= 2).sum()),
        repeat_share=_ratio(int((customers >= 2).sum()), len(customers)),
        vulnerable_cases=int(opened.case_id.isin(records.vulnerable).sum()),
        compliance=compliance(received, profiles, min(now, records.period.end_at)),
    )


def compliance(received: pd.DataFrame, profiles: Mapping[str, RegulatoryProfile], as_of: datetime) -> list[Compliance]:
    """Each deadline clock's outcome on these complaints, as it stood at `as_of` (windows are rights
    the customer holds, not duties, so they are left out)."""
    tally: dict[tuple[str, str], dict[str, int]] = {}
    milestone_columns = {m: f"{m.value}_at" for m in Milestone}
    for row in received.itertuples(index=False):
        profile = profiles.get(row.profile)
        if profile is None:
            continue
        milestones = {m: getattr(row, col).to_pydatetime() for m, col in milestone_columns.items()
                      if hasattr(row, col) and not pd.isna(getattr(row, col)) and getattr(row, col) <= as_of}
        replies = [at for at in row.replies if at <= as_of]
        for deadline in evaluate(profile, milestones, as_of, row.pauses, replies):
            if deadline.kind is not ClockKind.deadline or deadline.status is ClockStatus.not_started:
                continue
            counts = tally.setdefault((deadline.clock, deadline.rule), dict.fromkeys(
                ("met", "met_late", "breached", "running"), 0))
            if deadline.status in (ClockStatus.met, ClockStatus.met_late, ClockStatus.breached):
                counts[deadline.status.value] += 1
            else:
                counts["running"] += 1
    return [Compliance(clock=clock, rule=rule, due=n["met"] + n["met_late"] + n["breached"], **n)
            for (clock, rule), n in sorted(tally.items())]


def volumes(records: CaseRecords, freq: Freq = "D", by: Dimension | None = None) -> pd.DataFrame:
    """Counts per period (and category): columns period, [category], flags, complaints, prevented,
    closed. Periods with nothing are rows of zeros, so a chart shows the quiet days."""
    frames = []
    for name, column in COUNTED.items():
        frame = _dated(records, column, by)
        frames.append(frame.groupby(["period", "category"], observed=True).size().rename(name))
    table = pd.concat(frames, axis=1).fillna(0).astype(int) if frames else pd.DataFrame()
    table = _complete(table, records, freq)
    if by is None:
        table = table.drop(columns="category")
    return table


def cue_volumes(records: CaseRecords, freq: Freq = "D") -> pd.DataFrame:
    """Customer messages carrying each cue, per period: period, category (the cue), messages."""
    cues = records.cues[_in(records.cues.filed_at, records)]
    frame = pd.DataFrame({"period": _floor(cues.filed_at, freq), "category": cues.label})
    table = frame.groupby(["period", "category"]).size().rename("messages").to_frame()
    return _complete(table, records, freq)


def breakdown(records: CaseRecords, by: Dimension) -> pd.DataFrame:
    """Totals for the period per category, largest first, with the rates a manager compares."""
    table = volumes(records, "D", by).groupby("category")[list(COUNTED)].sum()
    table = table[(table[["flags", "complaints"]].sum(axis=1) > 0)].copy()
    cohort, category = _categorised(records, _flagged_first(records), by)
    converted = pd.DataFrame({"category": category.astype(str), "converted": _converted(cohort, records)})
    rates = converted.groupby("category").converted.mean()
    table["conversion_rate"] = rates.reindex(table.index).astype(float).round(4)
    table["share"] = (table["flags"] / max(int(table["flags"].sum()), 1)).round(4)
    return table.sort_values(["flags", "complaints"], ascending=False).reset_index()


def _flagged_first(records: CaseRecords) -> pd.DataFrame:
    """Cases opened in the period as early warnings, not as complaints: the conversion cohort."""
    c = records.cases
    opened = c[_in(c.created_at, records)]
    return opened[opened.received_at.isna() | (opened.received_at > opened.created_at)]


def _converted(cases: pd.DataFrame, records: CaseRecords) -> pd.Series:
    """Whether each case was received as a complaint by the period's end (a later receipt is the next
    period's news, as a later prevention is)."""
    return cases.received_at.notna() & (cases.received_at < records.period.end_at)


def _categorised(records: CaseRecords, cases: pd.DataFrame, by: Dimension | None) -> tuple[pd.DataFrame, pd.Series]:
    """The cases with their category: by cue, once per cue their messages carried by the period's end."""
    if by == "cue":
        cues = records.cues[records.cues.filed_at < records.period.end_at].drop_duplicates(["case_id", "label"])
        cases = cases.merge(cues[["case_id", "label"]], on="case_id")
        return cases, cases.label
    if by == "root_cause":
        return cases, cases.root_cause.fillna("not closed")
    return cases, cases[by] if by else pd.Series("all", index=cases.index)


def _dated(records: CaseRecords, column: str, by: Dimension | None) -> pd.DataFrame:
    c, category = _categorised(records, records.cases[_in(records.cases[column], records)], by)
    return pd.DataFrame({"period": _floor(c[column], "D"), "category": category.astype(str)})


def _floor(series: pd.Series, freq: Freq) -> pd.Series:
    days = series.dt.tz_convert("UTC").dt.normalize()
    if freq == "W":
        days = days - pd.to_timedelta(days.dt.day_of_week, unit="D")  # weeks start on Monday
    return days


def _complete(table: pd.DataFrame, records: CaseRecords, freq: Freq) -> pd.DataFrame:
    """Re-dates rows to their day or week and fills every missing (period, category) with zeros."""
    table = table.reset_index()
    if table.empty:
        table["period"] = pd.Series(dtype="datetime64[ns, UTC]")
    table["period"] = _floor(pd.to_datetime(table.period, utc=True), freq)
    table = table.groupby(["period", "category"], as_index=False).sum()
    start = pd.Timestamp(records.period.start_at)
    calendar = pd.date_range(start, pd.Timestamp(records.period.end_at) - pd.Timedelta(days=1), freq="D")
    if freq == "W":
        calendar = _floor(pd.Series(calendar), "W").drop_duplicates()
    categories = sorted(table.category.unique()) or ["all"]
    index = pd.MultiIndex.from_product([calendar, categories], names=["period", "category"])
    full = table.set_index(["period", "category"]).reindex(index, fill_value=0).reset_index()
    return full
