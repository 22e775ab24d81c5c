"""`earlywarn cases …` and `earlywarn users …`: the case tracker from the terminal.

The commands call the same service as the REST API, so the lifecycle table, authority limits and
audit log apply alike. The CLI acts as `--user` (or EARLYWARN_USER): whoever can run it can reach
the database, so it trusts the name but still applies that user's role.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from pipeline.cases.authority import Role
from pipeline.cases.contracts import (
    CaseCreate,
    CommunicationKind,
    CommunicationRequest,
    Direction,
    EscalationRequest,
    FeedbackConcern,
    FeedbackRequest,
    NoteRequest,
    OptionRequest,
    PauseRequest,
    TransitionRequest,
)
from pipeline.cases.lifecycle import Action, EscalationTarget, FindingOutcome, FindingSeverity, Stage
from pipeline.cases.service import CaseService
from pipeline.config import get_settings
from pipeline.console import err, print_json
from pipeline.errors import CaseInputError
from pipeline.schema import Channel, Flag

cases_app = typer.Typer(help="Work complaint cases: create, show, list, transition, escalate, note, verify.",
                        no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens (admin).", no_args_is_help=True)

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=StrEnum)
User = Annotated[str, typer.Option("--user", "-u", envvar="EARLYWARN_USER", help="who is acting (a user name)")]
Version = Annotated[int | None, typer.Option(help="the version you read; refused if the case changed since")]


@lru_cache(maxsize=1)
def _service() -> CaseService:
    return CaseService.from_settings(get_settings())


def _build(model: type[M], **fields: Any) -> M:
    """Options become the same request the API receives; a bad one names its option."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        fix = f"fix --{field.replace('_', '-')}" if field else "fix the option it names"  # a whole-request check
        raise CaseInputError(field or "options", first["msg"], f"{fix} and run the command again") from None


def _out(model: BaseModel | list[BaseModel]) -> None:
    if isinstance(model, list):
        print_json([m.model_dump(mode="json") for m in model])
    else:
        print_json(model.model_dump(mode="json"))


@cases_app.command("create")
def create(
    user: User,
    summary: Annotated[str | None, typer.Option(help="what the customer is unhappy about")] = None,
    channel: Annotated[Channel, typer.Option()] = Channel.chat,
    received: Annotated[bool, typer.Option("--received", help="a complaint now (clocks start), not a flag")] = False,
    received_at: Annotated[str | None, typer.Option(help="ISO 8601 time the complaint arrived")] = None,
    customer_id: Annotated[str | None, typer.Option()] = None,
    profile: Annotated[str | None, typer.Option(help="regulatory profile; the configured default if empty")] = None,
    from_flag: Annotated[Path | None, typer.Option(help="a Flag as JSON (what routing emits)")] = None,
) -> None:
    """Open a case, as a flag (early warning) or a received complaint."""
    svc = _service()
    if from_flag is not None:
        flag = Flag.model_validate_json(from_flag.read_text(encoding="utf-8"))
        request = CaseCreate.from_flag(flag, summary or f"flagged {flag.risk_level.value} risk on {flag.channel.value}",
                                       profile)
    else:
        request = _build(CaseCreate, summary=summary, channel=channel, customer_id=customer_id, profile=profile,
                         stage=Stage.received if received or received_at else Stage.flagged, received_at=received_at)
    _out(svc.create_case(svc.actor(user), request))


@cases_app.command("show")
def show(case_id: int) -> None:
    """A case with its deadlines, allowed moves, messages, options, communications and feedback."""
    _out(_service().get_case(case_id))


@cases_app.command("list")
def list_(
    stage: Annotated[Stage | None, typer.Option()] = None,
    assigned_role: Annotated[Role | None, typer.Option()] = None,
    open_only: Annotated[bool, typer.Option("--open", help="only cases still being worked")] = False,
    limit: int = 50,
    table: Annotated[bool, typer.Option(help="a table on stderr as well as JSON")] = False,
) -> None:
    """Cases, most recently changed first, each with its next deadline."""
    rows = _service().list_cases(stage, assigned_role, None, open_only, limit)
    _out(rows)
    if table:
        t = Table("id", "stage", "assigned", "next deadline", "due", "summary")
        for r in rows:
            d = r.next_deadline
            t.add_row(str(r.id), r.stage.value, r.assigned_role, d.clock if d else "", f"{d.due_at:%Y-%m-%d %H:%M}"
                      if d and d.due_at else "", r.summary[:60])
        err.print(t)


