"""Every open conversation's state, bounded: idle conversations expire, and the store can be
written out and read back so a restarted stream worker resumes where it stopped.

Time is stream time (the newest message timestamp seen), not the wall clock, so a replay of last
year's threads expires conversations exactly as live traffic would have.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from pipeline.conversation.state import ConversationState
from pipeline.schema import Message, MessageScore


class ConversationStore:
    def __init__(self, idle_seconds: float = 48 * 3600.0) -> None:
        if idle_seconds <= 0:
            raise ValueError(f"idle_seconds must be positive (got {idle_seconds}): set EARLYWARN_CONVERSATION_IDLE_HOURS")
        self.idle_seconds = idle_seconds
        self.now = 0.0
        self._open: OrderedDict[str, ConversationState] = OrderedDict()  # least recently updated first

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[ConversationState]:
        return iter(self._open.values())

    def get(self, conversation_id: str) -> ConversationState | None:
        return self._open.get(conversation_id)

    def update(self, message: Message, score: MessageScore | None, trouble: float | None = None) -> ConversationState:
        """Fold a message into its conversation (a new one if it has none open) and expire the idle."""
        key = message.conversation_id or message.customer_id or message.id
        state = self._open.get(key)
        if state is None:
            state = self._open[key] = ConversationState(key)
        else:
            self._open.move_to_end(key)
        state.update(message, score, trouble)
        self.now = max(self.now, state.updated_at)
        self.expire()
        return state

    def expire(self) -> list[ConversationState]:
        """Close every conversation idle for longer than `idle_seconds` of stream time; returns them."""
        closed = []
        cutoff = self.now - self.idle_seconds
        while self._open:
            oldest = next(iter(self._open.values()))
            if oldest.updated_at >= cutoff:
                break
            closed.append(self._open.popitem(last=False)[1])
        return closed

    def save(self, path: Path) -> Path:
        """One JSON line per open conversation, oldest first, then the stream time."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps({"now": self.now, "idle_seconds": self.idle_seconds}) + "\n")
            for state in self._open.values():
                handle.write(json.dumps(state.to_dict(), separators=(",", ":")) + "\n")
        tmp.replace(path)  # a crash mid-write leaves the previous snapshot whole
        return path

    @classmethod
    def load(cls, path: Path) -> ConversationStore:
        with path.open(encoding="utf-8") as handle:
            header = json.loads(next(handle))
            store = cls(idle_seconds=float(header["idle_seconds"]))
            store.now = float(header["now"])
            for line in handle:
                state = ConversationState.from_dict(json.loads(line))
                store._open[state.conversation_id] = state
        return store
