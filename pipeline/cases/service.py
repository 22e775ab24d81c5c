"""Every case operation as one transaction: check, change, record the event, or change nothing.

The API, the CLI and the workspace call only this. Each mutation re-reads the case, checks the
actor's authority and the lifecycle table, applies the change, appends a hash-chained event and
bumps the case's version; a concurrent writer gets `VersionConflictError` (HTTP 409), never a lost
update.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from threading import Lock
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from cachetools import TTLCache
from sqlalchemy import Engine, and_, bindparam, exists, func, inspect, select
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.exc import StaleDataError

from pipeline.cases.appends import append, write
from pipeline.cases.audit import GENESIS, ChainProblem, EventContent, StoredEvent, chain_hash, verify_case
from pipeline.cases.authority import AuthorityPolicy, Capability, Role
from pipeline.cases.clocks import (
    ClockKind,
    ClockStatus,
    Deadline,
    Milestone,
    Pause,
    RegulatoryProfile,
    evaluate,
    load_profiles,
)
from pipeline.cases.contracts import (
    Actor,
    Alert,
    CaseCreate,
    CaseMessage,
    CaseSummary,
    CaseView,
    ChainReport,
    CommunicationKind,
    CommunicationRequest,
    CommunicationView,
    Direction,
    EscalationRequest,
    EventView,
    FeedbackRequest,
    FeedbackView,
    Intake,
    VulnerabilityMarker,
    MessageView,
    NoteRequest,
    OptionRequest,
    OptionView,
    PauseRequest,
    TransitionRequest,
    UserCreate,
)
from pipeline.cases.lifecycle import (
    TERMINAL,
    Action,
    EscalationTarget,
    FindingOutcome,
    Stage,
    allowed_actions,
    find_transition,
)
from pipeline.cases.store import as_stored, make_engine, migrate, session_factory
from pipeline.cases.tables import (
    CaseMessageRow,
    CaseRow,
    CommunicationRow,
    ConversationCaseRow,
    EventRow,
    FeedbackRow,
    OptionRow,
    UserRow,
    VulnerabilityRow,
)
from pipeline.errors import (
    AuthorityError,
    AuthenticationError,
    CaseInputError,
    CaseNotFoundError,
    ConfigError,
    IllegalTransitionError,
    UnknownUserError,
    VersionConflictError,
)
from pipeline.schema import Author, Flag, RiskLevel, VulnerabilityFinding

SYSTEM = Actor(username="earlywarn", role="system")
#: flags a new message of the conversation sends back to the queue
SETTLED_FLAGS = frozenset({Stage.prevented.value, Stage.not_a_complaint.value})
#: every column stream intake may change on a case (`_save_cases` writes exactly these)
INTAKE_COLUMNS = frozenset({"stage", "risk_level", "priority", "queue", "topic", "flag_reasons", "milestones",
                            "head_hash", "event_count", "updated_at", "next_alert_at"})
MAX_FLAG_REASONS = 50  # a long conversation's case keeps its latest reasons, not every one it ever had
TOKEN_CACHE_SECONDS = 30.0  # how long another server process may still accept a rotated token
MILESTONE_KINDS = {
    CommunicationKind.summary_resolution: Milestone.summary_resolution,
    CommunicationKind.holding_response: Milestone.holding_response,
    CommunicationKind.final_response: Milestone.final_response,
    CommunicationKind.deadlock_letter: Milestone.deadlock_letter,
}
#: Stages a complaint may close from early, and the communication that must have gone first.
CLOSING_LETTERS: dict[Stage, tuple[Milestone, ...]] = {
    **dict.fromkeys((Stage.received, Stage.acknowledged, Stage.details_confirmed, Stage.investigating),
                    (Milestone.summary_resolution,)),
    **dict.fromkeys((Stage.rejected, Stage.negotiating), (Milestone.final_response, Milestone.deadlock_letter)),
}
OPTION_STAGES = frozenset({Stage.investigating, Stage.findings_recorded, Stage.options_assessed, Stage.rejected,
                           Stage.negotiating, Stage.satisfaction_checked})

Mutation = Callable[[Session, CaseRow, datetime], tuple[str, dict[str, Any], dict[str, Any], str | None]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _key(flag: Flag) -> str:
    """The conversation a flag belongs to, as the conversation store keys it."""
    return flag.conversation_id or flag.customer_id or flag.messages[0].id


def _summary_of(flag: Flag) -> str:
    """What a handler reads in the queue: the risk, where it came from, and the customer's own words."""
    said = next((m.text for m in flag.messages if m.author is Author.customer), flag.messages[0].text)
    words = " ".join(said.split())
    return f"{flag.risk_level.value} on {flag.channel.value} ({flag.queue}): \u201c{words[:160]}\u201d"


def _complaint_arrived(flag: Flag, now: datetime, backdate_limit: timedelta) -> datetime:
    """When the customer's message that made the flag a complaint arrived (its newest customer message),
    not when the stream got to it: a backlog or a dead-letter replay must not start the clocks late. A
    time older than `backdate_limit` is history being replayed (the demo's 2017 tweets), not a backlog."""
    sent = [m.timestamp for m in flag.messages if m.author is Author.customer and m.timestamp is not None]
    if not sent or max(sent) < now - backdate_limit:
        return now
    return min(max(sent), now)


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to keep them useless if the table leaks."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_fingerprint(digest: str) -> str:
    """A short hash of a token's stored hash: a session keeps it to notice a rotation, and it is of no
    use to anyone reading the (signed, not encrypted) cookie."""
    return hashlib.sha256(f"session:{digest}".encode()).hexdigest()[:16]


