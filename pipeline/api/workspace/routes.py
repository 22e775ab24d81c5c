"""The workspace's pages: login, the queue, social triage, the case page with its action forms, and
the analytics dashboard."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from functools import cache
from threading import Lock
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from cachetools import TTLCache
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from pipeline.analytics.records import Period
from pipeline.analytics.report import Report, build_report, latest_drift

from pipeline.api.workspace.forms import (
    OPTION_FLAGS,
    FormRefused,
    fields_of,
    may_handle,
    offered_actions,
    validation_message,
)
from pipeline.api.workspace.render import countdown, highlight, queue_order, reach, trajectory
from pipeline.api.workspace.session import (
    CsrfRefused,
    LoginFailed,
    LoginRequired,
    check_csrf,
    csrf_token,
    current_actor,
    log_in,
    log_out,
)
from pipeline.cases.authority import Role
from pipeline.cases.contracts import (
    Actor,
    CaseView,
    CommunicationKind,
    CommunicationRequest,
    Direction,
    EscalationRequest,
    FeedbackConcern,
    FeedbackRequest,
    NoteRequest,
    OptionRequest,
    TransitionRequest,
)
from pipeline.cases.deescalation import load_suggestions, suggestions
from pipeline.cases.letters import Letter, LetterInputs, LetterRequest, compose_letter, offers, send_letter
from pipeline.cases.lifecycle import EscalationTarget, FindingOutcome, FindingSeverity, Stage, find_transition
from pipeline.cases.service import CaseService
from pipeline.errors import (
    AuthorityError,
    CaseError,
    CaseNotFoundError,
    IllegalTransitionError,
    VersionConflictError,
)
from pipeline.schema import Channel

HERE = Path(__file__).parent
SESSION_COOKIE = "earlywarn_session"
QUEUE_LIMIT = 500
FORM_MAX_FIELDS = 50  # the letter form, the largest, has about 15
FORM_MAX_PART_BYTES = 256 * 1024  # a 20,000-character field, percent-encoded, fits
SOCIAL_LIMIT = 100
REFUSAL_STATUS = {AuthorityError: 403, CaseNotFoundError: 404, IllegalTransitionError: 409, VersionConflictError: 409}

router = APIRouter(prefix="/workspace", include_in_schema=False)
templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(HERE / "templates"),  # the analytics sections are shared
                                jinja2.PackageLoader("pipeline.analytics", "templates")]),
    autoescape=True, undefined=jinja2.StrictUndefined))


def install(app: FastAPI, session_secret: str | None = None, https_only: bool = False) -> None:
    """Mount the pages, their static files and the signed session cookie on `app`.

    Without a secret a random one is made per process: sessions then end on restart and would not be
    shared between `--workers` (so `earlywarn serve` refuses several without one); set one in production.
    """
    app.include_router(router)
    app.mount("/workspace/static", StaticFiles(directory=HERE / "static"), name="workspace-static")
    app.add_middleware(SessionMiddleware, secret_key=session_secret or secrets.token_urlsafe(32),
                       session_cookie=SESSION_COOKIE, same_site="lax", https_only=https_only, max_age=8 * 3600)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/workspace/login?{urlencode({'next': exc.next_url})}", status_code=303)

    @app.exception_handler(FormRefused)
    async def _form_refused(request: Request, exc: FormRefused) -> Response:
        return _page(request, "error.html", status_code=400, title="Form refused", message=(
            f"{exc} Nothing was changed: send the form from the workspace page, and long evidence as several notes."))

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        return _page(request, "error.html", status_code=403, title="Form refused", message=(
            "the form did not carry this session's security token (CSRF), so nothing was changed. "
            "Reload the page and send the form again; if you signed in elsewhere since, sign in here again."))


def _cases(request: Request) -> CaseService:
    return request.app.state.cases


def _now(cases: CaseService) -> datetime:
    return cases.now()  # the service's own clock, so countdowns agree with the deadlines it computed


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("actor", None)
    return templates.TemplateResponse(request, name, {"csrf": csrf_token(request), **context},
                                      status_code=status_code)


async def _form(request: Request) -> Any:
    """The posted form, bounded before CSRF is checked (so before anyone is known): no files, a few
    fields, each no longer than the longest text a case accepts; more is refused with a page."""
    try:
        form = await request.form(max_files=0, max_fields=FORM_MAX_FIELDS, max_part_size=FORM_MAX_PART_BYTES)
    except HTTPException as exc:  # Starlette's answer to a form over those bounds
        raise FormRefused(str(exc.detail)) from None
    check_csrf(request, form.get("csrf"))
    return form


# --- login -------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/workspace") -> HTMLResponse:  # noqa: A002
    return _page(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    username, token = str(form.get("username") or ""), str(form.get("token") or "")
    target = _safe_next(str(form.get("next") or "/workspace"))
    try:
        log_in(request, _cases(request), username, token)
    except LoginFailed as exc:
        return _page(request, "login.html", status_code=401, next=target, error=str(exc), username=username)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    log_out(request)
    return RedirectResponse("/workspace/login", status_code=303)


def _safe_next(target: str) -> str:
    """Only paths inside the workspace: a login link cannot send the user off-site."""
    return target if target.startswith("/workspace") and "//" not in target else "/workspace"


# --- queue and social triage -------------------------------------------------------------------------


def _queue(request: Request, stage: str, assigned_role: str, queue: str = "") -> tuple[Actor, dict[str, Any]]:
    """The filtered queue; the filter form sends '' for 'any', so the filters arrive as plain strings."""
    actor = current_actor(request)
    cases = _cases(request)
    cases.require_read(actor)
    at = Stage(stage) if stage else None
    team = Role(assigned_role) if assigned_role else None
    rows = queue_order(cases.list_cases(at, team, open_only=True, limit=QUEUE_LIMIT, queue=queue or None,
                                        order="urgency"))
    full = len(rows) == QUEUE_LIMIT  # only then can there be more than were fetched
    more = cases.count_cases(at, team, open_only=True, queue=queue or None) - len(rows) if full else 0
    now = _now(cases)
    due = {c.id: countdown(c.next_deadline.due_at if c.next_deadline else None, now) for c in rows}
    poll = "/workspace/queue/rows" + (f"?{urlencode(q)}" if (q := {k: v for k, v in (
        ("stage", stage), ("assigned_role", assigned_role), ("queue", queue)) if v}) else "")
    return actor, {"rows": rows, "more": more, "due": due, "stage": at, "assigned_role": team, "poll": poll,
                   "queue": queue, "stages": [s for s in Stage if s.is_open], "roles": list(Role), "queues": cases.queues()}


def _filter_refused(request: Request, exc: ValueError) -> HTMLResponse:
    return _page(request, "error.html", status_code=422, actor=current_actor(request), title="Unknown filter",
                 message=f"{exc}: choose the stage and team from the lists on the queue page.")


@router.get("", response_class=HTMLResponse)
@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, stage: str = "", assigned_role: str = "", queue: str = "") -> HTMLResponse:
    try:
        actor, context = _queue(request, stage, assigned_role, queue)
    except ValueError as exc:
        return _filter_refused(request, exc)
    return _page(request, "queue.html", actor=actor, **context)


@router.get("/queue/rows", response_class=HTMLResponse)
async def queue_rows(request: Request, stage: str = "", assigned_role: str = "", queue: str = "") -> HTMLResponse:
    """The queue's table body alone: the page polls it so new flags appear without a reload."""
    try:
        actor, context = _queue(request, stage, assigned_role, queue)
    except ValueError as exc:
        return _filter_refused(request, exc)
    return _page(request, "_queue_rows.html", actor=actor, **context)


