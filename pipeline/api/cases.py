"""The case REST API: every route authenticates, every mutation is authorised by the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from pipeline.api.auth import Cases, CurrentActor
from pipeline.api.errors import error_body
from pipeline.cases.authority import Role
from pipeline.cases.contracts import (
    CaseCreate,
    CaseSummary,
    CaseView,
    ChainReport,
    CommunicationRequest,
    EscalationRequest,
    EventView,
    FeedbackRequest,
    NoteRequest,
    OptionRequest,
    PauseRequest,
    TransitionRequest,
    UserCreate,
    VulnerabilityMarker,
)
from pipeline.cases.letters import (
    LetterFactMissing,
    LetterIncomplete,
    LetterInputs,
    LetterOffer,
    LetterRequest,
    LetterResult,
    compose_letter,
    deliver,
    offers,
)
from pipeline.cases.lifecycle import TRANSITIONS, Stage
from pipeline.config import get_settings

router = APIRouter(tags=["cases"])

# Routes are `async def` and call the service directly: each call is a few milliseconds of Python
# holding the interpreter lock anyway, and a thread hand-off per call cost more than it freed. Scale
# with `earlywarn serve --workers N` (one process per core), not with threads.


@router.get("/cases", response_model=list[CaseSummary])
async def list_cases(
    cases: Cases,
    actor: CurrentActor,
    stage: Stage | None = None,
    assigned_role: Role | None = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    queue: Annotated[str | None, Query(max_length=64, description="the team queue routing chose")] = None,
) -> list[CaseSummary]:
    cases.require_read(actor)
    return cases.list_cases(stage, assigned_role, customer_id, open_only, limit, offset, queue)


@router.post("/cases", response_model=CaseView, status_code=201)
async def create_case(cases: Cases, actor: CurrentActor, body: CaseCreate) -> CaseView:
    return cases.create_case(actor, body)


@router.get("/cases/{case_id}", response_model=CaseView)
async def read_case(cases: Cases, actor: CurrentActor, case_id: int) -> CaseView:
    cases.require_read(actor)
    return cases.get_case(case_id)


@router.get("/cases/{case_id}/events", response_model=list[EventView])
async def case_events(cases: Cases, actor: CurrentActor, case_id: int) -> list[EventView]:
    cases.require_read(actor)
    return cases.events(case_id)


@router.get("/cases/{case_id}/vulnerability", response_model=list[VulnerabilityMarker])
async def case_vulnerability(cases: Cases, actor: CurrentActor, case_id: int) -> list[VulnerabilityMarker]:
    """The case's FG21/1 markers: 403 for a role the policy does not let see special-category data."""
    return cases.vulnerability(actor, case_id)


@router.post("/cases/{case_id}/transitions", response_model=CaseView)
async def transition(cases: Cases, actor: CurrentActor, case_id: int, body: TransitionRequest) -> CaseView:
    return cases.transition(actor, case_id, body)


@router.post("/cases/{case_id}/escalations", response_model=CaseView)
async def escalate(cases: Cases, actor: CurrentActor, case_id: int, body: EscalationRequest) -> CaseView:
    return cases.escalate(actor, case_id, body)


@router.post("/cases/{case_id}/notes", response_model=CaseView)
async def add_note(cases: Cases, actor: CurrentActor, case_id: int, body: NoteRequest) -> CaseView:
    return cases.add_note(actor, case_id, body)


@router.post("/cases/{case_id}/communications", response_model=CaseView)
async def add_communication(cases: Cases, actor: CurrentActor, case_id: int, body: CommunicationRequest) -> CaseView:
    return cases.add_communication(actor, case_id, body)


@router.get("/cases/{case_id}/letters", response_model=list[LetterOffer], tags=["letters"])
async def letter_kinds(cases: Cases, actor: CurrentActor, case_id: int) -> list[LetterOffer]:
    """The letters that make sense for the case now, with their channels and required elements."""
    cases.require_read(actor)
    return offers(cases.get_case(case_id), cases.profiles, get_settings())


@router.post("/cases/{case_id}/letters", response_model=LetterResult, tags=["letters"],
             responses={422: {"description": "refused: `error.missing` lists the missing elements or facts"}})
async def write_letter(cases: Cases, actor: CurrentActor, case_id: int, body: LetterRequest) -> Any:
    """Render a letter from the case's facts and check it against the profile; unless `preview`, send it
    (record it as a communication, which moves the clocks). A preview answers 200 with `letter.missing`."""
    cases.require_read(actor)
    inputs = LetterInputs.model_validate(body.model_dump(include=set(LetterInputs.model_fields)))
    try:
        letter = compose_letter(cases, case_id, body.kind, body.channel, get_settings(), handler=actor.username,
                                inputs=inputs, version=body.version)
        if body.preview:
            return LetterResult(letter=letter)
        case = deliver(cases, actor, letter)
    except (LetterIncomplete, LetterFactMissing) as exc:
        refused = error_body(exc.code, exc.field, str(exc))
        refused["error"]["missing"] = [m.model_dump() for m in exc.missing]  # type: ignore[index]
        return JSONResponse(refused, status_code=422)
    return LetterResult(letter=letter, communication=case.communications[-1], case=case)


@router.post("/cases/{case_id}/feedback", response_model=CaseView)
async def add_feedback(cases: Cases, actor: CurrentActor, case_id: int, body: FeedbackRequest) -> CaseView:
    return cases.add_feedback(actor, case_id, body)


@router.post("/cases/{case_id}/options", response_model=CaseView)
async def add_option(cases: Cases, actor: CurrentActor, case_id: int, body: OptionRequest) -> CaseView:
    return cases.add_option(actor, case_id, body)


@router.post("/cases/{case_id}/clocks", response_model=CaseView)
async def pause_or_resume(cases: Cases, actor: CurrentActor, case_id: int, body: PauseRequest) -> CaseView:
    return cases.set_paused(actor, case_id, body)


@router.get("/audit/verify", response_model=ChainReport)
async def verify(cases: Cases, actor: CurrentActor) -> ChainReport:
    cases.require_read(actor)
    return cases.verify()


@router.get("/lifecycle")
async def lifecycle(cases: Cases, actor: CurrentActor) -> list[dict[str, Any]]:
    """The transition table itself, so a client offers only the moves it allows."""
    cases.require_read(actor)
    return [{"from": t.source, "action": t.action, "to": t.target, "capability": t.capability,
             "requires": list(t.requires)} for t in TRANSITIONS]


@router.get("/profiles")
async def profiles(cases: Cases, actor: CurrentActor) -> dict[str, Any]:
    cases.require_read(actor)
    return {name: p.model_dump(mode="json") for name, p in cases.profiles.items()}


@router.post("/users", status_code=201, tags=["users"])
async def create_user(cases: Cases, actor: CurrentActor, body: UserCreate) -> dict[str, str]:
    """Add a user (admin); the token is shown once and only its hash is kept."""
    return {"username": body.username, "role": body.role.value, "token": cases.create_user(actor, body)}
