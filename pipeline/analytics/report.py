"""The complaint analytics report: one function builds it, and the CLI (`earlywarn report`) and
the workspace dashboard both show what it returns.

Spike detection looks back `SPIKE_HISTORY_DAYS` before the period for its baseline, so a spike on
the period's first day is judged against the weeks before it, not against nothing.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel
from sqlalchemy import Engine

from pipeline.analytics import charts
from pipeline.analytics.metrics import DIMENSIONS, Kpis, breakdown, kpis, volumes
from pipeline.analytics.records import CaseRecords, Period, load_records
from pipeline.analytics.returns import ComplaintsReturn, complaints_return
from pipeline.analytics.rootcause import RootCause, load_recommendations, root_causes
from pipeline.analytics.spikes import Spike, detect_spikes
from pipeline.cases.clocks import RegulatoryProfile

SPIKE_HISTORY_DAYS = 56  # eight weeks: each weekday seen eight times
SPIKE_DIMENSIONS = ("channel", "queue", "topic", "cue")
#: Complaint texts embedded for theme discovery: a seeded sample of this many keeps the report fast on
#: CPU (MiniLM embeds roughly 40 texts per core-second here) and still surfaces every sizeable theme.
THEME_TEXTS = 600


class SpikeView(BaseModel):
    category: str
    day: date
    count: int
    expected: float
    upper_limit: float
    method: str
    detail: str


class ThemeView(BaseModel):
    name: str
    terms: list[str]
    size: int
    share: float
    examples: list[str]


class ReportSummary(BaseModel):
    """What `earlywarn report` prints as JSON and the dashboard shows."""

    period: str
    generated_at: datetime
    kpis: Kpis
    complaints_return: ComplaintsReturn
    spikes: list[SpikeView]
    root_causes: list[RootCause]
    themes: list[ThemeView]
    themes_note: str | None
    cases_read: int
    timings_s: dict[str, float]
    drift: dict[str, Any] | None = None  # the last `earlywarn drift` check of the served model, if any


@dataclass
class Report:
    summary: ReportSummary
    daily: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame] = field(default_factory=dict)

    def charts(self) -> dict[str, str]:
        """Inline SVGs by name, for the HTML report and the dashboard."""
        spikes = [(pd.Timestamp(s.day, tz=UTC), s.category) for s in self.summary.spikes]
        out = {"volumes": charts.volume_chart(self.daily, spikes)}
        for name, table in self.breakdowns.items():
            if len(table):
                out[name] = charts.bar_chart(table, f"By {name.replace('_', ' ')}")
        compliance = [c.model_dump() for c in self.summary.kpis.compliance]
        if compliance:
            out["compliance"] = charts.compliance_chart(compliance)
        return out


def build_report(engine: Engine, profiles: Mapping[str, RegulatoryProfile], period: Period, *,
                 now: datetime | None = None, themes: bool = True, embedder: Any = None,
                 theme_texts: int = THEME_TEXTS, recommendations: Path | None = None,
                 drift: dict[str, Any] | None = None) -> Report:
    """Everything the report shows, computed from the case store in one read."""
    now = now or datetime.now(UTC)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    history = Period(period.start - timedelta(days=SPIKE_HISTORY_DAYS), period.end)
    records = load_records(engine, history, texts=True)
    records = replace(records, period=period)
    timings["read"] = time.perf_counter() - started

    mark = time.perf_counter()
    headline = kpis(records, profiles, now)
    regulatory = complaints_return(records, profiles)
    tables = {d: breakdown(records, d) for d in DIMENSIONS}
    daily = volumes(records, "D")
    timings["metrics"] = time.perf_counter() - mark

    mark = time.perf_counter()
    spikes = _spikes(replace(records, period=_since_first_case(records, history)), period)
    timings["spikes"] = time.perf_counter() - mark

    mark = time.perf_counter()
    marked: dict[str, list[str]] = {}
    for s in spikes:
        marked.setdefault(s.category, []).append(s.day.isoformat())
    causes = root_causes(records, marked, load_recommendations(recommendations))
    timings["root_causes"] = time.perf_counter() - mark

    mark = time.perf_counter()
    found, note = _themes(records, embedder, theme_texts) if themes else ([], "theme discovery was not asked for")
    timings["themes"] = time.perf_counter() - mark
    timings = {k: round(v, 3) for k, v in timings.items()}
    summary = ReportSummary(
        period=period.label(), generated_at=now, kpis=headline, complaints_return=regulatory, spikes=spikes,
        root_causes=causes, themes=found, themes_note=note, cases_read=len(records.cases), timings_s=timings,
        drift=drift,
    )
    return Report(summary=summary, daily=daily, breakdowns=tables)


def latest_drift(settings: Any) -> dict[str, Any] | None:
    """The last saved drift check of the fast model (`earlywarn drift`), shown beside the figures."""
    from pipeline.scoring.registry import ScorerName
    from pipeline.training.drift import load_latest_report

    try:
        return load_latest_report(settings, ScorerName.fast)
    except (OSError, ValueError):
        return None


def _since_first_case(records: CaseRecords, history: Period) -> Period:
    """The baseline starts when the tracker did: days before its first case are not quiet days, they
    are days it was not running, and counting them as zeros would make its first busy day a "spike"."""
    if records.cases.empty:
        return history
    first = records.cases.created_at.min().date()
    return Period(min(max(history.start, first), history.end), history.end)


def _spikes(history: CaseRecords, period: Period) -> list[SpikeView]:
    """Days in the period on which a category's flags broke its control limit."""
    frames = []
    for dimension in SPIKE_DIMENSIONS:
        table = volumes(history, "D", dimension)
        frames.append(pd.DataFrame({"period": table.period, "category": f"{dimension}=" + table.category.astype(str),
                                    "count": table["flags"]}))
    total = volumes(history, "D")
    frames.append(pd.DataFrame({"period": total.period, "category": "all", "count": total["flags"]}))
    counts = pd.concat(frames, ignore_index=True)
    counts["period"] = counts.period.dt.tz_convert(None)
    found: list[Spike] = detect_spikes(counts, freq="D")
    return [SpikeView(category=s.category, day=s.period, count=s.count, expected=round(s.expected, 2),
                      upper_limit=round(s.upper_limit, 2), method=s.method, detail=s.detail)
            for s in found if period.start <= s.period <= period.end]