@router.get("/social", response_class=HTMLResponse)
async def social(request: Request) -> HTMLResponse:
    actor = current_actor(request)
    cases = _cases(request)
    cases.require_read(actor)
    social = Channel.social.value
    listed = queue_order(cases.list_cases(open_only=True, limit=QUEUE_LIMIT, channel=social, order="urgency"))
    views = [cases.get_case(c.id) for c in listed[:SOCIAL_LIMIT]]
    total = cases.count_cases(open_only=True, channel=social) if len(listed) == QUEUE_LIMIT else len(listed)
    more = total - len(views)
    now = _now(cases)
    due = {v.id: countdown(v.next_deadline.due_at if v.next_deadline else None, now) for v in views}
    return _page(request, "social.html", actor=actor, views=views, more=more, due=due,
                 reach={v.id: reach(v) for v in views}, replies={v.id: _suggested_reply(cases, v.id, actor) for v in views})


def _suggested_reply(cases: CaseService, case_id: int, actor: Actor) -> str | None:
    """The public reply the letters module would send: it moves the conversation to a private channel
    and carries no personal data or case details (checked), so triage can post it as it stands."""
    try:
        letter = compose_letter(cases, case_id, "public_reply", "social", handler=actor.username)
    except CaseError:
        return None
    return None if letter.missing else letter.body


