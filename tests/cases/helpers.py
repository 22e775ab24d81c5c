"""Small builders for tracker tests: real requests, written once."""

from __future__ import annotations

from decimal import Decimal

from pipeline.cases.authority import Role
from pipeline.cases.contracts import Actor, CaseCreate, OptionRequest, TransitionRequest
from pipeline.cases.service import CaseService
from pipeline.schema import Channel


def users(service: CaseService) -> dict[Role, Actor]:
    """One user per role, named after it."""
    for role in Role:
        service.add_user(role.value, role)
    return {role: service.actor(role.value) for role in Role}


def new_complaint(service: CaseService, actor: Actor, **fields) -> int:
    body = {"summary": "refund promised twice and still not paid", "channel": Channel.email, "stage": "received",
            **fields}
    return service.create_case(actor, CaseCreate(**body)).id


def option(redress: str = "0", **fields) -> OptionRequest:
    body = dict(description="refund the fee and apologise", customer_benefits="money back quickly",
                customer_drawbacks="no compensation for time lost", organisation_benefits="keeps the customer",
                organisation_drawbacks="cost of the fee", risk="low", risk_notes="sets no precedent",
                redress=Decimal(redress))
    return OptionRequest(**{**body, **fields})


def walk(service: CaseService, actor: Actor, case_id: int, *steps: tuple[str, dict]) -> None:
    for action, fields in steps:
        service.transition(actor, case_id, TransitionRequest(action=action, **fields))


TO_FINDINGS = (
    ("acknowledge", {}),
    ("confirm_details", {"note": "refund of the £35 fee, promised on 2 Nov and 9 Nov"}),
    ("investigate", {}),
)
