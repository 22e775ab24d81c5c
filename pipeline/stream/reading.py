"""Reading a batch's messages, in this process or in forked worker processes.

What the models say about a message on its own (its score, its turn logit, its topic, its
vulnerability disclosures) needs no conversation state, and it is most of a stream's work. So
batches can be read side by side in other processes while the stream folds the finished ones into
their conversations, in arrival order, and writes them: one stream then uses every core, and a
conversation's messages are still decided one at a time and in order.

The workers are forked from the process that built the stages, after the models are loaded: they
share those models copy-on-write and start in milliseconds, where loading them again would take
seconds (a minute where the vulnerability rules' regex cache is cold). They are forked before the stream
starts its own threads, and they touch nothing but the models: never a database connection, a
socket or a lock the parent holds. ONNX Runtime's thread pool does not survive a fork, so each
worker reopens a deep scorer's session as it starts (`DeepScorer.after_fork`).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError
from pipeline.schema import Author, Message, MessageScore, VulnerabilityFinding
from pipeline.scoring.base import ForkAware, Scorer, begin_scoring

if TYPE_CHECKING:
    from pipeline.conversation.forecast import Forecaster
    from pipeline.stream.runner import TopicTagger, VulnerabilityTagger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """A batch as its models read it: `trouble` per message, the rest per customer message, in order."""

    scores: list[MessageScore]
    trouble: list[float]
    topics: list[str | None]
    disclosed: list[list[VulnerabilityFinding]]


@dataclass(frozen=True)
class Readers:
    """The models that read one message at a time."""

    scorer: Scorer
    forecaster: Forecaster
    topics: TopicTagger | None = None
    vulnerability: VulnerabilityTagger | None = None

    def read(self, messages: Sequence[Message], scoring: Executor | None = None) -> Future[Reading]:
        """The batch read here; a staged scorer's slow stage left running on `scoring`, if given."""
        customer = [m for m in messages if m.author is Author.customer]
        texts = [m.text for m in customer]
        scores = begin_scoring(self.scorer, customer, scoring) if customer else None
        trouble = self.forecaster.trouble(messages)
        topics = self.topics.topics(texts) if self.topics and customer else [None] * len(customer)
        disclosed = self.vulnerability.findings(customer) if self.vulnerability and customer else [[] for _ in customer]
        reading: Future[Reading] = Future()

        def finish(done: Future[list[MessageScore]] | None) -> None:
            try:
                reading.set_result(Reading(done.result() if done else [], trouble, topics, disclosed))
            except BaseException as exc:  # the scoring thread's failure is the reading's
                reading.set_exception(exc)

        if scores is None:
            finish(None)
        else:
            scores.add_done_callback(finish)
        return reading


SETTING = "EARLYWARN_STREAM_READERS"
_INHERITED: Readers | None = None  # set in the parent just before the workers fork; theirs from then on


def _read_in_worker(messages: list[Message]) -> Reading:
    if _INHERITED is None:
        raise RuntimeError("a reading worker started without the parent's models: it must be forked")
    return _INHERITED.read(messages).result()


def _start_worker() -> None:
    """Whatever a fork does not carry over is rebuilt as the worker starts, not in its first batch
    (where opening an ONNX session, about 0.1 s, went into that batch's latency)."""
    if _INHERITED is not None and isinstance(_INHERITED.scorer, ForkAware):
        try:
            _INHERITED.scorer.after_fork()
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises plain Exceptions. An initializer that
            # raises leaves only a broken pool, the reason lost; the first batch retries and fails with it
            log.warning("a reading worker could not reopen its scorer as it started (%s); its first batch retries", exc)


def _ready() -> None:
    """Nothing: the task that makes the pool fork its workers."""


class ReadingPool:
    """Worker processes that read batches; at most `workers` batches are read at once."""

    def __init__(self, readers: Readers, workers: int) -> None:
        global _INHERITED
        if workers < 1:
            raise ConfigError(SETTING, f"{workers} reading workers: give 1 or more (0 reads in the stream's own "
                              "process and needs no pool)")
        if "fork" not in multiprocessing.get_all_start_methods():
            raise ConfigError(SETTING, "reading workers are forked, to share the loaded models, and this platform "
                              "cannot fork: set it to 0")
        _INHERITED = readers
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the deep tokenizer's threads do not survive a fork
        gc.collect()
        gc.freeze()  # the loaded models leave the collector's lists: a collection in a worker copies fewer pages
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_start_worker)
        self._pool.submit(_ready).result()  # the first task forks every worker: now, before the stream's threads

    def read(self, messages: Sequence[Message]) -> Future[Reading]:
        return self._pool.submit(_read_in_worker, list(messages))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