# --- the case page -----------------------------------------------------------------------------------


def _case_page(request: Request, actor: Actor, case_id: int, error: str | None = None,
               status_code: int = 200, preview: Letter | None = None) -> HTMLResponse:
    cases = _cases(request)
    cases.require_read(actor)
    view = cases.get_case(case_id)
    now = _now(cases)
    actions = offered_actions(cases.policy, actor, view)
    return _page(request, "case.html", status_code=status_code, actor=actor, case=view, error=error,
                 events=cases.events(case_id), now=now, countdown=countdown, highlight=highlight, trajectory=trajectory,
                 actions=[(a, find_transition(view.stage, a).requires) for a in actions],
                 may_handle=may_handle(cases.policy, actor, view),
                 outcomes=list(FindingOutcome), severities=list(FindingSeverity), root_causes=cases.policy.root_causes,
                 channels=[c.value for c in Channel], directions=list(Direction), kinds=list(CommunicationKind),
                 concerns=list(FeedbackConcern), targets=list(EscalationTarget), currency=cases.policy.currency,
                 limit=_limit(cases, actor), letters=offers(view, cases.profiles) if view.stage.is_open else [],
                 preview=preview, vulnerability=_vulnerability(cases, actor, case_id),
                 suggestions=suggestions(view.messages, _suggestion_table()),
                 care_advice=_suggestion_table().get("vulnerability"))


def _vulnerability(cases: CaseService, actor: Actor, case_id: int) -> list[Any] | None:
    """The markers for roles allowed to see them; None (the section is not drawn at all) for others."""
    try:
        return cases.vulnerability(actor, case_id)
    except AuthorityError:
        return None


@cache
def _suggestion_table() -> dict[str, str]:
    from pipeline.config import get_settings

    return load_suggestions(get_settings().cases_deescalation)


def _limit(cases: CaseService, actor: Actor) -> str | None:
    return str(cases.policy.limits(Role(actor.role)).max_redress) if actor.role in Role.__members__ else None


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: int) -> HTMLResponse:
    actor = current_actor(request)
    try:
        return _case_page(request, actor, case_id)
    except CaseNotFoundError as exc:
        return _page(request, "error.html", status_code=404, actor=actor, title="No such case", message=str(exc))


async def _post(request: Request, case_id: int, model: type[BaseModel], call: str,
                checkboxes: tuple[str, ...] = ()) -> Response:
    """Check the form, build the request, call the service; a refusal re-renders the page saying why."""
    actor = current_actor(request)
    form = await _form(request)
    cases = _cases(request)
    try:
        body = model.model_validate(fields_of(form, model, checkboxes))
        getattr(cases, call)(actor, case_id, body)
    except (ValidationError, CaseError) as exc:
        return _refused(request, actor, case_id, exc)
    return RedirectResponse(f"/workspace/cases/{case_id}", status_code=303)


def _refused(request: Request, actor: Actor, case_id: int, exc: ValidationError | CaseError) -> HTMLResponse:
    """The case page again, saying why nothing was done (a case that does not exist gets the error page)."""
    if isinstance(exc, ValidationError):
        return _case_page(request, actor, case_id, validation_message(exc), 422)
    if isinstance(exc, CaseNotFoundError):
        return _page(request, "error.html", status_code=404, actor=actor, title="No such case", message=str(exc))
    status = next((code for cls, code in REFUSAL_STATUS.items() if isinstance(exc, cls)), 422)
    return _case_page(request, actor, case_id, str(exc), status)


@router.post("/cases/{case_id}/act")
async def act(request: Request, case_id: int) -> Response:
    return await _post(request, case_id, TransitionRequest, "transition")


@router.post("/cases/{case_id}/options")
async def add_option(request: Request, case_id: int) -> Response:
    return await _post(request, case_id, OptionRequest, "add_option", OPTION_FLAGS)


@router.post("/cases/{case_id}/notes")
async def add_note(request: Request, case_id: int) -> Response:
    return await _post(request, case_id, NoteRequest, "add_note")


@router.post("/cases/{case_id}/feedback")
async def add_feedback(request: Request, case_id: int) -> Response:
    return await _post(request, case_id, FeedbackRequest, "add_feedback")


