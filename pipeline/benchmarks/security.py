"""Attempts every mutation the API offers without the right to make it, and counts what got through.

The acceptance figure is `succeeded == 0`: no unauthenticated request and no over-authority action
changes anything, and the audit log has not grown. Run with `earlywarn bench security`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pipeline.api.app import create_app
from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate, EscalationRequest, OptionRequest, TransitionRequest
from pipeline.cases.service import CaseService
from pipeline.cases.tables import EventRow, UserRow
from pipeline.schema import Channel


@dataclass(frozen=True)
class Attempt:
    kind: str  # unauthenticated | read_only_role | over_authority
    who: str
    method: str
    path: str
    body: dict[str, Any]


OPTION = dict(description="refund and goodwill", customer_benefits="money back", customer_drawbacks="none",
              organisation_benefits="retains customer", organisation_drawbacks="cost", risk="medium",
              risk_notes="precedent for similar cases")


def _seed(service: CaseService) -> dict[str, Any]:
    """Cases in the stages where authority matters, walked there by the roles allowed to."""
    tokens = {role: service.add_user(f"probe-{role.value}", role) for role in Role}
    agent, leader, senior = (service.actor(f"probe-{r.value}") for r in (Role.agent, Role.team_leader,
                                                                         Role.senior_manager))

    def complaint() -> int:
        case_id = service.create_case(agent, CaseCreate(summary="fees charged twice", channel=Channel.email,
                                                        stage="received")).id
        for action, extra in (("acknowledge", {}), ("confirm_details", {"note": "two fees"}), ("investigate", {})):
            service.transition(agent, case_id, TransitionRequest(action=action, **extra))
        return case_id

    offerable = complaint()
    service.transition(agent, offerable, TransitionRequest(action="record_findings", outcome="justified",
                                                           evidence="statement"))
    big = service.add_option(agent, offerable, OptionRequest(**OPTION, redress=Decimal("900"))).options[-1].id
    bent = service.add_option(agent, offerable, OptionRequest(**OPTION, adapts_policy=True,
                                                              policy_justification="bereavement")).options[-1].id
    service.transition(agent, offerable, TransitionRequest(action="assess_options"))
    unjustified = complaint()
    service.transition(agent, unjustified, TransitionRequest(action="record_findings", outcome="unjustified",
                                                             evidence="fee in the contract"))
    closed = complaint()
    service.transition(agent, closed, TransitionRequest(action="record_findings", outcome="unjustified",
                                                        evidence="fee in the contract"))
    service.transition(leader, closed, TransitionRequest(action="close", root_cause="customer_misunderstanding",
                                                         note="explained"))
    escalated = complaint()
    service.escalate(agent, escalated, EscalationRequest(target="senior_manager", reason="press enquiry"))
    del senior
    return {"tokens": tokens, "offerable": offerable, "big": big, "bent": bent, "unjustified": unjustified,
            "closed": closed, "escalated": escalated}


def _attempts(s: dict[str, Any]) -> list[Attempt]:
    c = s["offerable"]
    mutations = [
        ("POST", "/cases", {"summary": "x", "channel": "chat"}),
        ("POST", f"/cases/{c}/transitions", {"action": "offer_solution", "option_id": s["big"]}),
        ("POST", f"/cases/{c}/escalations", {"target": "team_leader", "reason": "x"}),
        ("POST", f"/cases/{c}/notes", {"note": "x"}),
        ("POST", f"/cases/{c}/communications", {"channel": "email", "direction": "outbound", "content": "x"}),
        ("POST", f"/cases/{c}/feedback", {"to_colleague": "x", "lesson": "x", "concerns": "process"}),
        ("POST", f"/cases/{c}/options", OPTION),
        ("POST", f"/cases/{c}/clocks", {"paused": True, "reason": "x"}),
        ("POST", "/users", {"username": "intruder", "role": "admin"}),
    ]
    out = []
    for method, path, body in mutations:
        for who in ("no token", "malformed token", "revoked-looking token"):
            out.append(Attempt("unauthenticated", who, method, path, body))
        if path != "/users":
            for role in (Role.analyst, Role.admin):
                out.append(Attempt("read_only_role", role.value, method, path, body))
    for role in (Role.agent, Role.team_leader, Role.complaints_specialist, Role.analyst):
        out.append(Attempt("over_authority", role.value, "POST", "/users", {"username": f"x{role.value}",
                                                                            "role": "admin"}))
    over = [
        (Role.agent, f"/cases/{c}/transitions", {"action": "offer_solution", "option_id": s["big"]}),
        (Role.team_leader, f"/cases/{c}/transitions", {"action": "offer_solution", "option_id": s["big"]}),
        (Role.team_leader, f"/cases/{c}/transitions", {"action": "offer_solution", "option_id": s["bent"]}),
        (Role.agent, f"/cases/{c}/transitions", {"action": "offer_solution", "option_id": s["bent"]}),
        (Role.agent, f"/cases/{s['unjustified']}/transitions",
         {"action": "close", "root_cause": "policy", "note": "x"}),
        (Role.agent, f"/cases/{c}/escalations", {"target": "ombudsman", "reason": "x"}),
        (Role.team_leader, f"/cases/{c}/escalations", {"target": "ombudsman", "reason": "x"}),
        (Role.agent, f"/cases/{s['closed']}/transitions", {"action": "reopen", "reason": "x"}),
        (Role.agent, f"/cases/{s['escalated']}/notes", {"note": "x"}),
        (Role.team_leader, f"/cases/{s['escalated']}/transitions", {"action": "record_findings",
                                                                   "outcome": "justified", "evidence": "x"}),
        (Role.complaints_specialist, f"/cases/{s['escalated']}/notes", {"note": "x"}),
    ]
    out += [Attempt("over_authority", role.value, "POST", path, body) for role, path, body in over]
    return out


def _headers(attempt: Attempt, tokens: dict[Role, str]) -> dict[str, str]:
    if attempt.who == "no token":
        return {}
    if attempt.who == "malformed token":
        return {"Authorization": "Token abc"}
    if attempt.who == "revoked-looking token":
        return {"Authorization": "Bearer " + "A" * 43}
    return {"Authorization": f"Bearer {tokens[Role(attempt.who)]}"}


def probe_security(service: CaseService) -> dict[str, Any]:
    seeded = _seed(service)
    with service.engine.connect() as conn:
        events_before = conn.scalar(select(func.count()).select_from(EventRow))
        users_before = conn.scalar(select(func.count()).select_from(UserRow))
    attempts = _attempts(seeded)
    statuses: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    succeeded = []
    with TestClient(create_app(service)) as client:
        for attempt in attempts:
            response = client.request(attempt.method, attempt.path, json=attempt.body,
                                      headers=_headers(attempt, seeded["tokens"]))
            statuses[str(response.status_code)] += 1
            by_kind[attempt.kind] += 1
            if response.is_success:
                succeeded.append(f"{attempt.who} {attempt.method} {attempt.path}")
    with service.engine.connect() as conn:
        events_after = conn.scalar(select(func.count()).select_from(EventRow))
        users_after = conn.scalar(select(func.count()).select_from(UserRow))
    return {
        "attempted": len(attempts),
        "succeeded": len(succeeded),
        "succeeded_requests": succeeded,
        "attempted_by_kind": dict(by_kind),
        "status_codes": dict(sorted(statuses.items())),
        "events_written": events_after - events_before,
        "users_created": users_after - users_before,
    }
