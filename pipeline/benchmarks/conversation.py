"""Conversation-state throughput and footprint: updates/s with the scores given, bytes per open conversation.

The messages are the real twcs-head threads, scored once by the fast model; their scores are
dealt round-robin to `conversations` conversation ids, so every update does the work a live one
does (trend window, cues, reply bookkeeping) without timing the scorer. Messages for each round
are built before the clock starts and dropped after, so memory holds what the store keeps.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from pipeline.benchmarks.timing import best_rate
from pipeline.config import Settings
from pipeline.conversation.store import ConversationStore
from pipeline.datasets.twitter_threads import load_twcs_threads
from pipeline.schema import Author, Message, MessageScore
from pipeline.scoring.registry import ScorerName, load_scorer


def _real_turns(settings: Settings, limit: int = 2000) -> list[tuple[Message, MessageScore | None]]:
    messages = [turn.to_message() for thread in load_twcs_threads(settings.data_dir) for turn in thread
                if turn.text.strip() and turn.timestamp is not None][:limit]
    customer = [m for m in messages if m.author is Author.customer]
    scores = {s.id: s for s in load_scorer(ScorerName.fast, settings).score(customer)}
    return [(m, scores.get(m.id)) for m in messages]


def bench_conversation(settings: Settings, conversations: int = 100_000, rounds: int = 5,
                       repeats: int = 3) -> dict[str, Any]:
    turns = _real_turns(settings)
    start = min(m.timestamp for m, _ in turns if m.timestamp)  # type: ignore[type-var]

    def round_messages(r: int) -> list[tuple[Message, MessageScore | None]]:
        out = []
        for c in range(conversations):
            message, score = turns[(r * conversations + c) % len(turns)]
            out.append((message.model_copy(update={"conversation_id": f"c{c}", "id": f"c{c}-{r}",
                                                   "timestamp": start + timedelta(seconds=60 * r)}), score))
        return out

    def fill() -> ConversationStore:
        store = ConversationStore(idle_seconds=7 * 24 * 3600.0)
        for r in range(rounds):
            batch = round_messages(r)
            for message, score in batch:
                store.update(message, score)
        return store

    batches = [round_messages(r) for r in range(rounds)]

    def run() -> None:
        store = ConversationStore(idle_seconds=7 * 24 * 3600.0)
        for batch in batches:
            for message, score in batch:
                store.update(message, score)

    rate = best_rate(run, conversations * rounds, repeats)
    del batches
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    store = fill()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))  # all the store keeps alive
    started = time.perf_counter()
    encoded = sum(len(str(state.to_dict())) for state in store)
    return {
        "benchmark": "conversation",
        "data": f"{len(turns)} real twcs-head messages scored by the fast model, dealt to {conversations} conversations",
        "conversations": conversations,
        "updates": conversations * rounds,
        "updates_per_s": round(rate, 1),
        "open_conversations": len(store),
        "bytes_per_open_conversation": round(held / len(store), 1),
        "snapshot_bytes_per_conversation": round(encoded / len(store), 1),
        "snapshot_seconds": round(time.perf_counter() - started, 2),
    }