@cases_app.command("transition")
def transition(
    case_id: int,
    action: Action,
    user: User,
    note: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    outcome: Annotated[FindingOutcome | None, typer.Option()] = None,
    evidence: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[FindingSeverity | None, typer.Option(help="record_findings: how serious it was")] = None,
    option_id: Annotated[int | None, typer.Option()] = None,
    satisfied: Annotated[bool | None, typer.Option("--satisfied/--not-satisfied")] = None,
    root_cause: Annotated[str | None, typer.Option()] = None,
    received_at: Annotated[str | None, typer.Option(
        help="receive: when the complaint arrived, ISO 8601 with an offset (default now)")] = None,
    version: Version = None,
) -> None:
    """Move a case one step through the lifecycle."""
    svc = _service()
    request = _build(TransitionRequest, action=action, note=note, reason=reason, outcome=outcome, evidence=evidence,
                     severity=severity, option_id=option_id, satisfied=satisfied, root_cause=root_cause,
                     received_at=received_at, version=version)
    _out(svc.transition(svc.actor(user), case_id, request))


@cases_app.command("escalate")
def escalate(
    case_id: int,
    target: EscalationTarget,
    user: User,
    reason: Annotated[str, typer.Option(help="why it goes up; always recorded")],
    customer_requested: Annotated[bool, typer.Option(help="the customer asked for it")] = False,
    version: Version = None,
) -> None:
    """Escalate to a team leader, complaints specialist, senior manager or the ombudsman."""
    svc = _service()
    request = _build(EscalationRequest, target=target, reason=reason, customer_requested=customer_requested,
                     version=version)
    _out(svc.escalate(svc.actor(user), case_id, request))


@cases_app.command("note")
def note(case_id: int, text: str, user: User, version: Version = None) -> None:
    """Add a note to the case record."""
    svc = _service()
    _out(svc.add_note(svc.actor(user), case_id, _build(NoteRequest, note=text, version=version)))


@cases_app.command("communicate")
def communicate(
    case_id: int,
    user: User,
    content: Annotated[str, typer.Option()],
    channel: Annotated[Channel, typer.Option()] = Channel.email,
    direction: Annotated[Direction, typer.Option()] = Direction.outbound,
    kind: Annotated[CommunicationKind, typer.Option()] = CommunicationKind.update,
    version: Version = None,
) -> None:
    """Record contact with the customer (a final response or deadlock letter stops the clocks)."""
    svc = _service()
    request = _build(CommunicationRequest, channel=channel, direction=direction, kind=kind, content=content,
                     version=version)
    _out(svc.add_communication(svc.actor(user), case_id, request))


@cases_app.command("letter")
def letter(
    case_id: int,
    user: User,
    kind: Annotated[str, typer.Option(help="acknowledgement, summary-resolution, holding-response, final-response, "
                                      "deadlock-letter, company-response or public-reply")],
    channel: Annotated[str, typer.Option(help="email, letter (formal, printed) or social (public replies)")] = "email",
    preview: Annotated[bool, typer.Option("--preview", help="render and check it; record nothing")] = False,
    expected_by: Annotated[str | None, typer.Option(help="holding response: the date (YYYY-MM-DD) the final "
                                                    "response will be sent by")] = None,
    delay_reason: Annotated[str | None, typer.Option(help="holding response: why it is not ready yet")] = None,
    waive_time_limits: Annotated[bool | None, typer.Option(
        "--waive-time-limits/--no-waive-time-limits", help="FCA: consent to a late ombudsman referral (default: "
        "the profile's standing position)")] = None,
    note: Annotated[str | None, typer.Option(help="a paragraph of your own (a public reply's opening)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the letter, and once sent the case, as JSON")] = False,
    version: Version = None,
) -> None:
    """Write a customer letter from the case's facts, check it against the profile's required content, and
    send it (record it on the case, which moves the clocks). Exits 1 if a preview lacks a required element."""
    from pipeline.cases.letters import (
        LetterChannel,
        LetterInputs,
        LetterKind,
        LetterResult,
        compose_letter,
        deliver,
    )

    svc = _service()
    actor = svc.actor(user)
    svc.require_read(actor)
    kind_, channel_ = _choice(LetterKind, kind, "kind"), _choice(LetterChannel, channel, "channel")
    inputs = _build(LetterInputs, expected_by=expected_by, delay_reason=delay_reason,
                    waive_time_limits=waive_time_limits, note=note)
    composed = compose_letter(svc, case_id, kind_, channel_, get_settings(), handler=actor.username, inputs=inputs,
                              version=version)
    result = LetterResult(letter=composed)
    if not preview:
        case = deliver(svc, actor, composed)
        result = LetterResult(letter=composed, communication=case.communications[-1], case=case)
    if as_json:
        _out(result)
    else:
        sys.stdout.write((f"Subject: {composed.subject}\n\n" if composed.subject else "") + composed.body)
    for gap in composed.missing:
        err.print(f"[red]missing {gap.element}[/red] ({gap.description}, {gap.rule}): {gap.problem}. {gap.fix}")
    if result.communication is not None:
        err.print(f"recorded as communication {result.communication.id} ({result.communication.kind}) on case "
                  f"{case_id}")
    elif composed.missing:
        raise typer.Exit(1)
    else:
        err.print("preview: complete, nothing recorded")


