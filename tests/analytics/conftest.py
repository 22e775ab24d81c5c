"""A small dated case history, made through the real tracker, that the analytics tests count by hand.

November 2026 is the period. Cases, by when the complaint was received (Europe/London business days):
  1  Mon 2 Nov   closed by a summary resolution communication on Wed 4 Nov (within 3 business days)
  2  Tue 3 Nov   justified, £35 redress paid, final response on Fri 20 Nov (within 8 weeks), closed
               on Sat 21 Nov (billing_error, customer satisfied)
  3  Tue 1 Sep   unjustified, final response and closure on Tue 10 Nov (after 8 weeks: due end of
               Tue 27 Oct; root cause policy)
  4  Wed 25 Nov  still open at the end of the period
  5  Thu 15 Oct  still open at the end of the period
  6  Wed 2 Dec   after the period
  7  Thu 5 Nov   a flag (early warning) prevented on Fri 6 Nov, never a complaint
  8  Thu 5 Nov   a flag that became a complaint on Mon 9 Nov (escalated to a team leader)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from pipeline.cases.authority import Role
from pipeline.cases.contracts import (
    CaseCreate,
    CommunicationRequest,
    EscalationRequest,
    TransitionRequest,
)
from pipeline.cases.service import CaseService
from pipeline.schema import Channel
from tests.cases.helpers import TO_FINDINGS, option, users, walk


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class History:
    service: CaseService
    ids: dict[int, int]  # fixture number -> case id


def _letter(service: CaseService, actor, case_id: int, kind: str) -> None:
    service.add_communication(actor, case_id, CommunicationRequest(
        channel=Channel.email, direction="outbound", kind=kind, content=f"{kind.replace('_', ' ')} sent"))


@pytest.fixture
def history(case_service: CaseService, clock) -> History:
    service = case_service
    clock.now = at(8, 30)
    people = users(service)
    agent, leader = people[Role.agent], people[Role.team_leader]
    ids: dict[int, int] = {}

    def complaint(n: int, when: datetime, **fields) -> int:
        clock.now = when
        ids[n] = service.create_case(agent, CaseCreate(
            summary=f"complaint {n}", channel=fields.pop("channel", Channel.email), stage="received",
            received_at=when, customer_id=fields.pop("customer_id", f"customer-{n}"), **fields)).id
        return ids[n]

    complaint(3, at(9, 1), queue="billing", topic="fees")
    complaint(5, at(10, 15), queue="billing", topic="fees")
    complaint(1, at(11, 2), queue="cards", topic="cards", channel=Channel.chat)
    complaint(2, at(11, 3), queue="billing", topic="fees", customer_id="customer-repeat")

    clock.now = at(11, 4)
    _letter(service, agent, ids[1], "summary_resolution")

    clock.now = at(11, 5)
    for n in (7, 8):
        ids[n] = service.create_case(agent, CaseCreate(
            summary=f"flag {n}", channel=Channel.social, stage="flagged", queue="social", topic="transfers",
            customer_id="customer-repeat" if n == 8 else f"customer-{n}")).id
    clock.now = at(11, 6)
    walk(service, agent, ids[7], ("prevent", {"note": "explained the transfer delay; customer happy"}))
    clock.now = at(11, 9)
    walk(service, agent, ids[8], ("receive", {"note": "customer asked to complain"}))
    service.escalate(agent, ids[8], EscalationRequest(target="team_leader", reason="asked for a manager",
                                                      customer_requested=True))

    clock.now = at(11, 10)
    walk(service, agent, ids[3], *TO_FINDINGS, ("record_findings", {"outcome": "unjustified",
                                                                    "evidence": "fee agreed in the contract"}))
    _letter(service, agent, ids[3], "final_response")
    walk(service, leader, ids[3], ("close", {"root_cause": "policy", "note": "fee is in the signed contract"}))

    clock.now = at(11, 12)
    walk(service, agent, ids[2], *TO_FINDINGS, ("record_findings", {"outcome": "justified",
                                                                    "evidence": "fee charged in error"}))
    service.add_option(agent, ids[2], option("35.00", admits_liability=True))
    case = service.transition(agent, ids[2], TransitionRequest(action="assess_options"))
    walk(service, agent, ids[2], ("offer_solution", {"option_id": case.options[0].id}), ("accept", {}),
         ("implement", {"note": "refunded the fee"}))
    clock.now = at(11, 20)
    _letter(service, agent, ids[2], "final_response")
    clock.now = at(11, 21)
    walk(service, agent, ids[2], ("check_satisfaction", {"satisfied": True}), ("close", {"root_cause": "billing_error"}))

    complaint(4, at(11, 25), queue="cards", topic="cards")
    complaint(6, at(12, 2), queue="cards", topic="cards")
    return History(service=service, ids=ids)
