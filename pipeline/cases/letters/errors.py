"""The two ways a letter is refused, each naming what is missing and how to supply it.

Codes continue the catalogue in `pipeline/errors.py` (E030 onwards is kept for letters). Both are
`CaseError`s, so the API answers 422 and the CLI exits 2 with the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from pipeline.errors import CaseError

if TYPE_CHECKING:
    from pipeline.cases.letters.requirements import MissingElement


class MissingFact(BaseModel):
    """A fact of the case the letter needs and the case does not have yet."""

    fact: str
    description: str
    step: str | None  # the lifecycle action that records it, where one does
    fix: str


class LetterFactMissing(CaseError):
    """The case lacks a fact the letter states: nothing is invented, so nothing is written."""

    code = "E030"

    def __init__(self, case_id: int, kind: str, missing: list[MissingFact]) -> None:
        self.missing = missing
        self.field = missing[0].fact if missing else None
        needs = "; ".join(f"{m.description} ({m.fact}): {m.fix}" for m in missing)
        super().__init__(f"cannot write the {kind.replace('_', ' ')} for case {case_id}: it needs {needs}.")


class LetterIncomplete(CaseError):
    """A rendered letter lacks an element its profile requires (or, for a public reply, breaks a rule)."""

    code = "E031"
    field = "template"

    def __init__(self, case_id: int, kind: str, channel: str, profile: str, missing: list[MissingElement]) -> None:
        self.missing = missing
        what = "; ".join(f"{m.element} ({m.description}, {m.rule}) {m.problem}. Fix: {m.fix}" for m in missing)
        super().__init__(f"the {kind.replace('_', ' ')} ({channel}) for case {case_id} does not meet the "
                         f"{profile} profile's requirements, so it was not sent: {what}.")
