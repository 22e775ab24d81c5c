"""The stream: from a source's batches to flags on cases, losing nothing.

One loop, pull-based: read a micro-batch (bounded by size and by wait), validate it (rejections go
to the dead-letter store), score the customer messages, fold every message into its conversation's
state, assess the risk, route what reached the flag level, file it on the conversation's case,
publish the flags whose level rose, and only then acknowledge the batch to the source. A crash
anywhere before the acknowledgement means redelivery, and every write downstream is idempotent
on message id, so redelivery duplicates nothing. At most three batches are unacknowledged at once
(one being written, one waiting to be decided, one being analysed; with N reading workers, N + 3),
and the loop waits on the writer before it takes more: a slow sink slows the reads, and the backlog
waits at the source (Redis keeps it).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from pipeline.cases.contracts import Intake
from pipeline.conversation.forecast import Forecaster
from pipeline.conversation.store import ConversationStore
from pipeline.ingest.deadletter import DeadLetterStore
from pipeline.ingest.sources.base import Envelope, Source, has_backlog
from pipeline.ingest.validate import Rejection, Validator
from pipeline.routing.rules import Route, RoutingInput, RoutingRules
from pipeline.schema import (
    Author,
    ConversationRisk,
    Flag,
    Message,
    MessageScore,
    RiskLevel,
    VulnerabilityFinding,
)
from pipeline.scoring.base import Scorer
from pipeline.signals.topic import COARSE, coarse_topic
from pipeline.stream.counters import StreamCounters
from pipeline.stream.reading import Readers, Reading, ReadingPool

log = logging.getLogger(__name__)


_ROUTING_TOPICS = frozenset(COARSE.values())


class CaseIntake(Protocol):
    def intake_many(self, flags: list[Flag]) -> list[Intake]: ...


class FlagPublisher(Protocol):
    """Where announced flags go besides the case (a Redis Stream for queues, a webhook)."""

    def publish(self, batch: list[tuple[str, Flag]]) -> object: ...


class TopicTagger(Protocol):
    def topics(self, texts: Sequence[str]) -> list[str | None]: ...


class VulnerabilityTagger(Protocol):
    def findings(self, messages: Sequence[Message]) -> list[list[VulnerabilityFinding]]: ...


@dataclass
class Stages:
    """Everything the stream composes; the factory in `pipeline.stream.assemble` builds it from settings."""

    validator: Validator
    dead_letters: DeadLetterStore
    scorer: Scorer
    conversations: ConversationStore
    forecaster: Forecaster
    router: RoutingRules
    cases: CaseIntake
    publishers: list[FlagPublisher] = field(default_factory=list)
    topics: TopicTagger | None = None
    vulnerability: VulnerabilityTagger | None = None
    pool: ReadingPool | None = None  # worker processes that read batches beside this one; None: read here

    @property
    def readers(self) -> Readers:
        return Readers(self.scorer, self.forecaster, self.topics, self.vulnerability)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def micro_batches(source: Source, max_batch: int, max_wait_s: float) -> Iterator[list[Envelope]]:
    """The source's batches joined up to `max_batch`, held no longer than `max_wait_s` after the first
    envelope arrived; a live source's empty batch (nothing within its wait) flushes what is held."""
    held: list[Envelope] = []
    first = 0.0
    for batch in source.batches(max_batch):
        if batch and not held:
            first = time.monotonic()
        held.extend(batch)
        if held and (not batch or len(held) >= max_batch or time.monotonic() - first >= max_wait_s):
            yield held
            held = []
        elif not batch:
            yield []  # let the caller refresh its counters while the source is quiet
    if held:
        yield held


@dataclass
class Analysed:
    """A batch validated, and being read by every model that needs no conversation state (on the scoring
    thread or in a reading worker). Folding it into the conversations, in arrival order, comes next."""

    delivery_ids: list[str]
    received: int
    rejections: list[Rejection]
    messages: list[tuple[Message, float]]
    reading: Future[Reading] | None  # None: no message was accepted


@dataclass
class Prepared:
    """A batch decided in memory (validated, scored, folded into state, routed), not yet written."""

    delivery_ids: list[str]
    received: int
    accepted: int
    rejections: list[Rejection]
    flags: list[Flag]
    announce: list[tuple[str, Flag]]
    arrived: dict[str, float]