class CaseService:
    def __init__(
        self,
        engine: Engine,
        policy: AuthorityPolicy,
        profiles: dict[str, RegulatoryProfile],
        default_profile: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if default_profile not in profiles:
            raise ConfigError("EARLYWARN_CASES_PROFILE", f"unknown profile '{default_profile}'; choose one of "
                              f"{', '.join(profiles)}")
        self.engine, self.policy, self.profiles, self.default_profile = engine, policy, profiles, default_profile
        self._sessions = session_factory(engine)
        self._clock = clock
        self._tokens: TTLCache[str, Actor] = TTLCache(maxsize=10_000, ttl=TOKEN_CACHE_SECONDS)
        self._tokens_lock = Lock()
        self.vulnerability_retention = timedelta(days=90)  # markers kept this long after a case is settled
        self.backdate_limit = timedelta(days=14)  # a streamed complaint's own time starts its clocks if this recent

    @classmethod
    def from_settings(cls, settings: Any, url: str | None = None, clock: Callable[[], datetime] = utcnow) -> CaseService:
        engine = make_engine(url or settings.database_url)
        migrate(engine)
        service = cls(engine, AuthorityPolicy.load(settings.cases_policy), load_profiles(settings.cases_profiles),
                      settings.cases_profile, clock)
        service.vulnerability_retention = timedelta(days=settings.cases_vulnerability_retention_days)
        service.backdate_limit = timedelta(days=settings.cases_backdate_days)
        return service

    def now(self) -> datetime:
        """The service's clock: pages that show deadlines count down from the same time they were set by."""
        return self._clock()

    # --- users ------------------------------------------------------------------------------------

    def create_user(self, actor: Actor, request: UserCreate) -> str:
        """The API's way in: only a role that manages users may add one."""
        self._require(actor, Capability.manage_users, "add users")
        return self.add_user(request.username, request.role)

    def add_user(self, username: str, role: Role) -> str:
        """Create a user and return their API token; only its hash is stored, so show it once."""
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as s:
            if s.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
                raise CaseInputError("username", f"'{username}' already exists", "choose another name, or rotate "
                                     f"their token with `earlywarn users token {username}`")
            s.add(UserRow(username=username, role=role.value, token_hash=hash_token(token), active=True,
                          created_at=self._clock()))
        return token

    def rotate_token(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as s:
            user = s.scalar(select(UserRow).where(UserRow.username == username))
            if user is None:
                raise UnknownUserError(username)
            user.token_hash = hash_token(token)
        with self._tokens_lock:
            self._tokens.clear()
        return token

    def authenticate(self, token: str | None) -> Actor:
        """Checked on every request, so a known token is remembered briefly (rotation clears it here)."""
        if not token:
            raise AuthenticationError("no API token given")
        digest = hash_token(token)
        with self._tokens_lock:
            actor = self._tokens.get(digest)
        if actor is not None:
            return actor
        with self._sessions() as s:
            user = s.scalar(select(UserRow).where(UserRow.token_hash == digest, UserRow.active))
        if user is None:
            raise AuthenticationError("the API token is not valid (unknown, rotated or deactivated)")
        actor = Actor(username=user.username, role=Role(user.role))
        with self._tokens_lock:
            self._tokens[digest] = actor
        return actor

    def actor(self, username: str, fingerprint: str | None = None) -> Actor:
        """An active user; with `fingerprint` (a `token_fingerprint`), only while their token is still the
        one it was taken from, so a workspace session ends when the token is rotated."""
        with self._sessions() as s:
            user = s.scalar(select(UserRow).where(UserRow.username == username, UserRow.active))
        if user is None:
            raise UnknownUserError(username)
        if fingerprint is not None and not secrets.compare_digest(token_fingerprint(user.token_hash), fingerprint):
            raise AuthenticationError(f"the API token '{username}' signed in with has been rotated; sign in with "
                                      "the new one")
        return Actor(username=user.username, role=Role(user.role))

    def list_users(self) -> list[dict[str, Any]]:
        with self._sessions() as s:
            rows = s.scalars(select(UserRow).order_by(UserRow.username)).all()
        return [{"username": u.username, "role": u.role, "active": u.active, "created_at": u.created_at} for u in rows]

    # --- reading ----------------------------------------------------------------------------------

    def require_read(self, actor: Actor) -> None:
        self._require(actor, Capability.read, "read cases")

    def get_case(self, case_id: int) -> CaseView:
        with self._sessions() as s:
            return self._view(s, self._load(s, case_id), self._clock())

    def list_cases(
        self,
        stage: Stage | None = None,
        assigned_role: Role | None = None,
        customer_id: str | None = None,
        open_only: bool = False,
        limit: int = 50,
        offset: int = 0,
        queue: str | None = None,
        channel: str | None = None,
        order: Literal["updated", "urgency"] = "updated",
    ) -> list[CaseSummary]:
        """Cases matching every filter given. `order="urgency"` fetches the riskiest first, then the
        soonest alert, so a page that shows the top few never drops an untouched case about to breach."""
        ordering = _URGENCY if order == "urgency" else (CaseRow.updated_at.desc(), CaseRow.id.desc())
        query = (select(CaseRow).options(defer(CaseRow.flag_reasons), defer(CaseRow.alerts))  # not in a summary
                 .where(*_filters(stage, assigned_role, customer_id, open_only, queue, channel))
                 .order_by(*ordering).limit(limit).offset(offset))
        now = self._clock()
        with self._sessions() as s:
            return [self._summary(case, now) for case in s.scalars(query)]

    def count_cases(
        self,
        stage: Stage | None = None,
        assigned_role: Role | None = None,
        customer_id: str | None = None,
        open_only: bool = False,
        queue: str | None = None,
        channel: str | None = None,
    ) -> int:
        """How many cases `list_cases` would give with no limit: a page says how many it leaves out."""
        query = select(func.count(CaseRow.id)).where(*_filters(stage, assigned_role, customer_id, open_only,
                                                                queue, channel))
        with self._sessions() as s:
            return int(s.scalar(query) or 0)

    def queues(self) -> list[str]:
        """The queues routing has sent cases to, for a team's filter."""
        with self._sessions() as s:
            return sorted(q for q in s.scalars(select(CaseRow.queue).where(CaseRow.queue.is_not(None)).distinct()))

    def events(self, case_id: int) -> list[EventView]:
        with self._sessions() as s:
            self._load(s, case_id)
            rows = s.scalars(select(EventRow).where(EventRow.case_id == case_id).order_by(EventRow.seq))
            return [EventView(seq=e.seq, at=e.at, actor=e.actor, role=e.role, action=e.action, before=e.before,
                              after=e.after, note=e.note, hash=e.hash) for e in rows]

    def verify(self, case_id: int | None = None) -> ChainReport:
        """Recompute every case's hash chain; any edited, deleted or reordered event is reported."""
        problems: list[ChainProblem] = []
        cases = events = 0
        with self._sessions() as s:
            query = select(CaseRow.id).order_by(CaseRow.id)
            if case_id is not None:
                query = query.where(CaseRow.id == case_id)
            for cid in s.scalars(query).all():
                head, count, rows = self._settled_log(s, cid)
                stored = [StoredEvent(_content(e), e.prev_hash, e.hash) for e in rows]
                problems += verify_case(cid, stored, head, count)
                cases, events = cases + 1, events + len(rows)
        return ChainReport(cases_checked=cases, events_checked=events, intact=not problems,
                           problems=[p.__dict__ for p in problems])

    @staticmethod
    def _settled_log(s: Session, case_id: int, attempts: int = 5) -> tuple[str, int, Sequence[EventRow]]:
        """A case's head and its events as of one moment. Each statement may see a newer database (read
        committed), so the head is read before and after the events: the same head both times means no
        event was appended in between, and a live case is never reported as tampered with."""
        head = select(CaseRow.head_hash, CaseRow.event_count).where(CaseRow.id == case_id)
        before = s.execute(head).one()
        for _ in range(attempts):
            rows = s.scalars(select(EventRow).where(EventRow.case_id == case_id).order_by(EventRow.seq)).all()
            after = s.execute(head).one()
            if after == before:
                break
            before = after
        return before.head_hash, before.event_count, rows

    # --- creating ---------------------------------------------------------------------------------

    def create_case(self, actor: Actor, request: CaseCreate) -> CaseView:
        self._require(actor, Capability.handle, "open a case")
        now = self._clock()
        with self._write(None, None) as s:
            case = self._insert_case(s, actor, request, now)
            return self._view(s, case, now)

    def _insert_case(self, s: Session, actor: Actor, request: CaseCreate, now: datetime) -> CaseRow:
        case = self._case_row(actor, request, now)
        s.add(case)
        s.flush()
        self._open_case(s, case, actor, request, now)
        write(s)
        return case

    def _case_row(self, actor: Actor, request: CaseCreate, now: datetime) -> CaseRow:
        """A new case, not yet written (so a batch of them is one INSERT)."""
        profile = request.profile or self.default_profile
        if profile not in self.profiles:
            raise CaseInputError("profile", f"unknown regulatory profile '{profile}'",
                                 f"choose one of {', '.join(self.profiles)}")
        milestones = {}
        if request.stage is Stage.received:
            milestones[Milestone.received.value] = (request.received_at or now).isoformat()
        return CaseRow(
            version=1, stage=request.stage.value, profile=profile, channel=request.channel.value,
            customer_id=request.customer_id, conversation_id=request.conversation_id, summary=request.summary,
            risk_level=request.risk_level, queue=request.queue, topic=request.topic,
            priority=int(request.priority) if request.priority is not None else None,
            flag_reasons=request.reasons, assigned_role=Role.agent.value,
            owner=actor.username if actor.role != SYSTEM.role else None, escalation_requested_by_customer=False,
            liability_admitted=False, redress_paid=Decimal("0"), milestones=milestones, pauses=[], replies=[], alerts=[],
            head_hash=GENESIS, event_count=0, created_at=now, updated_at=now,
        )

    def _open_case(self, s: Session, case: CaseRow, actor: Actor, request: CaseCreate, now: datetime) -> None:
        """A written case's messages and its `create` event."""
        self._attach(s, case, request.messages, now)
        after = {"stage": case.stage, "profile": case.profile, "channel": case.channel, "summary": case.summary,
                 "risk_level": case.risk_level, **({"queue": case.queue, "priority": case.priority} if case.queue else {}),
                 **({"topic": case.topic} if case.topic else {}),
                 "messages": [i.message.id for i in request.messages],
                 "reasons": request.reasons,
                 **({"received_at": case.milestones["received"]} if "received" in case.milestones else {})}
        self._record(s, case, actor, "create", {}, after, None, now)
        self._schedule_alerts(case, now)

    @staticmethod
    def _attach(s: Session, case: CaseRow, messages: list[CaseMessage], now: datetime) -> None:
        for item in messages:
            m = item.message
            append(s, CaseMessageRow, case_id=case.id, message_id=m.id, channel=m.channel.value, author=m.author.value,
                   sent_at=m.timestamp, added_at=now, text=m.text,
                   score=item.score.to_output() if item.score else None)

    # --- stream intake ----------------------------------------------------------------------------

    def intake(self, flag: Flag, summary: str | None = None, attempts: int = 4) -> Intake:
        """File a flag from the stream: the conversation's open case gains the flag's new messages (one
        `flag` event), or a new case opens. Idempotent on message id, so a redelivered flag changes
        nothing; two workers racing on one conversation collide on its key and the loser retries."""
        key = _key(flag)
        for attempt in range(attempts):
            try:
                with self._sessions.begin() as s:
                    return self._intake(s, key, flag, summary)
            except (IntegrityError, StaleDataError, OperationalError) as exc:
                if attempt == attempts - 1 or (isinstance(exc, OperationalError) and "locked" not in str(exc).lower()):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def intake_many(self, flags: list[Flag]) -> list[Intake]:
        """File a batch of flags, one per conversation, in one transaction and a handful of statements
        (the cases, links and message ids read up front; new cases inserted together): a stream batch
        costs one commit, not one per conversation. If a racing worker collides on any of them, the
        batch is rolled back and filed flag by flag, which intake's idempotence makes safe."""
        keys = [_key(f) for f in flags]
        if len(set(keys)) == len(keys):
            try:
                with self._sessions.begin() as s:
                    return self._intake_batch(s, flags, keys)
            except (IntegrityError, StaleDataError, OperationalError) as exc:
                if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
                    raise
        return [self.intake(f) for f in flags]

    def _intake_batch(self, s: Session, flags: list[Flag], keys: list[str]) -> list[Intake]:
        now = self._clock()
        links = {row.conversation_key: row for row in s.scalars(  # locked: two workers cannot both reopen one
            select(ConversationCaseRow).where(ConversationCaseRow.conversation_key.in_(keys)).with_for_update())}
        case_ids = [link.case_id for link in links.values()]
        cases = {c.id: c for c in s.scalars(select(CaseRow).where(CaseRow.id.in_(case_ids)))} if case_ids else {}
        ids = [m.id for f in flags for m in f.messages]
        held_by_case: dict[int, set[str]] = {}
        if case_ids:
            for case_id, message_id in s.execute(select(CaseMessageRow.case_id, CaseMessageRow.message_id).where(
                    CaseMessageRow.case_id.in_(case_ids), CaseMessageRow.message_id.in_(ids))):
                held_by_case.setdefault(case_id, set()).add(message_id)
        opening: dict[int, tuple[CaseRow, CaseCreate]] = {}
        for n, (flag, key) in enumerate(zip(flags, keys, strict=True)):
            link = links.get(key)
            case = cases.get(link.case_id) if link else None
            if case is None or case.stage == Stage.closed.value:
                request = self._opening_request(flag, None)
                opening[n] = (self._case_row(SYSTEM, request, now), request)
        s.add_all([case for case, _ in opening.values()])
        s.flush()  # one INSERT for every new case, ids back
        results = []
        for n, (flag, key) in enumerate(zip(flags, keys, strict=True)):
            if n in opening:
                case, request = opening[n]
                self._open_case(s, case, SYSTEM, request, now)
                self._note_vulnerability(s, case, flag.vulnerability, now)
                if key in links:
                    links[key].case_id = case.id
                else:
                    append(s, ConversationCaseRow, conversation_key=key, case_id=case.id)
                results.append(Intake(case_id=case.id, created=True, added=[m.id for m in flag.messages],
                                      stage=Stage(case.stage)))
                continue
            case = cases[links[key].case_id]
            results.append(self._extend(s, case, flag, held_by_case.get(case.id, set()), now))
        _save_cases(s, [*cases.values(), *(case for case, _ in opening.values())])
        write(s)
        return results

    def _opening_request(self, flag: Flag, summary: str | None) -> CaseCreate:
        request = CaseCreate.from_flag(flag, summary or _summary_of(flag))
        if flag.risk_level is RiskLevel.complaint:  # a complaint from its first message
            request = request.model_copy(update={"stage": Stage.received,
                                                 "received_at": _complaint_arrived(
                                                     flag, self._clock(), self.backdate_limit)})
        return request

    def _intake(self, s: Session, key: str, flag: Flag, summary: str | None) -> Intake:
        now = self._clock()
        link = s.get(ConversationCaseRow, key, with_for_update=True)
        case = s.get(CaseRow, link.case_id) if link else None
        if case is None or case.stage == Stage.closed.value:
            case = self._insert_case(s, SYSTEM, self._opening_request(flag, summary), now)
            self._note_vulnerability(s, case, flag.vulnerability, now)
            if link:
                link.case_id = case.id
            else:
                append(s, ConversationCaseRow, conversation_key=key, case_id=case.id)
            write(s)
            return Intake(case_id=case.id, created=True, added=[m.id for m in flag.messages],
                          stage=Stage(case.stage))
        held = set(s.scalars(select(CaseMessageRow.message_id).where(
            CaseMessageRow.case_id == case.id, CaseMessageRow.message_id.in_([m.id for m in flag.messages]))))
        result = self._extend(s, case, flag, held, now)
        write(s)
        return result

    def _extend(self, s: Session, case: CaseRow, flag: Flag, held: set[str], now: datetime) -> Intake:
        """The flag's messages the case does not hold yet, added with one `flag` event (none if all held)."""
        scores = {sc.id: sc for sc in flag.scores}
        new = [CaseMessage(message=m, score=scores.get(m.id)) for m in flag.messages if m.id not in held]
        if not new:
            return Intake(case_id=case.id, created=False, added=[], stage=Stage(case.stage))
        self._attach(s, case, new, now)
        added = {i.message.id for i in new}
        self._note_vulnerability(s, case, [f for f in flag.vulnerability if f.message_id in added], now)
        before = {"stage": case.stage, "risk_level": case.risk_level}
        after: dict[str, Any] = {"messages": [i.message.id for i in new],
                                 "reasons": [r.model_dump(mode="json") for r in flag.reasons]}
        if case.risk_level is None or RiskLevel(case.risk_level).rank < flag.risk_level.rank:
            case.risk_level = after["risk_level"] = flag.risk_level.value
        if case.priority is None or int(flag.priority) < case.priority:  # more urgent: its queue takes the case
            case.priority, case.queue = int(flag.priority), flag.queue
            after.update(priority=case.priority, queue=case.queue)
        case.flag_reasons = (case.flag_reasons + after["reasons"])[-MAX_FLAG_REASONS:]
        if case.topic is None and flag.topic is not None:
            case.topic = after["topic"] = flag.topic
        if case.stage in SETTLED_FLAGS:  # dissatisfied again after it was settled or dismissed: back to the queue
            case.stage = after["stage"] = Stage.flagged.value
            after["reopened"] = True
        if flag.risk_level is RiskLevel.complaint and case.stage == Stage.flagged.value:
            case.stage = after["stage"] = Stage.received.value  # the early warning became a complaint
            received = _complaint_arrived(flag, now, self.backdate_limit).isoformat()
            case.milestones = {**case.milestones, Milestone.received.value: received}
            after["received_at"] = received
        self._record(s, case, SYSTEM, "flag", before, after, None, now)
        self._schedule_alerts(case, now)
        return Intake(case_id=case.id, created=False, added=after["messages"], stage=Stage(case.stage))

    def _note_vulnerability(self, s: Session, case: CaseRow, findings: Sequence[VulnerabilityFinding],
                            now: datetime) -> None:
        """Markers in their own table, never in the event log (which cannot forget); the first one
        starts the profile's care clock."""
        if not findings:
            return
        for f in findings:
            append(s, VulnerabilityRow, case_id=case.id, message_id=f.message_id, driver=f.driver, evidence=f.text,
                   start=f.start, end=f.end, weight=f.weight, explanation=f.explanation, at=now)
        if Milestone.vulnerability_noted.value not in case.milestones:
            case.milestones = {**case.milestones, Milestone.vulnerability_noted.value: now.isoformat()}
            self._schedule_alerts(case, now)

    def vulnerability(self, actor: Actor, case_id: int) -> list[VulnerabilityMarker]:
        """A case's markers, for the roles the policy lets see special-category data."""
        self._require(actor, Capability.view_vulnerability, "see a case's vulnerability markers")
        with self._sessions() as s:
            self._load(s, case_id)
            rows = s.scalars(select(VulnerabilityRow).where(VulnerabilityRow.case_id == case_id)
                             .order_by(VulnerabilityRow.id)).all()
            return [VulnerabilityMarker.model_validate(r, from_attributes=True) for r in rows]

    def vulnerable_cases(self, case_ids: Sequence[int] | None = None) -> int:
        """How many cases carry a marker: the only form analytics may use (a count)."""
        query = select(func.count(func.distinct(VulnerabilityRow.case_id)))
        if case_ids is not None:
            query = query.where(VulnerabilityRow.case_id.in_(case_ids))
        with self._sessions() as s:
            return int(s.scalar(query) or 0)

    def forget_vulnerability(self, retention: timedelta | None = None) -> int:
        """Delete the markers of cases settled (closed, prevented or dismissed) more than `retention` ago; the
        deadline sweep calls it, so retention needs no job of its own."""
        cutoff = self._clock() - (self.vulnerability_retention if retention is None else retention)
        with self._sessions.begin() as s:
            settled = select(CaseRow.id).where(CaseRow.stage.in_([stage.value for stage in TERMINAL]),
                                               CaseRow.updated_at < cutoff)
            result = s.execute(VulnerabilityRow.__table__.delete().where(VulnerabilityRow.case_id.in_(settled)))
            return int(result.rowcount or 0)

    # --- changing ---------------------------------------------------------------------------------

    def transition(self, actor: Actor, case_id: int, request: TransitionRequest) -> CaseView:
        def apply(s: Session, case: CaseRow, now: datetime) -> tuple[str, dict, dict, str | None]:
            stage = Stage(case.stage)
            move = find_transition(stage, request.action)
            self._require(actor, move.capability, f"{request.action.value.replace('_', ' ')} a case")
            for field in move.requires:
                if getattr(request, field) is None:
                    raise CaseInputError(field, f"is required to {request.action.value}",
                                         f"send '{field}' with the request")
            if request.received_at is not None and request.action is not Action.receive:
                raise CaseInputError("received_at", f"only dates a receive, not a {request.action.value}",
                                     "leave it out, or send it with action 'receive'")
            after: dict[str, Any] = {"stage": move.target.value}
            getattr(self, f"_on_{request.action.value}", _no_extra)(s, case, request, actor, now, after)
            case.stage = move.target.value
            return request.action.value, {"stage": stage.value}, after, request.note or request.reason

        return self._mutate(actor, case_id, request.version, apply)

    def escalate(self, actor: Actor, case_id: int, request: EscalationRequest) -> CaseView:
        def apply(s: Session, case: CaseRow, now: datetime) -> tuple[str, dict, dict, str | None]:
            stage = Stage(case.stage)
            if not stage.is_open:
                raise IllegalTransitionError(stage.value, "escalate", [a.value for a in allowed_actions(stage)])
            current = EscalationTarget(case.escalation) if case.escalation else None
            if current is not None and request.target.rank <= current.rank:
                raise CaseInputError("target", f"the case is already escalated to {current.value}",
                                     "escalate to a more senior level or refer it to the ombudsman")
            if request.target is EscalationTarget.ombudsman:
                self._require(actor, Capability.refer_third_party, "refer a case to an independent third party")
            before = {"escalation": case.escalation, "assigned_role": case.assigned_role}
            case.escalation = request.target.value
            if request.target is not EscalationTarget.ombudsman:
                case.assigned_role = request.target.value
            case.escalation_requested_by_customer |= request.customer_requested
            after = {"escalation": case.escalation, "assigned_role": case.assigned_role,
                     "customer_requested": request.customer_requested}
            return "escalate", before, after, request.reason

        return self._mutate(actor, case_id, request.version, apply)

    def add_note(self, actor: Actor, case_id: int, request: NoteRequest) -> CaseView:
        return self._mutate(actor, case_id, request.version, lambda s, c, now: ("note", {}, {}, request.note))

    def add_communication(self, actor: Actor, case_id: int, request: CommunicationRequest) -> CaseView:
        def apply(s: Session, case: CaseRow, now: datetime) -> tuple[str, dict, dict, str | None]:
            row = CommunicationRow(case_id=case.id, at=now, channel=request.channel.value,
                                   direction=request.direction.value, kind=request.kind.value,
                                   content=request.content, actor=actor.username)
            s.add(row)
            milestones = dict(case.milestones)
            if request.direction is Direction.outbound:
                case.replies = [*(case.replies or ()), now.isoformat()]
                milestones.setdefault(Milestone.first_response.value, now.isoformat())
                if request.kind in MILESTONE_KINDS:
                    milestones.setdefault(MILESTONE_KINDS[request.kind].value, now.isoformat())
            case.milestones = milestones
            after = {"channel": row.channel, "direction": row.direction, "kind": row.kind}
            return "communication", {}, after, request.content

        return self._mutate(actor, case_id, request.version, apply)

    def add_feedback(self, actor: Actor, case_id: int, request: FeedbackRequest) -> CaseView:
        def apply(s: Session, case: CaseRow, now: datetime) -> tuple[str, dict, dict, str | None]:
            s.add(FeedbackRow(case_id=case.id, at=now, actor=actor.username, to_colleague=request.to_colleague,
                              lesson=request.lesson, concerns=request.concerns.value, subject=request.subject))
            after = {"to_colleague": request.to_colleague, "concerns": request.concerns.value, "subject": request.subject}
            return "feedback", {}, after, request.lesson

        return self._mutate(actor, case_id, request.version, apply)

    def add_option(self, actor: Actor, case_id: int, request: OptionRequest) -> CaseView:
        def apply(s: Session, case: CaseRow, now: datetime) -> tuple[str, dict, dict, str | None]:
            stage = Stage(case.stage)
            if stage not in OPTION_STAGES:
                raise CaseInputError("stage", f"options are weighed after the investigation starts, not at '{stage}'",
                                     "move the case to investigating first")
            if request.adapts_policy and not request.policy_justification:
                raise CaseInputError("policy_justification", "is required when an option adapts policy",
                                     "write why the policy should bend for this customer; it is recorded")
            fields = request.model_dump(exclude={"version"})
            row = OptionRow(case_id=case.id, at=now, actor=actor.username, **fields)
            s.add(row)
            s.flush()
            after = {"option_id": row.id, **{k: str(v) if isinstance(v, Decimal) else v for k, v in fields.items()}}
            return "option", {}, after, None

        return self._mutate(actor, case_id, request.version, apply)

    def set_paused(self, actor: Actor, case_id: int, request: PauseRequest) -> CaseView:
        def apply(s: Session, case: CaseRow, now: datetime) -> tuple[str, dict, dict, str | None]:
            profile = self.profiles[case.profile]
            if not profile.pausable:
                raise CaseInputError("paused", f"the {profile.title} profile lets no clock pause",
                                     "its time limits run regardless; keep the customer informed instead")
            pauses = [list(p) for p in case.pauses]
            open_pause = bool(pauses) and pauses[-1][1] is None
            if request.paused == open_pause:
                raise CaseInputError("paused", f"the clocks are already {'paused' if open_pause else 'running'}",
                                     f"send paused={str(not open_pause).lower()}")
            if request.paused:
                pauses.append([now.isoformat(), None])
            else:
                pauses[-1][1] = now.isoformat()
            case.pauses = pauses
            return ("pause_clocks" if request.paused else "resume_clocks"), {}, {"paused": request.paused}, request.reason

        return self._mutate(actor, case_id, request.version, apply)

    def sweep(self, limit: int = 500) -> list[Alert]:
        """Raise each clock's warning before its breach and its breach when it happens, once each."""
        now = self._clock()
        with self._sessions() as s:
            due = s.scalars(select(CaseRow.id).where(CaseRow.next_alert_at <= now)
                            .order_by(CaseRow.next_alert_at).limit(limit)).all()
        alerts: list[Alert] = []
        for case_id in due:
            raised: list[Alert] = []
            try:
                with self._write(case_id, None) as s:
                    case = self._load(s, case_id)
                    for deadline in self._deadlines(case, now):
                        raised += self._raise_alerts(s, case, deadline, now)
                    self._schedule_alerts(case, now)
            except VersionConflictError:
                continue  # a handler (or another sweeper) changed the case meanwhile; the next sweep sees it again
            alerts += raised  # only once committed: a rolled-back alert was never raised
        self.forget_vulnerability()
        return alerts

    # --- lifecycle hooks, one per action that changes more than the stage ---------------------------

    def _on_receive(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                    after: dict) -> None:
        received = req.received_at or now
        if received > now:
            raise CaseInputError("received_at", f"{received.isoformat()} is in the future",
                                 "send when the complaint arrived, at or before now")
        case.milestones = {**case.milestones, Milestone.received.value: received.isoformat()}
        after["received_at"] = received.isoformat()

    def _on_acknowledge(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                        after: dict) -> None:
        case.milestones = {**case.milestones, Milestone.acknowledged.value: now.isoformat()}

    def _on_record_findings(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                            after: dict) -> None:
        case.findings_outcome, case.findings_evidence = req.outcome.value, req.evidence
        case.findings_severity = req.severity.value if req.severity else None
        after.update(outcome=req.outcome.value, evidence=req.evidence, severity=case.findings_severity)

    def _on_assess_options(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                           after: dict) -> None:
        count = s.scalar(select(func.count()).select_from(OptionRow).where(OptionRow.case_id == case.id))
        if not count:
            raise CaseInputError("options", "no option has been weighed for this case",
                                 "add at least one with POST /cases/{id}/options (`earlywarn cases option`) first")
        after["options"] = count

    def _on_offer_solution(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                           after: dict) -> None:
        option = self._option(s, case, req.option_id)
        self.policy.require_redress(Role(actor.role), option.redress, "offer redress")
        if option.adapts_policy:
            self._require(actor, Capability.adapt_policy, "offer a solution that adapts policy")
        case.chosen_option_id = option.id
        after.update(option_id=option.id, redress=str(option.redress), adapts_policy=option.adapts_policy)

    _on_agree = _on_offer_solution

    def _on_implement(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                      after: dict) -> None:
        option = self._option(s, case, case.chosen_option_id)
        case.liability_admitted, case.redress_paid = option.admits_liability, option.redress
        after.update(liability_admitted=option.admits_liability, redress_paid=str(option.redress))

    def _on_check_satisfaction(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                               after: dict) -> None:
        case.satisfied = req.satisfied
        after["satisfied"] = req.satisfied

    def _on_close(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                  after: dict) -> None:
        if req.root_cause not in self.policy.root_causes:
            raise CaseInputError("root_cause", f"'{req.root_cause}' is not a configured root cause",
                                 f"choose one of {', '.join(self.policy.root_causes)}")
        if case.stage == Stage.findings_recorded and case.findings_outcome != FindingOutcome.unjustified:
            raise CaseInputError("action", f"a {case.findings_outcome} complaint is not closed on its findings",
                                 "assess the options and offer a solution")
        needed = CLOSING_LETTERS.get(Stage(case.stage), ())
        if needed and not any(m.value in case.milestones for m in needed):
            letters = " or ".join(m.value for m in needed)
            raise CaseInputError("action", f"a case at '{case.stage}' closes only once the {letters} has gone",
                                 f"send it with POST /cases/{{id}}/communications (kind {letters}) first")
        case.root_cause = req.root_cause
        case.milestones = {**case.milestones, Milestone.closed.value: now.isoformat()}
        after["root_cause"] = req.root_cause

    def _on_reopen(self, s: Session, case: CaseRow, req: TransitionRequest, actor: Actor, now: datetime,
                   after: dict) -> None:
        case.milestones = {k: v for k, v in case.milestones.items() if k != Milestone.closed.value}
        case.satisfied = None

    # --- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def _write(self, case_id: int | None, version: int | None) -> Iterator[Session]:
        """One transaction; a concurrent change to the same case surfaces as a version conflict."""
        try:
            with self._sessions.begin() as s:
                yield s
        except (StaleDataError, IntegrityError) as exc:
            if case_id is None:
                raise
            raise VersionConflictError(case_id, version, None) from exc
        except OperationalError as exc:  # SQLite: another writer holds the database
            if case_id is None or "locked" not in str(exc).lower():
                raise
            raise VersionConflictError(case_id, version, None) from exc

    def _mutate(self, actor: Actor, case_id: int, version: int | None, apply: Mutation) -> CaseView:
        self._require(actor, Capability.handle, "change a case")
        now = self._clock()
        with self._write(case_id, version) as s:
            case = self._load(s, case_id)
            if version is not None and version != case.version:
                raise VersionConflictError(case_id, version, case.version)
            self._require_assignment(actor, case)
            action, before, after, note = apply(s, case, now)
            self._record(s, case, actor, action, before, after, note, now)
            self._schedule_alerts(case, now)
            write(s)
            return self._view(s, case, now)

    def _record(self, s: Session, case: CaseRow, actor: Actor, action: str, before: dict, after: dict,
                note: str | None, now: datetime) -> None:
        before, after = as_stored(before), as_stored(after)  # the hash covers what a later read gives back
        content = EventContent(case.id, case.event_count + 1, now, actor.username, str(actor.role), action,
                               before, after, note)
        digest = chain_hash(case.head_hash, content)
        append(s, EventRow, case_id=case.id, seq=content.seq, at=now, actor=content.actor, role=content.role,
               action=action, before=before, after=after, note=note, prev_hash=case.head_hash, hash=digest)
        case.head_hash, case.event_count, case.updated_at = digest, content.seq, now

    def _require(self, actor: Actor, capability: Capability, doing: str) -> None:
        if actor.role == SYSTEM.role:
            return
        self.policy.require(Role(actor.role), capability, doing)

    def _require_assignment(self, actor: Actor, case: CaseRow) -> None:
        """Once escalated, a case is worked at that level or above (NOS: escalation procedures)."""
        if actor.role == SYSTEM.role:
            return
        assigned = Role(case.assigned_role)
        if self.policy.limits(Role(actor.role)).rank < self.policy.limits(assigned).rank:
            raise AuthorityError(str(actor.role), f"work a case escalated to {assigned.value}",
                                 f"ask a {assigned.value.replace('_', ' ')}")

    @staticmethod
    def _load(s: Session, case_id: int) -> CaseRow:
        case = s.get(CaseRow, case_id)
        if case is None:
            raise CaseNotFoundError(case_id)
        return case

    @staticmethod
    def _option(s: Session, case: CaseRow, option_id: int | None) -> OptionRow:
        option = s.get(OptionRow, option_id) if option_id is not None else None
        if option is None or option.case_id != case.id:
            raise CaseInputError("option_id", f"option {option_id} is not an option of case {case.id}",
                                 "choose one of the options listed on the case")
        return option

    def _deadlines(self, case: CaseRow, now: datetime) -> list[Deadline]:
        milestones = {Milestone(k): datetime.fromisoformat(v) for k, v in case.milestones.items()}
        pauses = [Pause(datetime.fromisoformat(a), datetime.fromisoformat(b) if b else None) for a, b in case.pauses]
        replies = [datetime.fromisoformat(at) for at in case.replies or ()]
        return evaluate(self.profiles[case.profile], milestones, now, pauses, replies)

    def _schedule_alerts(self, case: CaseRow, now: datetime) -> None:
        """Keep `next_alert_at` at the earliest pending warning or breach so sweeps read few rows."""
        if not Stage(case.stage).is_open:
            case.next_alert_at = None
            return
        pending = []
        for d in self._deadlines(case, now):
            if d.kind is not ClockKind.deadline or d.due_at is None or d.met_at is not None:
                continue
            if d.status is ClockStatus.paused:  # its limit moves while paused; resuming schedules it again
                continue
            if f"{d.clock}:warning" not in case.alerts:
                pending.append(d.warn_at)
            if f"{d.clock}:breached" not in case.alerts:
                pending.append(d.due_at)
        case.next_alert_at = min(pending) if pending else None

    def _raise_alerts(self, s: Session, case: CaseRow, d: Deadline, now: datetime) -> list[Alert]:
        raised = []
        wanted = {ClockStatus.warning: ["warning"], ClockStatus.breached: ["warning", "breached"]}.get(d.status, [])
        for level in wanted:
            key = f"{d.clock}:{level}"
            if key in case.alerts:
                continue
            case.alerts = [*case.alerts, key]
            if level == "warning" and d.status is ClockStatus.breached:
                continue  # past due already: the breach says it all
            action = f"deadline_{'warning' if level == 'warning' else 'breached'}"
            after = {"clock": d.clock, "due_at": d.due_at.isoformat(), "rule": d.rule}
            self._record(s, case, SYSTEM, action, {}, after, d.description, now)
            raised.append(Alert(case_id=case.id, clock=d.clock, kind=action, due_at=d.due_at))
        return raised

    def _summary(self, case: CaseRow, now: datetime, deadlines: list[Deadline] | None = None) -> CaseSummary:
        deadlines = self._deadlines(case, now) if deadlines is None else deadlines
        pending = [d for d in deadlines if d.kind is ClockKind.deadline and d.due_at is not None and d.met_at is None]
        return CaseSummary(
            id=case.id, version=case.version, stage=Stage(case.stage), profile=case.profile, channel=case.channel,
            customer_id=case.customer_id, summary=case.summary, risk_level=case.risk_level, queue=case.queue,
            priority=case.priority, topic=case.topic, assigned_role=case.assigned_role, escalation=case.escalation,
            next_deadline=min(pending, key=lambda d: d.due_at) if pending and Stage(case.stage).is_open else None,
            created_at=case.created_at, updated_at=case.updated_at,
        )

    def _view(self, s: Session, case: CaseRow, now: datetime) -> CaseView:
        children = (CommunicationRow, CaseMessageRow, OptionRow, FeedbackRow)
        # Most cases have few of these: one probe, then load only the tables that have rows.
        present = dict(zip(children, s.execute(select(*(exists().where(t.case_id == case.id) for t in children))).one(),
                           strict=True))

        def rows(table: Any) -> list[Any]:
            if not present[table]:
                return []
            return list(s.scalars(select(table).where(table.case_id == case.id).order_by(table.id)))

        comms = rows(CommunicationRow)
        outbound = [c.at for c in comms if c.direction == Direction.outbound]
        deadlines = self._deadlines(case, now)
        summary = self._summary(case, now, deadlines)
        return CaseView(
            **summary.model_dump(),
            conversation_id=case.conversation_id, owner=case.owner, flag_reasons=case.flag_reasons,
            escalation_requested_by_customer=case.escalation_requested_by_customer,
            findings_outcome=case.findings_outcome, findings_evidence=case.findings_evidence,
            findings_severity=case.findings_severity,
            chosen_option_id=case.chosen_option_id, satisfied=case.satisfied, root_cause=case.root_cause,
            liability_admitted=case.liability_admitted, redress_paid=case.redress_paid,
            milestones={k: datetime.fromisoformat(v) for k, v in case.milestones.items()},
            clocks_paused=bool(case.pauses) and case.pauses[-1][1] is None,
            deadlines=deadlines,
            allowed_actions=allowed_actions(Stage(case.stage)),
            last_contact_at=max(outbound) if outbound else None,
            messages=[MessageView(message_id=m.message_id, channel=m.channel, author=m.author, sent_at=m.sent_at,
                                  text=m.text, score=m.score) for m in rows(CaseMessageRow)],
            options=[OptionView.model_validate(o, from_attributes=True) for o in rows(OptionRow)],
            communications=[CommunicationView.model_validate(c, from_attributes=True) for c in comms],
            feedback=[FeedbackView.model_validate(f, from_attributes=True) for f in rows(FeedbackRow)],
        )


_CASE_ATTRIBUTES = frozenset(inspect(CaseRow).attrs.keys())


# Riskiest first (complaint, high, elevated, low, then unscored), then the soonest pending alert, as the
# queue shows them. A case with no alert pending goes by its age: one whose breach has already fired
# sorts ahead of clocks with time left; one still flagged (no clock started) goes after those with one.
_URGENCY = (
    sql_case(*((CaseRow.risk_level == level.value, -level.rank) for level in RiskLevel), else_=1),
    sql_case((and_(CaseRow.next_alert_at.is_(None), CaseRow.stage == Stage.flagged.value), 1), else_=0),
    func.coalesce(CaseRow.next_alert_at, CaseRow.created_at),
    CaseRow.id,
)


def _filters(stage: Stage | None, assigned_role: Role | None, customer_id: str | None, open_only: bool,
             queue: str | None, channel: str | None) -> list[Any]:
    wanted = [(stage, CaseRow.stage), (assigned_role, CaseRow.assigned_role), (customer_id, CaseRow.customer_id),
              (queue, CaseRow.queue), (channel, CaseRow.channel)]
    where = [column == getattr(value, "value", value) for value, column in wanted if value is not None]
    if open_only:
        where.append(CaseRow.stage.not_in([s.value for s in Stage if not s.is_open]))
    return where


def _save_cases(s: Session, cases: Sequence[CaseRow]) -> None:
    """Write a batch's changed cases with one executemany UPDATE, each guarded by the version it was
    read at, then detach them so the ORM's flush leaves them alone. (The ORM sends one UPDATE per
    case whenever a table has a version counter; at a stream batch's hundred cases that cost as much
    as the rest of the intake.) A case changed meanwhile fails the guard: StaleDataError, as the ORM
    would raise, and the caller files the batch flag by flag."""
    changed = []
    for case in cases:
        modified = _CASE_ATTRIBUTES - inspect(case).unmodified
        if outside := modified - INTAKE_COLUMNS:  # a programming error: those changes would be lost
            raise RuntimeError(f"intake changed {sorted(outside)} on case {case.id}; "
                               "add them to INTAKE_COLUMNS")
        if modified:
            changed.append(case)
    if not changed:
        return
    table = CaseRow.__table__
    statement = (table.update()
                 .where(table.c.id == bindparam("case_id"), table.c.version == bindparam("read_version"))
                 .values(version=bindparam("next_version"), **{c: bindparam(c) for c in INTAKE_COLUMNS}))
    rows = [{"case_id": c.id, "read_version": c.version, "next_version": c.version + 1,
             **{column: getattr(c, column) for column in INTAKE_COLUMNS}} for c in changed]
    result = s.connection().execute(statement, rows)
    if result.rowcount != len(rows):
        raise StaleDataError(f"{len(rows) - result.rowcount} of {len(rows)} cases changed while the batch was filed")
    for case in changed:
        s.expunge(case)


def _no_extra(*_args: Any) -> None:
    """Actions that change only the stage."""


def _content(e: EventRow) -> EventContent:
    return EventContent(e.case_id, e.seq, e.at, e.actor, e.role, e.action, e.before, e.after, e.note)
