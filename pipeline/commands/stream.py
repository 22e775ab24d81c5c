"""`earlywarn stream`: run the pipeline on a source with live counters until it ends or is stopped.

SIGINT and SIGTERM stop it cleanly: the batch in hand is finished and acknowledged, the conversation
states are snapshotted for the next start (also every 30 s, between acknowledged batches), and the
final counters are printed as JSON.
"""

from __future__ import annotations

import signal
from typing import Any

from rich.live import Live
from rich.table import Table

from pipeline.config import Settings
from pipeline.console import err
from pipeline.scoring.registry import ScorerName
from pipeline.stream.assemble import build_stages, open_source, state_path
from pipeline.stream.counters import StreamCounters
from pipeline.stream.runner import StreamRunner

SNAPSHOT_EVERY_S = 30.0


def _table(c: StreamCounters) -> Table:
    snap = c.snapshot()
    table = Table(title="earlywarn stream", show_header=False)
    for key in ("messages_per_s", "received", "accepted", "flagged", "announced", "dead_lettered", "cases_opened",
                "cases_updated", "lag", "ingest_to_flag_p50_ms", "ingest_to_flag_p99_ms"):
        table.add_row(key.replace("_", " "), "-" if snap[key] is None else str(snap[key]))
    return table


def run_stream(settings: Settings, source_spec: str, scorer: ScorerName, max_batch: int, max_wait_ms: float,
               limit: int | None, live: bool = True, stop_when_idle: bool = False) -> dict[str, Any]:
    source = open_source(source_spec, settings, limit=limit, stop_when_idle=stop_when_idle)
    stages = build_stages(settings, scorer, flags_to_redis=source_spec.startswith("redis"))
    runner = StreamRunner(stages)
    previous = {sig: signal.signal(sig, lambda *_: source.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_batch(counters: StreamCounters) -> None:
        if display:
            display.update(_table(counters))

    def checkpoint() -> None:
        stages.conversations.save(state_path(settings))

    display = Live(_table(runner.counters), console=err, refresh_per_second=4) if live else None
    run = lambda: runner.run(source, max_batch, max_wait_ms / 1000, on_batch, checkpoint,  # noqa: E731
                             SNAPSHOT_EVERY_S)
    try:
        if display:
            with display:
                run()
        else:
            run()
    finally:  # no snapshot after a failed write: the states would hold messages that will be redelivered
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        source.close()
        stages.close()
    return {"source": source_spec, "scorer": scorer.value, **runner.counters.snapshot()}
