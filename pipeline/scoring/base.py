"""The one interface every scorer honours, so the fast model, the deep model and the cascade
can replace one another anywhere in the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pipeline.schema import Message, MessageScore


@runtime_checkable
class Scorer(Protocol):
    name: str
    version: str

    def score(self, batch: Sequence[Message]) -> list[MessageScore]:
        """One score per message, in the order given."""
        ...