def _choice(enum: type[E], value: str, option: str) -> E:
    """An enum option that also takes hyphens (`final-response`)."""
    try:
        return enum(value.strip().lower().replace("-", "_"))
    except ValueError:
        choices = ", ".join(m.value.replace("_", "-") for m in enum)  # type: ignore[attr-defined]
        raise CaseInputError(option, f"'{value}' is not one", f"choose one of {choices}") from None


@cases_app.command("feedback")
def feedback(
    case_id: int,
    user: User,
    to: Annotated[str, typer.Option(help="the colleague or team")],
    lesson: Annotated[str, typer.Option()],
    concerns: Annotated[FeedbackConcern, typer.Option()],
    subject: Annotated[str | None, typer.Option(help="the process, course or policy")] = None,
    version: Version = None,
) -> None:
    """Pass a lesson to a colleague so the complaint is not repeated."""
    svc = _service()
    request = _build(FeedbackRequest, to_colleague=to, lesson=lesson, concerns=concerns, subject=subject,
                     version=version)
    _out(svc.add_feedback(svc.actor(user), case_id, request))


@cases_app.command("option")
def option(
    case_id: int,
    user: User,
    option_json: Annotated[str, typer.Argument(help="the option as JSON, or - to read it from stdin")],
) -> None:
    """Record a resolution option with its benefits, drawbacks, risk and cost (JSON, as POST /options)."""
    svc = _service()
    raw = sys.stdin.read() if option_json == "-" else option_json
    try:
        fields = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CaseInputError("option_json", f"not JSON ({exc.msg})", "pass a JSON object") from None
    _out(svc.add_option(svc.actor(user), case_id, _build(OptionRequest, **fields)))


@cases_app.command("pause")
def pause(case_id: int, user: User, reason: Annotated[str, typer.Option()], version: Version = None) -> None:
    """Pause the clocks the profile lets pause (e.g. waiting on the customer)."""
    svc = _service()
    _out(svc.set_paused(svc.actor(user), case_id, _build(PauseRequest, paused=True, reason=reason, version=version)))


@cases_app.command("resume")
def resume(case_id: int, user: User, reason: Annotated[str, typer.Option()], version: Version = None) -> None:
    """Restart paused clocks."""
    svc = _service()
    _out(svc.set_paused(svc.actor(user), case_id, _build(PauseRequest, paused=False, reason=reason, version=version)))


@cases_app.command("events")
def events(case_id: int) -> None:
    """The case's audit log, oldest first."""
    _out(_service().events(case_id))


@cases_app.command("verify")
def verify(case_id: Annotated[int | None, typer.Argument()] = None) -> None:
    """Recompute the audit hash chains; exit 1 if any event was edited or deleted."""
    report = _service().verify(case_id)
    _out(report)
    if not report.intact:
        err.print(f"[red]audit log tampered:[/red] {len(report.problems)} problem(s)")
        raise typer.Exit(1)


@cases_app.command("sweep")
def sweep() -> None:
    """Raise deadline warnings and breaches that are due (run it every few minutes)."""
    _out(_service().sweep())


@users_app.command("add")
def add_user(username: str, role: Annotated[Role, typer.Option()]) -> None:
    """Add a user; prints their API token once (only its hash is stored)."""
    token = _service().add_user(username, role)
    print_json({"username": username, "role": role.value, "token": token})


@users_app.command("token")
def rotate(username: str) -> None:
    """Issue a new API token; the old one stops working."""
    print_json({"username": username, "token": _service().rotate_token(username)})


@users_app.command("list")
def list_users() -> None:
    print_json(_service().list_users())
