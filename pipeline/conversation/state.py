"""The running state of one conversation, updated message by message from the message scores.

It keeps what a handler would watch for and nothing that grows with the conversation: counters,
an exponentially weighted level of dissatisfaction, its peak, and the last `WINDOW` customer
turns (message id, time, dissatisfaction, complaint probability, cue labels). Everything else is
derived from those on demand, so the state stays small (well under 2 KiB) however long the
conversation runs, and it round-trips through a plain dict for a restarted stream worker.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pipeline.schema import Author, CueLabel, Message, MessageScore

WINDOW = 6  # recent customer turns kept: enough for a trend, bounded for memory
MAX_CUES_PER_TURN = 4
EWMA_ALPHA = 0.5  # weight of the newest customer turn in the running level
REPEAT_GAP_S = 4 * 3600.0  # a customer writing again after this long with no reply has contacted again
RESOLVED_DROP = 0.1  # an agent reply "resolved" if the next customer turn is this much less dissatisfied


@dataclass(slots=True)
class CustomerTurn:
    message_id: str
    at: float  # seconds since the epoch; 0.0 when the message had no timestamp
    dissatisfaction: float
    complaint: float
    cues: tuple[str, ...]

    def as_list(self) -> list[object]:
        return [self.message_id, self.at, round(self.dissatisfaction, 4), round(self.complaint, 4), list(self.cues)]

    @classmethod
    def from_list(cls, raw: list[object]) -> CustomerTurn:
        message_id, at, dissatisfaction, complaint, cues = raw
        return cls(str(message_id), float(at), float(dissatisfaction), float(complaint),  # type: ignore[arg-type]
                   tuple(str(c) for c in cues))  # type: ignore[union-attr]


@dataclass(slots=True)
class ConversationState:
    conversation_id: str
    opened_at: float = 0.0
    updated_at: float = 0.0
    customer_turns: int = 0
    agent_turns: int = 0
    unanswered: int = 0  # customer messages since the organisation last replied
    waiting_since: float = 0.0  # when the oldest unanswered customer message arrived
    last_agent_at: float = 0.0
    unresolved_replies: int = 0  # agent replies after which the customer was no happier
    repeat_contacts: int = 0  # repeated-contact cues, and customer returns after a long silence
    level: float = 0.0  # EWMA of customer dissatisfaction
    peak: float = 0.0
    peak_id: str | None = None  # the customer message that set the peak
    complaints: int = 0  # customer turns the scorer decided were complaints
    first_complaint_id: str | None = None
    pending_reply: bool = False  # an agent reply whose effect the next customer turn will show
    dissatisfaction_before_reply: float = 0.0
    last_from_agent: bool = False
    last_agent_id: str | None = None
    agent_trouble: float = 0.0  # the turn model's logit for the last agent reply (0 before any)
    agent_trouble_peak: float = 0.0
    agent_trouble_peak_id: str | None = None
    customer_trouble: float = 0.0  # the turn model's logit for the last customer turn
    announced: int = 0  # the highest risk rank already announced to the queues (0: none)
    recent: deque[CustomerTurn] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def update(self, message: Message, score: MessageScore | None, trouble: float | None = None) -> None:
        """Fold one message in. Agent messages need no score; a customer message without one is counted
        (it is unanswered all the same) but moves no level. `trouble` is the turn model's logit, if any."""
        at = message.timestamp.timestamp() if message.timestamp else self.updated_at
        if not self.opened_at:
            self.opened_at = at
        agent = message.author is Author.agent
        if trouble is not None:
            if agent:
                self.agent_trouble = trouble
                if not self.agent_turns or trouble > self.agent_trouble_peak:
                    self.agent_trouble_peak, self.agent_trouble_peak_id = trouble, message.id
            else:
                self.customer_trouble = trouble
        if agent:
            self._agent(message.id, at)
        else:
            self._customer(message, score, at)
        self.last_from_agent = agent
        self.updated_at = max(self.updated_at, at)

    def _agent(self, message_id: str, at: float) -> None:
        self.agent_turns += 1
        self.last_agent_id = message_id
        if self.unanswered:
            self.pending_reply = True
            self.dissatisfaction_before_reply = self.recent[-1].dissatisfaction if self.recent else 0.0
        self.unanswered, self.waiting_since, self.last_agent_at = 0, 0.0, at

    def _customer(self, message: Message, score: MessageScore | None, at: float) -> None:
        silent_for = at - max(self.last_agent_at, self.recent[-1].at if self.recent else 0.0)
        if self.customer_turns and self.unanswered and at and silent_for >= REPEAT_GAP_S:
            self.repeat_contacts += 1
        self.customer_turns += 1
        self.unanswered += 1
        if self.unanswered == 1:
            self.waiting_since = at
        if score is None:
            return
        labels = tuple(dict.fromkeys(c.label.value for c in score.cues))[:MAX_CUES_PER_TURN]
        if CueLabel.repeated_contact.value in labels:
            self.repeat_contacts += 1
        if self.pending_reply:
            if score.dissatisfaction > self.dissatisfaction_before_reply - RESOLVED_DROP:
                self.unresolved_replies += 1
            self.pending_reply = False
        d = score.dissatisfaction
        self.level = d if self.customer_turns == 1 else EWMA_ALPHA * d + (1 - EWMA_ALPHA) * self.level
        if d > self.peak or self.peak_id is None:
            self.peak, self.peak_id = d, message.id
        if score.is_complaint:
            self.complaints += 1
            self.first_complaint_id = self.first_complaint_id or message.id
        self.recent.append(CustomerTurn(message.id, at, d, score.complaint_probability, labels))

    # --- derived readings -------------------------------------------------------------------------

    def trend(self) -> float:
        """Least-squares slope of dissatisfaction over the recent customer turns, per turn."""
        n = len(self.recent)
        if n < 2:
            return 0.0
        mean_x = (n - 1) / 2
        values = [t.dissatisfaction for t in self.recent]
        mean_y = sum(values) / n
        covariance = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
        return covariance / sum((i - mean_x) ** 2 for i in range(n))

    def waiting_seconds(self, now: float) -> float:
        """How long the oldest unanswered customer message has waited for the organisation."""
        return max(0.0, now - self.waiting_since) if self.unanswered and self.waiting_since else 0.0

    # --- persistence ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {name: getattr(self, name) for name in _SCALARS}
        out["recent"] = [t.as_list() for t in self.recent]
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> ConversationState:
        missing = [name for name in ("conversation_id", "recent") if name not in raw]
        if missing:
            raise ValueError(f"conversation state lacks {', '.join(missing)}: it was not written by to_dict()")
        state = cls(**{name: raw[name] for name in _SCALARS if name in raw})  # type: ignore[arg-type]
        state.recent.extend(CustomerTurn.from_list(t) for t in raw["recent"])  # type: ignore[union-attr]
        return state


_SCALARS = [name for name in ConversationState.__slots__ if name != "recent"]  # type: ignore[attr-defined]
