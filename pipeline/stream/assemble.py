"""Build a stream from settings: the source a `--source` spec names, and the stages around it.

Source specs: `file:PATH` (JSONL or CSV), `stdin`, `replay[:SPEEDUP]` (the real Twitter threads;
`replay` alone plays as fast as it can), `redis[:STREAM]` (a consumer group on the configured
Redis). The embedded default needs no service: SQLite for cases and dead letters, the stream in
process; Redis-backed parts switch on only when the source is Redis or settings name them.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import Settings
from pipeline.conversation.forecast import Forecaster, artefact_dir
from pipeline.conversation.store import ConversationStore
from pipeline.errors import ConfigError
from pipeline.ingest.deadletter import DeadLetterStore
from pipeline.ingest.sources.base import Source
from pipeline.ingest.validate import IngestLimits, Validator
from pipeline.routing.rules import RoutingRules
from pipeline.schema import Message, VulnerabilityFinding
from pipeline.scoring.registry import ScorerName, load_scorer
from pipeline.stream.reading import ReadingPool
from pipeline.stream.runner import FlagPublisher, Stages

SOURCE_SPECS = "file:PATH, stdin, replay[:SPEEDUP], redis[:STREAM]"


def state_path(settings: Settings) -> Path:
    return settings.stream_state_path or settings.models_dir / "stream-state.jsonl"


def open_source(spec: str, settings: Settings, limit: int | None = None, stop_when_idle: bool = False) -> Source:
    kind, _, arg = spec.partition(":")
    if kind == "file" and arg:
        from pipeline.ingest.sources.file import FileSource

        return FileSource(arg)
    if kind in ("stdin", "-"):
        from pipeline.ingest.sources.file import FileSource

        return FileSource("-")
    if kind == "replay":
        from pipeline.ingest.sources.replay import ReplaySource

        try:
            speedup = float(arg) if arg else math.inf
        except ValueError:
            raise ConfigError("--source", f"replay speed-up {arg!r} is not a number: write e.g. replay:60") from None
        return ReplaySource(settings.data_dir, speedup=speedup, limit=limit)
    if kind == "redis":
        from pipeline.ingest.sources.redis_streams import RedisStreamSource

        return RedisStreamSource(arg or settings.redis_stream, url=settings.redis_url, group=settings.redis_group,
                                 consumer=settings.redis_consumer or f"{socket.gethostname()}-{os.getpid()}",
                                 claim_idle_ms=settings.redis_claim_idle_ms, stop_when_idle=stop_when_idle)
    raise ConfigError("--source", f"unknown source {spec!r}: give one of {SOURCE_SPECS}")


def ingest_limits(settings: Settings) -> IngestLimits:
    return IngestLimits(max_text_chars=settings.ingest_max_text_chars, languages=settings.ingest_languages,
                        duplicate_window=settings.ingest_duplicate_window,
                        max_record_bytes=settings.ingest_max_record_bytes)


def build_stages(settings: Settings, scorer: ScorerName = ScorerName.cascade, flags_to_redis: bool = False,
                 database_url: str | None = None) -> Stages:
    from pipeline.cases.service import CaseService

    limits = ingest_limits(settings)
    url = database_url or settings.database_url
    conversations = ConversationStore(idle_seconds=settings.conversation_idle_hours * 3600)
    if state_path(settings).is_file():
        conversations = ConversationStore.load(state_path(settings))
        conversations.idle_seconds = settings.conversation_idle_hours * 3600  # today's setting, not the snapshot's
    publishers: list[FlagPublisher] = []
    if flags_to_redis and settings.flags_stream:
        from pipeline.stream.sinks.flags import FlagStreamSink

        publishers.append(FlagStreamSink(settings.redis_url, stream=settings.flags_stream))
    if settings.webhook_url:
        from pipeline.stream.sinks.webhook import WebhookSink

        publishers.append(WebhookSink(settings.webhook_url, secret=settings.webhook_secret or None,
                                      budget=settings.webhook_budget_s))
    stages = Stages(
        validator=Validator(limits),
        dead_letters=DeadLetterStore(settings.dead_letter_url or url),
        scorer=load_scorer(scorer, settings, shared_cpu=True),
        conversations=conversations,
        forecaster=Forecaster.load(artefact_dir(settings)),
        router=RoutingRules.from_settings(settings),
        cases=CaseService.from_settings(settings, url=url),
        publishers=publishers,
        topics=_topics(settings),
        vulnerability=VulnerabilityFindings(),
    )
    if settings.stream_readers:  # forked last, when every model is loaded
        stages.pool = ReadingPool(stages.readers, settings.stream_readers)
    return stages


class VulnerabilityFindings:
    """The FG21/1 detector as the stream's tagger: its cues become the findings a flag carries."""

    def __init__(self) -> None:
        from pipeline.signals.vulnerability import VulnerabilityDetector

        self.detector = VulnerabilityDetector()

    def findings(self, messages: Sequence[Message]) -> list[list[VulnerabilityFinding]]:
        return [[VulnerabilityFinding(**{**c.model_dump(), "text": c.text[:500],
                                         "explanation": c.explanation[:500]}, message_id=m.id)
                 for c in cues]
                for m, cues in zip(messages, self.detector.detect([m.text for m in messages]), strict=True)]


def _topics(settings: Settings):  # -> TopicTagger | None
    from pipeline.signals.topic import TopicModel, topic_dir

    folder = topic_dir(settings)
    return TopicModel.load(folder) if folder.is_dir() else None
