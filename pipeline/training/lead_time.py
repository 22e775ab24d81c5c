"""How early the conversation state warns on real customer-support threads.

The real Twitter threads (twcs head and the airline threads) are replayed in time order through the
message scorer, the conversation store and the forecaster, exactly as the stream would run them.
For each thread in which the scorer calls some customer message a complaint, the question is: had
the state already reached elevated or high before that first complaint, and by how many messages
and minutes? Minutes come from the twcs head only: the airline release has no times (its replay
clock is synthetic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from statistics import fmean, median

from pipeline.config import Settings
from pipeline.conversation.forecast import Forecaster
from pipeline.conversation.store import ConversationStore
from pipeline.ingest.sources.replay import ReplaySource
from pipeline.schema import Author, Message, RiskLevel
from pipeline.scoring.base import Scorer

CHUNK = 2048


@dataclass(slots=True)
class ThreadWatch:
    messages: int = 0
    warned_at: int | None = None  # message number (1-based) at which the state first reached elevated
    warned_time: float | None = None
    complaint_at: int | None = None
    complaint_time: float | None = None
    synthetic_clock: bool = False


def _chunks(messages: Iterator[Message], size: int) -> Iterator[list[Message]]:
    while chunk := list(islice(messages, size)):
        yield chunk


def lead_time(settings: Settings, scorer: Scorer, forecaster: Forecaster, limit: int | None = None,
              advance: Callable[[int], None] | None = None) -> dict[str, object]:
    started = time.perf_counter()
    store = ConversationStore(idle_seconds=7 * 24 * 3600.0)
    watches: dict[str, ThreadWatch] = {}
    for chunk in _chunks(ReplaySource(settings.data_dir, limit=limit).messages(), CHUNK):
        customer = [m for m in chunk if m.author is Author.customer]
        scores = dict(zip((m.id for m in customer), scorer.score(customer), strict=True))
        trouble = forecaster.trouble(chunk)
        for message, logit in zip(chunk, trouble, strict=True):
            score = scores.get(message.id)
            state = store.update(message, score, logit)
            watch = watches.setdefault(state.conversation_id, ThreadWatch(
                synthetic_clock=bool(message.metadata.get("synthetic_timestamp"))))
            watch.messages += 1
            at = message.timestamp.timestamp() if message.timestamp else 0.0
            if watch.complaint_at is not None:
                continue
            if score is not None and score.is_complaint:
                watch.complaint_at, watch.complaint_time = watch.messages, at
            elif watch.warned_at is None and forecaster.assess(state).level.rank >= RiskLevel.elevated.rank:
                watch.warned_at, watch.warned_time = watch.messages, at
        if advance:
            advance(len(chunk))
    return _summary(watches, forecaster, scorer, time.perf_counter() - started)


def _summary(watches: dict[str, ThreadWatch], forecaster: Forecaster, scorer: Scorer, seconds: float) -> dict[str, object]:
    complained = [w for w in watches.values() if w.complaint_at is not None]
    with_history = [w for w in complained if w.complaint_at and w.complaint_at > 1]
    warned = [w for w in complained if w.warned_at is not None]
    lead_messages = [w.complaint_at - w.warned_at for w in warned]  # type: ignore[operator]
    lead_minutes = [(w.complaint_time - w.warned_time) / 60 for w in warned  # type: ignore[operator]
                    if not w.synthetic_clock and w.complaint_time and w.warned_time]
    calm = [w for w in watches.values() if w.complaint_at is None]
    return {
        "task": "lead-time",
        "data": "twcs head and airline threads replayed in time order (airline threads on a synthetic clock)",
        "message_scorer": getattr(scorer, "version", "unknown"),
        "forecaster": forecaster.meta.version,
        "threads": len(watches),
        "messages": sum(w.messages for w in watches.values()),
        "threads_with_a_complaint": len(complained),
        "complaint_after_the_first_message": len(with_history),
        "warned_before_the_complaint": len(warned),
        "warned_share_of_threads_with_a_complaint": round(len(warned) / len(complained), 4) if complained else 0.0,
        "warned_share_where_a_warning_was_possible": round(len(warned) / len(with_history), 4) if with_history else 0.0,
        "lead_messages_median": float(median(lead_messages)) if lead_messages else 0.0,
        "lead_messages_mean": round(fmean(lead_messages), 2) if lead_messages else 0.0,
        "lead_minutes_median": round(median(lead_minutes), 1) if lead_minutes else 0.0,
        "lead_minutes_mean": round(fmean(lead_minutes), 1) if lead_minutes else 0.0,
        "lead_minutes_threads": len(lead_minutes),
        "warned_share_of_threads_without_a_complaint": round(sum(w.warned_at is not None for w in calm) / len(calm), 4)
        if calm else 0.0,
        "seconds": round(seconds, 1),
    }