def _themes(records: CaseRecords, embedder: Any, limit: int) -> tuple[list[ThemeView], str | None]:
    from pipeline.analytics.themes import discover_themes

    messages = records.messages
    complaints = records.cases[records.cases.received_at.notna()]
    p = records.period
    chosen = messages[messages.case_id.isin(complaints.case_id) & (messages.filed_at >= p.start_at)
                      & (messages.filed_at < p.end_at)]
    texts = chosen.text.dropna().tolist()
    result = discover_themes(texts, embedder=embedder, max_texts=limit)
    views = [ThemeView(name=t.name, terms=list(t.terms), size=t.size, share=round(t.share, 4),
                       examples=[_redacted(e) for e in t.examples]) for t in result.themes]
    note = result.reason
    if note is None and result.sampled_from:
        note = (f"themes found in a random sample of {result.texts} of the period's {result.sampled_from} "
                "distinct complaint messages")
    return views, note


def _redacted(text: str) -> str:
    from pipeline.ingest.pii import redact

    return redact(text)


# --- writing ---------------------------------------------------------------------------------------

_ENV = Environment(loader=PackageLoader("pipeline.analytics", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report) -> str:
    return _ENV.get_template("report.html").render(report=report.summary, charts=report.charts(),
                                                   breakdowns=report.breakdowns)


def write_report(report: Report, directory: Path) -> dict[str, Path]:
    """report.html, report.json and one CSV per table, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {"html": directory / "report.html", "json": directory / "report.json"}
    written["html"].write_text(render_html(report), encoding="utf-8")
    written["json"].write_text(report.summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    report.daily.assign(period=report.daily.period.dt.date).to_csv(directory / "volumes_daily.csv", index=False)
    written["volumes_daily"] = directory / "volumes_daily.csv"
    for name, table in report.breakdowns.items():
        path = directory / f"by_{name}.csv"
        table.to_csv(path, index=False)
        written[f"by_{name}"] = path
    summary = report.summary
    written["spikes"] = _csv(directory / "spikes.csv", [s.model_dump(mode="json") for s in summary.spikes],
                             list(SpikeView.model_fields))
    written["root_causes"] = _csv(directory / "root_causes.csv", [_cause_row(c) for c in summary.root_causes],
                                  ["dimension", "category", "flags", "complaints", "previous_flags", "trend",
                                   "trend_note", "spike_days", "redress_paid", "change", "feedback_to", "suggestion", "examples"])
    written["complaints_return"] = _csv(directory / "complaints_return.csv",
                                        [{"line": k, "value": v} for k, v in summary.complaints_return.rows()],
                                        ["line", "value"])
    written["themes"] = _csv(directory / "themes.csv", [t.model_dump() for t in summary.themes],
                             list(ThemeView.model_fields))
    return written


def _cause_row(cause: RootCause) -> dict[str, Any]:
    row = cause.model_dump(exclude={"examples", "recommendation"})
    row["spike_days"] = " ".join(cause.spike_days)
    row |= cause.recommendation.model_dump()
    row["examples"] = json.dumps([e.model_dump() for e in cause.examples], ensure_ascii=False)
    return row


def _csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: " | ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return path
