"""The one interface every scorer honours, so the fast model, the deep model and the cascade
can replace one another anywhere in the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from typing import Protocol, runtime_checkable

from pipeline.schema import Message, MessageScore


@runtime_checkable
class Scorer(Protocol):
    name: str
    version: str

    def score(self, batch: Sequence[Message]) -> list[MessageScore]:
        """One score per message, in the order given."""
        ...


@runtime_checkable
class StagedScorer(Scorer, Protocol):
    """A scorer whose slow stage can run on another thread while the caller does other work."""

    def begin(self, batch: Sequence[Message], executor: Executor) -> Future[list[MessageScore]]:
        """Whatever must run now, now; the rest on `executor`. The future holds `score(batch)`."""
        ...


@runtime_checkable
class ForkAware(Protocol):
    """A scorer holding something a fork does not carry over (an ONNX Runtime session's thread pool)."""

    def after_fork(self) -> None:
        """Rebuild it in this process, if this process is a fork of the one that built it."""
        ...


def begin_scoring(scorer: Scorer, batch: Sequence[Message], executor: Executor | None) -> Future[list[MessageScore]]:
    """`scorer.score(batch)` as a future: staged where the scorer can be and an executor is given,
    else computed here (a finished future)."""
    if executor is not None and batch and isinstance(scorer, StagedScorer):
        return scorer.begin(batch, executor)
    return finished(scorer.score(batch))


def finished(scores: list[MessageScore]) -> Future[list[MessageScore]]:
    """Scores already computed, in the shape of a staged scorer's answer."""
    done: Future[list[MessageScore]] = Future()
    done.set_result(scores)
    return done
