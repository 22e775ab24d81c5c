"""`earlywarn report`: the complaint analytics report for a period, as HTML with charts, CSVs and JSON."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.config import Settings


def default_period(today: date | None = None, days: int = 28) -> tuple[date, date]:
    """The four weeks up to today: long enough for weekly patterns, short enough to be current."""
    end = today or datetime.now(UTC).date()
    return end - timedelta(days=days - 1), end


def build(settings: Settings, start: date, end: date, output: Path, themes: bool = True,
          database_url: str | None = None) -> dict[str, Any]:
    """Build and write the report; the JSON the command prints."""
    from pipeline.analytics.records import Period
    from pipeline.analytics.report import build_report, latest_drift, write_report
    from pipeline.cases.clocks import load_profiles
    from pipeline.cases.store import make_engine, migrate

    started = time.perf_counter()
    engine = make_engine(database_url or settings.database_url)
    try:
        migrate(engine)
        report = build_report(engine, load_profiles(settings.cases_profiles), Period(start, end), themes=themes,
                              recommendations=settings.analytics_recommendations, drift=latest_drift(settings))
    finally:
        engine.dispose()
    written = write_report(report, output)
    summary = report.summary
    return {
        "period": summary.period,
        "cases_read": summary.cases_read,
        "kpis": summary.kpis.model_dump(mode="json", exclude={"compliance"}),
        "complaints_return": summary.complaints_return.model_dump(mode="json"),
        "spikes": len(summary.spikes),
        "themes": [t.name for t in summary.themes],
        "root_causes": [f"{c.dimension}={c.category}" for c in summary.root_causes],
        "files": {k: str(v) for k, v in written.items()},
        "drift": summary.drift.get("status") if summary.drift else None,
        "timings_s": summary.timings_s,
        "seconds": round(time.perf_counter() - started, 3),
    }