@router.post("/cases/{case_id}/escalations")
async def escalate(request: Request, case_id: int) -> Response:
    return await _post(request, case_id, EscalationRequest, "escalate", ("customer_requested",))


@router.post("/cases/{case_id}/communications")
async def add_communication(request: Request, case_id: int) -> Response:
    return await _post(request, case_id, CommunicationRequest, "add_communication")



@router.post("/cases/{case_id}/letters")
async def letter(request: Request, case_id: int) -> Response:
    """Preview (render and check, record nothing) or send a letter; a refusal names what is missing."""
    actor = current_actor(request)
    form = await _form(request)
    cases = _cases(request)
    try:
        body = LetterRequest.model_validate(fields_of(form, LetterRequest, ("preview",)))
        inputs = LetterInputs.model_validate(body.model_dump(include=set(LetterInputs.model_fields)))
        if body.preview:
            cases.require_read(actor)
            shown = compose_letter(cases, case_id, body.kind, body.channel, handler=actor.username, inputs=inputs)
            return _case_page(request, actor, case_id, preview=shown)
        send_letter(cases, actor, case_id, body.kind, body.channel, inputs=inputs, version=body.version)
    except (ValidationError, CaseError) as exc:
        return _refused(request, actor, case_id, exc)
    return RedirectResponse(f"/workspace/cases/{case_id}", status_code=303)


# --- analytics dashboard -----------------------------------------------------------------------------

ANALYTICS_YEARS = (2000, 2100)  # dates a report can compute on (outside: date and timestamp overflows)
ANALYTICS_MAX_DAYS = 731  # two years: longer asks for one page to chart a decade of cases
DASHBOARD_CACHE_SECONDS = 60  # a busy team reloading the page does not rebuild the report each time
_reports: TTLCache[tuple[str, date, date, bool], Report] = TTLCache(maxsize=32, ttl=DASHBOARD_CACHE_SECONDS)
_reports_lock = Lock()


@router.get("/analytics", response_class=HTMLResponse)
async def analytics(request: Request, start: str = Query("", alias="from"), end: str = Query("", alias="to"),
                    themes: bool = False) -> HTMLResponse:
    """The same report `earlywarn report` writes, for the period chosen on the page (four weeks by default)."""
    actor = current_actor(request)
    cases = _cases(request)
    cases.require_read(actor)
    try:
        period = _period(start, end, _now(cases).date())
    except ValueError as exc:
        return _page(request, "error.html", status_code=422, actor=actor, title="Unknown period", message=f"{exc}.")
    report = await run_in_threadpool(_report, cases, period, themes)
    return _page(request, "analytics.html", actor=actor, report=report.summary, charts=report.charts(),
                 start=period.start.isoformat(), end=period.end.isoformat(), themes=themes)


def _period(start: str, end: str, today: date) -> Period:
    """The chosen period (four weeks to today by default), no longer than a report is meant to cover."""
    last = _day("to", end) or today
    first = _day("from", start) or last - timedelta(days=27)
    period = Period(first, last)
    if period.days > ANALYTICS_MAX_DAYS:
        raise ValueError(f"'from' {first} to 'to' {last} is {period.days} days; the longest period is "
                         f"{ANALYTICS_MAX_DAYS} days (two years): move 'from' later or 'to' earlier")
    return period


def _day(name: str, text: str) -> date | None:
    """A date in the years a report can compute on (its history reaches weeks before the start)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"'{name}' is not a date ({exc}): give it as YYYY-MM-DD") from None
    if not ANALYTICS_YEARS[0] <= day.year <= ANALYTICS_YEARS[1]:
        raise ValueError(f"'{name}' is {day}: choose a date from {ANALYTICS_YEARS[0]} to {ANALYTICS_YEARS[1]}")
    return day


def _report(cases: CaseService, period: Period, themes: bool) -> Report:
    key = (str(cases.engine.url), period.start, period.end, themes)
    with _reports_lock:
        cached = _reports.get(key)
    if cached is None:
        from pipeline.config import get_settings

        cached = build_report(cases.engine, cases.profiles, period, now=cases.now(), themes=themes,
                              embedder=_embedder() if themes else None, drift=latest_drift(get_settings()))
        with _reports_lock:
            _reports[key] = cached
    return cached


def _embedder() -> Any:
    """MiniLM loads once per server process, and only when someone asks for themes."""
    from pipeline.analytics.themes import default_embedder

    return default_embedder()
