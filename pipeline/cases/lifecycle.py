"""The complaint-handling lifecycle as data: one table of stage × action → stage.

The API, the CLI and the workspace all enforce this one table, and forms offer only the moves it
allows. Stages follow CU824 outcomes 1–2 and the NOS performance criteria: spot and prevent (1.1,
1.2), confirm the details (2.1), investigate (2.2), weigh options and their risk (2.3, 2.4),
report and offer (2.5), negotiate and agree within authority (NOS), implement and check
satisfaction (NOS), keep records (2.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.cases.authority import Capability
from pipeline.errors import IllegalTransitionError


class Stage(StrEnum):
    flagged = "flagged"  # early warning: dissatisfaction seen, not yet a complaint
    prevented = "prevented"  # resolved before it became a complaint (CU824 1.2)
    not_a_complaint = "not_a_complaint"  # a false alarm: a handler read it and saw no dissatisfaction
    received = "received"  # a complaint: the regulatory clocks start here
    acknowledged = "acknowledged"
    details_confirmed = "details_confirmed"
    investigating = "investigating"
    findings_recorded = "findings_recorded"
    options_assessed = "options_assessed"
    solution_offered = "solution_offered"
    accepted = "accepted"
    rejected = "rejected"
    negotiating = "negotiating"
    agreed = "agreed"
    implemented = "implemented"
    satisfaction_checked = "satisfaction_checked"
    closed = "closed"

    @property
    def is_open(self) -> bool:
        return self not in TERMINAL

    @property
    def is_complaint(self) -> bool:
        return self not in (Stage.flagged, Stage.prevented, Stage.not_a_complaint)


TERMINAL = frozenset({Stage.prevented, Stage.not_a_complaint, Stage.closed})


class Action(StrEnum):
    prevent = "prevent"
    dismiss = "dismiss"
    receive = "receive"
    acknowledge = "acknowledge"
    confirm_details = "confirm_details"
    investigate = "investigate"
    record_findings = "record_findings"
    assess_options = "assess_options"
    offer_solution = "offer_solution"
    accept = "accept"
    reject = "reject"
    negotiate = "negotiate"
    agree = "agree"
    implement = "implement"
    check_satisfaction = "check_satisfaction"
    close = "close"
    reopen = "reopen"


@dataclass(frozen=True)
class Transition:
    source: Stage
    action: Action
    target: Stage
    capability: Capability = Capability.handle
    requires: tuple[str, ...] = ()  # payload fields that must be given, checked before anything is written


S, A, C = Stage, Action, Capability

TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.flagged, A.prevent, S.prevented, requires=("note",)),
    # The flag was wrong: no dissatisfaction was expressed. The note says why; the retraining loop
    # learns from it (`pipeline.training.feedback`).
    Transition(S.flagged, A.dismiss, S.not_a_complaint, requires=("note",)),
    Transition(S.flagged, A.receive, S.received),
    Transition(S.received, A.acknowledge, S.acknowledged),
    Transition(S.acknowledged, A.confirm_details, S.details_confirmed, requires=("note",)),
    Transition(S.details_confirmed, A.investigate, S.investigating),
    Transition(S.investigating, A.record_findings, S.findings_recorded, requires=("outcome", "evidence")),
    Transition(S.findings_recorded, A.assess_options, S.options_assessed),
    # An unjustified complaint may be closed after the findings are reported, by a role allowed to.
    Transition(S.findings_recorded, A.close, S.closed, C.close_unjustified, requires=("root_cause", "note")),
    Transition(S.options_assessed, A.offer_solution, S.solution_offered, requires=("option_id",)),
    Transition(S.solution_offered, A.accept, S.accepted),
    Transition(S.solution_offered, A.reject, S.rejected, requires=("note",)),
    Transition(S.rejected, A.negotiate, S.negotiating),
    Transition(S.negotiating, A.offer_solution, S.solution_offered, requires=("option_id",)),
    Transition(S.negotiating, A.agree, S.agreed, requires=("option_id",)),
    Transition(S.accepted, A.implement, S.implemented, requires=("note",)),
    Transition(S.agreed, A.implement, S.implemented, requires=("note",)),
    Transition(S.implemented, A.check_satisfaction, S.satisfaction_checked, requires=("satisfied",)),
    Transition(S.satisfaction_checked, A.negotiate, S.negotiating),  # not satisfied: back to the table
    Transition(S.satisfaction_checked, A.close, S.closed, requires=("root_cause",)),
    # A complaint resolved by the end of the third business day closes on its summary resolution
    # communication (DISP 1.5), without walking the whole lifecycle.
    *(Transition(stage, A.close, S.closed, requires=("root_cause", "note"))
      for stage in (S.received, S.acknowledged, S.details_confirmed, S.investigating)),
    # No agreement: once the final response (or deadlock letter) has gone, naming the customer's right
    # to refer it to the ombudsman, the case closes unresolved (NOS: an independent third party).
    Transition(S.rejected, A.close, S.closed, requires=("root_cause", "note")),
    Transition(S.negotiating, A.close, S.closed, requires=("root_cause", "note")),
    Transition(S.closed, A.reopen, S.investigating, C.reopen, requires=("reason",)),
    Transition(S.prevented, A.reopen, S.flagged, C.reopen, requires=("reason",)),
    Transition(S.not_a_complaint, A.reopen, S.flagged, C.reopen, requires=("reason",)),
)

_BY_KEY: dict[tuple[Stage, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


def allowed_actions(stage: Stage) -> list[Action]:
    """The moves a form may offer from this stage, in lifecycle order."""
    return [t.action for t in TRANSITIONS if t.source == stage]


def find_transition(stage: Stage, action: Action) -> Transition:
    try:
        return _BY_KEY[(stage, action)]
    except KeyError:
        raise IllegalTransitionError(stage.value, action.value, [a.value for a in allowed_actions(stage)]) from None


class EscalationTarget(StrEnum):
    """Who a case goes up to (CU824 2.6, NOS: escalate to a specialist or an independent third party)."""

    team_leader = "team_leader"
    complaints_specialist = "complaints_specialist"
    senior_manager = "senior_manager"
    ombudsman = "ombudsman"  # independent third party: a referral, not an internal hand-over

    @property
    def rank(self) -> int:
        return list(EscalationTarget).index(self) + 1


class FindingOutcome(StrEnum):
    justified = "justified"
    partly_justified = "partly_justified"
    unjustified = "unjustified"


class FindingSeverity(StrEnum):
    """How serious the handler found the complaint, on the scale the complaint scorer is trained on
    (X-CI: Jin & Aletras 2021), so the finding is a severity label for retraining. A complaint has
    one of these four; "none" is the not-a-complaint exit."""

    no_explicit_reproach = "no_explicit_reproach"
    disapproval = "disapproval"
    accusation = "accusation"
    blame = "blame"
