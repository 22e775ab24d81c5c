"""The whole stream, measured: sustained messages/s and ingest-to-flag latency at a set rate.

Two paths, each on a fresh store: the embedded default (a JSONL file → SQLite) and production
(Redis Streams → PostgreSQL). The messages are the real Twitter threads in time order (twcs head,
then the airline threads). Throughput is the backlog drained as fast as the worker can: every
message validated, scored, folded into its conversation, routed and, when flagged, filed on its
case, then acknowledged. Latency is measured at a fixed offered rate (200 messages/s by default)
from the moment a message enters (its Redis entry time; for a file, the moment it is due) to the
moment its flag is on the case, for every flagged message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.benchmarks.cases import fresh_store, host_speed_ms
from pipeline.config import Settings
from pipeline.conversation.store import ConversationStore
from pipeline.ingest.sources.base import Envelope
from pipeline.ingest.sources.file import FileSource
from pipeline.ingest.sources.redis_streams import RedisStreamProducer, RedisStreamSource
from pipeline.ingest.sources.replay import ReplaySource
from pipeline.ingest.validate import Validator
from pipeline.scoring.registry import ScorerName
from pipeline.stream.assemble import build_stages
from pipeline.stream.runner import Stages, StreamRunner


class PacedFile:
    """A file's records offered at a fixed rate: each is delivered when due, as a live feed would be,
    and counts as ingested at that moment (so queueing behind a slow batch shows in the latency)."""

    name = "paced-file"

    def __init__(self, path: Path, rate: float) -> None:
        self.inner, self.rate = FileSource(path), rate

    def batches(self, max_batch: int = 256) -> Iterator[list[Envelope]]:
        """Whatever has come due since the last call, as a live feed delivers it."""
        records = [e for batch in self.inner.batches(max_batch) for e in batch]
        start, n = time.time(), 0
        while n < len(records):
            now = time.time()
            due_count = min(len(records), int((now - start) * self.rate) + 1, n + max_batch)
            if due_count <= n:
                time.sleep(start + n / self.rate - now)
                continue
            yield [replace(records[i], ingested_at=start + i / self.rate) for i in range(n, due_count)]
            n = due_count

    def ack(self, delivery_ids: Sequence[str]) -> None:
        """A file needs no acknowledgement."""

    def stop(self) -> None:
        self.inner.stop()

    def close(self) -> None:
        self.inner.close()


def _throughput(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A drained backlog's latencies are mostly time spent queued: the rate is the figure here."""
    return {k: v for k, v in snapshot.items() if not k.startswith("ingest_to_flag")}


def _fresh(stages: Stages) -> Stages:
    return replace(stages, validator=Validator(stages.validator.limits), conversations=ConversationStore())


def _write_messages(path: Path, settings: Settings, count: int) -> list[str]:
    lines = [m.model_dump_json() for m in ReplaySource(settings.data_dir, limit=count).messages()]
    path.write_text("\n".join(lines) + "\n")
    return lines


def _file_path(settings: Settings, scorer: ScorerName, lines_path: Path, rate: float, seconds: float) -> dict[str, Any]:
    with fresh_store("sqlite:///unused.db") as url, closing(build_stages(settings, scorer, database_url=url)) as stages:
        StreamRunner(_fresh(stages)).run(FileSource(lines_path), max_batch=64)  # warm-up: models, caches
    with fresh_store("sqlite:///unused.db") as url, closing(build_stages(settings, scorer, database_url=url)) as stages:
        drained = _throughput(StreamRunner(_fresh(stages)).run(FileSource(lines_path), max_batch=256).snapshot())
    paced_path = lines_path.with_name("paced.jsonl")
    paced_path.write_text("".join(lines_path.read_text().splitlines(keepends=True)[: int(rate * seconds)]))
    with fresh_store("sqlite:///unused.db") as url, closing(build_stages(settings, scorer, database_url=url)) as stages:
        paced = StreamRunner(_fresh(stages)).run(PacedFile(paced_path, rate), max_batch=256, max_wait_s=0.0).snapshot()
    return {"sustained": drained, f"at_{rate:g}_per_s": paced}


def _redis_path(settings: Settings, scorer: ScorerName, lines: list[str], database_url: str, rate: float,
                seconds: float) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    out: dict[str, Any] = {}
    with fresh_store(database_url) as url, closing(build_stages(settings, scorer, database_url=url)) as stages:
        stream = f"earlywarn-bench:{time.time_ns()}"
        producer = RedisStreamProducer(stream, url=settings.redis_url)
        producer.publish(lines)
        source = RedisStreamSource(stream, url=settings.redis_url, group="bench", consumer="b1", block_ms=200,
                                   stop_when_idle=True)
        out["sustained"] = _throughput(StreamRunner(_fresh(stages)).run(source, max_batch=256).snapshot())
        source.close()
        client.delete(stream)
    with fresh_store(database_url) as url, closing(build_stages(settings, scorer, database_url=url)) as stages:
        stream = f"earlywarn-bench:{time.time_ns()}"
        offered = lines[: int(rate * seconds)]

        def publish_paced() -> None:
            start = time.time()
            for n, line in enumerate(offered):
                wait = start + n / rate - time.time()
                if wait > 0:
                    time.sleep(wait)
                producer.redis.xadd(stream, {"data": line})

        source = RedisStreamSource(stream, url=settings.redis_url, group="bench", consumer="b2", block_ms=1000,
                                   stop_when_idle=True)
        source.ensure_group()
        feeder = threading.Thread(target=publish_paced, daemon=True)
        feeder.start()
        runner = StreamRunner(_fresh(stages))
        runner.run(source, max_batch=256, max_wait_s=0.0)
        feeder.join()
        out[f"at_{rate:g}_per_s"] = runner.counters.snapshot()
        source.close()
        producer.close()
        client.delete(stream)
    client.close()
    return out


def bench_stream(settings: Settings, scorer: ScorerName, messages: int = 20_000, rate: float = 200.0,
                 seconds: float = 30.0, database_url: str | None = None, work_dir: Path | None = None) -> dict[str, Any]:
    # benchmark traffic stays in the throwaway stores: no webhook, no configured dead-letter store or state
    settings = settings.model_copy(update={"webhook_url": "", "dead_letter_url": "",
                                           "stream_state_path": (work_dir or settings.models_dir) / "bench-state.jsonl"})
    folder = work_dir or settings.models_dir / ".cache" / "bench-stream"
    folder.mkdir(parents=True, exist_ok=True)
    lines_path = folder / "threads.jsonl"
    lines = _write_messages(lines_path, settings, messages)
    result: dict[str, Any] = {
        "benchmark": "stream",
        "scorer": scorer.value,
        "data": f"{len(lines)} real Twitter thread messages (twcs head, then airline threads) in time order",
        "host_speed_ms": host_speed_ms(),
        "reading_workers": settings.stream_readers,
        "file_to_sqlite": _file_path(settings, scorer, lines_path, rate, seconds),
    }
    if database_url:
        result["redis_to_postgresql"] = _redis_path(settings, scorer, lines, database_url, rate, seconds)
    return result