class StreamRunner:
    """Under a backlog, several batches at once, each step in order: batch k+1 is analysed (validated,
    and read by the models) while batch k is still being read, then batch k is decided (folded into its
    conversations, routed), while batch k-1 is written. Reading happens on the scoring thread for a staged
    scorer's slow stage (the cascade's deep rescoring runs in ONNX Runtime, which releases the GIL) or,
    with a reading pool, wholly in worker processes, `workers + 1` batches at a time, so every core
    works. A batch is held back only when it is full and the source says the next one is already there
    (`has_backlog`); otherwise it is decided at once, so a burst's last batch never waits for new input.
    Decisions, writes and acknowledgements keep arrival order, with at most one batch being written."""

    def __init__(self, stages: Stages, counters: StreamCounters | None = None) -> None:
        self.stages = stages
        self.counters = counters or StreamCounters()

    def run(self, source: Source, max_batch: int = 256, max_wait_s: float = 0.05,
            on_batch: Callable[[StreamCounters], None] | None = None,
            checkpoint: Callable[[], None] | None = None, checkpoint_every_s: float = 30.0) -> StreamCounters:
        """`checkpoint` (saving the conversation states) is called only when every batch decided so far
        is written and acknowledged, so a snapshot never holds a message that could be redelivered
        (which would then be counted twice): every `checkpoint_every_s`, and at a clean end."""
        next_checkpoint = time.monotonic() + checkpoint_every_s
        with ThreadPoolExecutor(1, thread_name_prefix="earlywarn-writer") as writer, \
                ThreadPoolExecutor(1, thread_name_prefix="earlywarn-scorer") as scoring:
            in_flight: Future[None] | None = None
            waiting: deque[Analysed] = deque()  # analysed (maybe still being read), not yet decided
            depth = self.stages.pool.workers + 1 if self.stages.pool else 1  # a worker never waits for a batch
            for batch in micro_batches(source, max_batch, max_wait_s):
                if checkpoint is not None and time.monotonic() >= next_checkpoint:
                    # the waiting batches are in no conversation state yet, and are unacknowledged: the
                    # snapshot stays consistent without them
                    if in_flight is not None:
                        in_flight.result()
                        in_flight = None
                    checkpoint()
                    next_checkpoint = time.monotonic() + checkpoint_every_s
                if batch:
                    waiting.append(self.analyse(batch, scoring))
                while len(waiting) > depth:
                    in_flight = self._write(writer, source, in_flight, self.decide(waiting.popleft()))
                if not batch or len(batch) < max_batch or not has_backlog(source):
                    # nothing to overlap them with (a quiet source, a short batch, no backlog): holding
                    # them for the next arrival would only add latency
                    while waiting:
                        in_flight = self._write(writer, source, in_flight, self.decide(waiting.popleft()))
                lag = getattr(source, "lag", None)
                if callable(lag):
                    self.counters.lag = lag()
                if on_batch:
                    on_batch(self.counters)
            while waiting:
                in_flight = self._write(writer, source, in_flight, self.decide(waiting.popleft()))
            if in_flight is not None:
                in_flight.result()
        if checkpoint is not None:
            checkpoint()
        return self.counters

    def _write(self, writer: ThreadPoolExecutor, source: Source, in_flight: Future[None] | None,
               prepared: Prepared | None) -> Future[None] | None:
        """Wait for the batch being written, then hand the writer the next one (if any)."""
        if in_flight is not None:
            in_flight.result()  # a failed write stops the stream here, unacknowledged
        return writer.submit(self.commit, source, prepared) if prepared is not None else None

    def prepare(self, batch: list[Envelope]) -> Prepared:
        """One batch analysed and decided at once (no overlap with any other batch)."""
        return self.decide(self.analyse(batch))

    def analyse(self, batch: list[Envelope], scoring: Executor | None = None) -> Analysed:
        """Validation, then the models that read one message at a time (scores, turn model, topics,
        vulnerability): in a reading worker, or here with a staged scorer's slow stage left on `scoring`."""
        s = self.stages
        read_at = time.time()
        messages: list[tuple[Message, float]] = []
        rejections: list[Rejection] = []
        for envelope in batch:
            result = s.validator.validate(envelope.payload, source=envelope.source, default_id=envelope.default_id)
            if isinstance(result, Rejection):
                rejections.append(result)
            else:
                messages.append((result, envelope.ingested_at or read_at))
        accepted = [m for m, _ in messages]
        if not accepted:
            reading = None
        elif s.pool is not None:
            reading = s.pool.read(accepted)
        else:
            reading = s.readers.read(accepted, scoring)
        return Analysed(delivery_ids=[e.delivery_id for e in batch], received=len(batch), rejections=rejections,
                        messages=messages, reading=reading)

    def decide(self, batch: Analysed) -> Prepared:
        """The batch folded into its conversations in arrival order and routed: flags ready to write."""
        flags, announce, arrived = self._route(batch) if batch.messages else ([], [], {})
        return Prepared(batch.delivery_ids, batch.received, len(batch.messages), batch.rejections, flags, announce,
                        arrived)

    def commit(self, source: Source, batch: Prepared) -> None:
        s, c = self.stages, self.counters
        if batch.rejections:
            s.dead_letters.add_many(batch.rejections)
        intakes = s.cases.intake_many(batch.flags) if batch.flags else []
        failed_deliveries = 0
        for publisher in s.publishers:
            failed = publisher.publish(batch.announce)
            if isinstance(failed, list) and failed:  # a webhook that gave up: keep the flags for replay
                s.dead_letters.add_many([f.rejection() for f in failed])
                failed_deliveries += len(failed)
        source.ack(batch.delivery_ids)
        now = time.time()
        c.received += batch.received
        c.accepted += batch.accepted
        c.dead_lettered += len(batch.rejections) + failed_deliveries
        c.cases_opened += sum(i.created for i in intakes)
        c.cases_updated += sum(bool(i.added) and not i.created for i in intakes)
        for flag in batch.flags:
            c.flagged += len(flag.messages)
            c.latencies.extend(now - batch.arrived[m.id] for m in flag.messages)
        c.announced += len(batch.announce)
        c.batches += 1

    def _route(self, batch: Analysed) -> tuple[list[Flag], list[tuple[str, Flag]], dict[str, float]]:
        s = self.stages
        messages = batch.messages
        assert batch.reading is not None  # a batch with accepted messages is being read
        read = batch.reading.result()
        customer = [m.id for m, _ in messages if m.author is Author.customer]
        scores = dict(zip(customer, read.scores, strict=True))
        topics = dict(zip(customer, read.topics, strict=True))
        disclosed = dict(zip(customer, read.disclosed, strict=True))
        trouble = read.trouble
        flags: dict[str, Flag] = {}  # one flag per conversation per batch: its messages in order
        announce: list[tuple[str, Flag]] = []
        arrived: dict[str, float] = {}
        for (message, at), logit in zip(messages, trouble, strict=True):
            score = scores.get(message.id)
            state = s.conversations.update(message, score, logit)
            risk = s.forecaster.assess(state)
            found = disclosed.get(message.id, [])
            route = s.router.route(RoutingInput(message=message, score=score, risk=risk, topic=topics.get(message.id),
                                                vulnerability=frozenset(f.driver for f in found)))
            if route is None:
                continue
            held = flags.get(state.conversation_id)
            if held is not None and any(m.id == message.id for m in held.messages):
                continue  # the same id twice in one batch (duplicate check off): file it once
            flag = self._merge(held, message, score, risk, route, topics.get(message.id), found)
            flags[state.conversation_id] = flag
            arrived[message.id] = at
            if risk.level.rank > state.announced:
                state.announced = risk.level.rank
                announce.append((message.id, flag))
        return list(flags.values()), announce, arrived

    @staticmethod
    def _merge(flag: Flag | None, message: Message, score: MessageScore | None, risk: ConversationRisk,
               route: Route, topic: str | None, found: list[VulnerabilityFinding]) -> Flag:
        if flag is not None and RiskLevel(flag.risk_level).rank > risk.level.rank:
            route_fields = {"queue": flag.queue, "priority": flag.priority, "next_action": flag.next_action,
                            "rule": flag.rule}
            level, probability = flag.risk_level, flag.probability
        else:
            route_fields = {"queue": route.queue, "priority": route.priority, "next_action": route.next_action,
                            "rule": route.rule}
            level, probability = risk.level, risk.probability
        previous_messages = flag.messages if flag else []
        previous_scores = flag.scores if flag else []
        reasons = (flag.reasons if flag else []) + list(route.reasons)
        if topic is None:
            topic = flag.topic if flag else None
        elif topic not in _ROUTING_TOPICS:
            topic = coarse_topic(topic)  # cases keep the team's word (refunds), not the fine intent
        return Flag(conversation_id=message.conversation_id, customer_id=message.customer_id, channel=message.channel,
                    risk_level=level, probability=probability, reasons=reasons[-20:], topic=topic,
                    vulnerability=[*(flag.vulnerability if flag else []), *found][-100:],
                    messages=[*previous_messages, message], scores=[*previous_scores, *([score] if score else [])],
                    **route_fields)
