"""One shape for customer-service conversations, whatever release they come from.

The twcs tweets and the airline threads differ in almost everything (ids, timestamps, markers);
a replay source or an evaluation over conversations should not care, so both loaders return
`Thread`s of `ThreadMessage`s, and `ThreadMessage.to_message` turns a turn into the pipeline's
`Message` contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.schema import Author, Channel, Message


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One turn: who wrote it (customer or agent), what, and when when the release says so."""

    message_id: str
    thread_id: str
    author: Author
    text: str
    timestamp: datetime | None = None
    speaker: str | None = None  # the release's own author id (twcs handle / anonymised id)

    def to_message(self, channel: Channel = Channel.social, **metadata: Any) -> Message:
        """This turn as the pipeline's `Message` (raises if the text is blank, as Message does)."""
        extra = {"speaker": self.speaker} if self.speaker is not None else {}
        return Message(
            id=self.message_id,
            text=self.text,
            channel=channel,
            conversation_id=self.thread_id,
            author=self.author,
            timestamp=self.timestamp,
            metadata={**extra, **metadata},
        )


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation in time order. `tag` is the release's topic label, None when unlabelled."""

    thread_id: str
    source: str
    turns: tuple[ThreadMessage, ...]
    tag: str | None = None
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __len__(self) -> int:
        return len(self.turns)

    def __iter__(self) -> Iterator[ThreadMessage]:
        return iter(self.turns)

    @property
    def customer_turns(self) -> tuple[ThreadMessage, ...]:
        return tuple(t for t in self.turns if t.author is Author.customer)

    @property
    def agent_turns(self) -> tuple[ThreadMessage, ...]:
        return tuple(t for t in self.turns if t.author is Author.agent)

    @property
    def started_at(self) -> datetime | None:
        stamps = [t.timestamp for t in self.turns if t.timestamp is not None]
        return min(stamps) if stamps else None
