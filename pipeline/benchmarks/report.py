"""How long the analytics report takes on a realistic store: real Twitter threads replayed through
the whole pipeline into a fresh SQLite case store, then the report built and written for the
four weeks the cases fall in, from a cold start (the MiniLM encoder is loaded inside the timing).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.scoring.registry import ScorerName


def bench_report(settings: Settings, scorer: ScorerName, messages: int = 40_000, themes: bool = True) -> dict[str, Any]:
    from pipeline.analytics.records import Period
    from pipeline.analytics.report import build_report, write_report
    from pipeline.cases.clocks import load_profiles
    from pipeline.cases.store import make_engine
    from pipeline.commands.stream import run_stream

    with tempfile.TemporaryDirectory(prefix="earlywarn-report-") as folder:
        root = Path(folder)
        local = settings.model_copy(update={"database_url": f"sqlite:///{root / 'cases.db'}", "dead_letter_url": "",
                                            "stream_state_path": root / "state.jsonl"})
        filled = time.perf_counter()
        streamed = run_stream(local, "replay", scorer, max_batch=256, max_wait_ms=50, limit=messages, live=False)
        filled = time.perf_counter() - filled
        today = datetime.now(UTC).date()
        period = Period(today - timedelta(days=27), today)
        engine = make_engine(local.database_url)
        try:
            started = time.perf_counter()
            report = build_report(engine, load_profiles(settings.cases_profiles), period, themes=themes)
            write_report(report, root / "report")
            seconds = time.perf_counter() - started
        finally:
            engine.dispose()
    summary = report.summary
    return {
        "messages_replayed": streamed["received"],
        "flagged_messages": streamed["flagged"],
        "cases": summary.cases_read,
        "complaints": summary.kpis.complaints,
        "themes": len(summary.themes),
        "themes_note": summary.themes_note,
        "scorer": scorer.value,
        "fill_seconds": round(filled, 1),
        "report_seconds": round(seconds, 3),
        "report_timings_s": summary.timings_s,
        "target_seconds": 30,
        "met": seconds < 30,
    }
