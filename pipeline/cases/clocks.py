"""Regulatory profiles and their clocks, in business or calendar days with a holiday calendar.

CU824 3.5 and NOS ask a handler to follow the sector's regulatory definition of a complaint and
its time limits; 3.10 asks for promptness. A profile is configuration (`profiles.yaml`): which
milestone starts each clock, how long it runs, what stops it, whether it may pause. This module
turns a case's milestones into dated deadlines and their status; it never writes anything.

Three rules keep a clock honest. A milestone stops a clock only if it happened after the clock
started; a reply is the one milestone that recurs, so the first reply after the start stops it (a
vulnerability disclosed after the first reply still gets its own prompt answer). An extension
counts only if its milestone came while the original limit still ran (DISP 1.6.2AR: the holding
reply is sent within the 15 business days). A pause gives back the time it covered, up to the
moment the clock stopped, in whole days of the clock's own unit, so a day-based limit still ends
at local midnight and a weekend spent paused gives back nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import yaml
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.errors import ConfigError

DEFAULT_PROFILES = Path(__file__).with_name("profiles.yaml")


class Milestone(StrEnum):
    """Moments in a case that start or stop a clock."""

    received = "received"
    acknowledged = "acknowledged"
    first_response = "first_response"  # the first outbound communication
    summary_resolution = "summary_resolution"
    holding_response = "holding_response"
    final_response = "final_response"
    deadlock_letter = "deadlock_letter"
    closed = "closed"
    vulnerability_noted = "vulnerability_noted"  # starts the care clock: a vulnerable customer hears sooner


class Unit(StrEnum):
    business_days = "business_days"
    calendar_days = "calendar_days"
    weeks = "weeks"
    months = "months"
    hours = "hours"


class ClockKind(StrEnum):
    deadline = "deadline"  # the organisation's duty: a warning before it passes, a breach when it does
    window = "window"  # an opportunity or a customer's right that simply expires (no breach)


class ClockStatus(StrEnum):
    not_started = "not_started"
    running = "running"
    paused = "paused"
    warning = "warning"
    breached = "breached"
    met = "met"
    met_late = "met_late"
    open = "open"
    expired = "expired"


class ClockSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    rule: str = Field(description="the rule the clock implements, for the handler to look up")
    kind: ClockKind = ClockKind.deadline
    starts: Milestone = Milestone.received
    duration: int = Field(gt=0)
    unit: Unit
    stopped_by: tuple[Milestone, ...] = ()
    extended_by: Milestone | None = Field(default=None, description="a milestone that extends the limit")
    extended_duration: int | None = Field(default=None, gt=0)
    warn_before_hours: float = Field(default=24.0, ge=0)
    pausable: bool = False

    @model_validator(mode="after")
    def _extension_complete(self) -> ClockSpec:
        if (self.extended_by is None) != (self.extended_duration is None):
            raise ValueError(f"clock '{self.name}': give both extended_by and extended_duration, or neither")
        return self


class HolidayCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str
    subdiv: str | None = None


class RedressScheme(BaseModel):
    """The ombudsman or ADR scheme a customer may take the complaint to, as letters name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    website: str
    leaflet: str | None = Field(default=None, description="the scheme's explanatory leaflet, as letters name it")


class LetterRules(BaseModel):
    """What the sector's customer letters must contain; `pipeline.cases.letters` checks each letter against it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: RedressScheme | None = None
    currency: str = Field(default="GBP", pattern="^[A-Z]{3}$")
    waive_time_limits: bool = Field(default=False, description="whether the organisation consents to the "
                                    "scheme considering a complaint referred after its time limits")
    required: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="letter kind -> the "
                                                 "elements every such letter must contain")

    def __hash__(self) -> int:  # a profile stays hashable with its letters (the dict is read-only by convention)
        return hash((self.scheme, self.currency, self.waive_time_limits, tuple(self.required.items())))


class RegulatoryProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    complaint_definition: str = Field(description="what the sector counts as a (reportable) complaint")
    timezone: str
    calendar: HolidayCalendar
    clocks: tuple[ClockSpec, ...]
    letters: LetterRules = Field(default_factory=LetterRules)

    @property
    def pausable(self) -> bool:
        return any(c.pausable for c in self.clocks)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.calendar.country, subdiv=self.calendar.subdiv)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th business day after `day` (the day itself never counts)."""
        while count > 0:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count -= 1
        return day

    def due(self, spec: ClockSpec, start: datetime, duration: int | None = None) -> datetime:
        """When a clock started at `start` runs out. Day-based limits end at local midnight."""
        return self._due_cache(spec, start, duration or spec.duration)

    @cached_property
    def _due_cache(self) -> Callable[[ClockSpec, datetime, int], datetime]:
        """Listing cases evaluates every clock of every row; the holiday walk is worth remembering."""
        return lru_cache(maxsize=100_000)(self._due)

    def _due(self, spec: ClockSpec, start: datetime, n: int) -> datetime:
        if spec.unit is Unit.hours:
            return start + timedelta(hours=n)
        local_day = start.astimezone(self.zone).date()
        if spec.unit is Unit.business_days:
            last = self.add_business_days(local_day, n)
        elif spec.unit is Unit.calendar_days:
            last = local_day + timedelta(days=n)
        elif spec.unit is Unit.weeks:
            last = local_day + timedelta(weeks=n)
        else:
            last = local_day + relativedelta(months=n)
        return self._midnight_after(last)

    def _midnight_after(self, day: date) -> datetime:
        """The local midnight that ends `day`, in UTC."""
        return datetime.combine(day + timedelta(days=1), time.min, self.zone).astimezone(UTC)

    def extend(self, spec: ClockSpec, due: datetime, paused: Sequence[tuple[datetime, datetime]]) -> datetime:
        """`due` pushed back by the time the clock spent paused: hours clocks by the time itself,
        day-based clocks by the days of their unit the pauses covered, rounded up to whole days."""
        if spec.unit is Unit.hours:
            return due + sum((end - start for start, end in paused), timedelta())
        counted = sum((self._counted_time(spec, start, end) for start, end in paused), timedelta())
        days = math.ceil(counted / timedelta(days=1))
        if not days:
            return due
        last = (due.astimezone(self.zone) - timedelta(microseconds=1)).date()  # the last day the clock ran
        if spec.unit is Unit.business_days:
            return self._midnight_after(self.add_business_days(last, days))
        return self._midnight_after(last + timedelta(days=days))

    def _counted_time(self, spec: ClockSpec, start: datetime, end: datetime) -> timedelta:
        """How much of [start, end) falls on days the clock counts: business days for a business-day
        clock, every day otherwise."""
        if spec.unit is not Unit.business_days:
            return end - start
        total, day = timedelta(), start.astimezone(self.zone).date()
        while (day_start := datetime.combine(day, time.min, self.zone)) < end:
            if self.is_business_day(day):
                total += max(timedelta(), min(end, self._midnight_after(day)) - max(start, day_start))
            day += timedelta(days=1)
        return total


@dataclass(frozen=True)
class Pause:
    start: datetime
    end: datetime | None = None  # None: still paused


class Deadline(BaseModel):
    """One clock on one case, as a handler sees it."""

    clock: str
    description: str
    rule: str
    kind: ClockKind
    status: ClockStatus
    starts_at: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    met_at: datetime | None = None


def _paused_spans(pauses: Sequence[Pause], since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """The parts of the pauses that fall between the clock's start and the moment it stopped (or now)."""
    spans = []
    for pause in pauses:
        start, end = max(pause.start, since), min(pause.end or until, until)
        if end > start:
            spans.append((start, end))
    return spans


def _stopped_at(spec: ClockSpec, milestones: Mapping[Milestone, datetime], replies: Sequence[datetime],
                start: datetime) -> datetime | None:
    """The first stopping milestone at or after the clock's start; any reply counts as a first response."""
    stops = [milestones[m] for m in spec.stopped_by if m in milestones and milestones[m] >= start]
    if Milestone.first_response in spec.stopped_by:
        stops += [r for r in replies if r >= start]
    return min(stops) if stops else None


def evaluate(
    profile: RegulatoryProfile,
    milestones: Mapping[Milestone, datetime],
    now: datetime,
    pauses: Sequence[Pause] = (),
    replies: Sequence[datetime] = (),
) -> list[Deadline]:
    """Every clock of the profile on a case with these milestones, as of `now`. `replies` are the times
    of every outbound communication (the `first_response` milestone holds only the first of them)."""
    out = []
    for spec in profile.clocks:
        start = milestones.get(spec.starts)
        base = {"clock": spec.name, "description": spec.description, "rule": spec.rule, "kind": spec.kind}
        if start is None:
            out.append(Deadline(**base, status=ClockStatus.not_started))
            continue
        due = profile.due(spec, start)
        extension = milestones.get(spec.extended_by) if spec.extended_by is not None else None
        if extension is not None and start <= extension < due:
            due = profile.due(spec, start, spec.extended_duration)
        met_at = _stopped_at(spec, milestones, replies, start)
        paused_now = False
        if spec.pausable:
            due = profile.extend(spec, due, _paused_spans(pauses, start, met_at or now))
            paused_now = met_at is None and any(p.end is None and p.start <= now for p in pauses)
        warn = due - timedelta(hours=spec.warn_before_hours)
        out.append(
            Deadline(**base, status=_status(spec, due, warn, met_at, paused_now, now),
                     starts_at=start, due_at=due, warn_at=warn, met_at=met_at)
        )
    return out


def _status(
    spec: ClockSpec, due: datetime, warn: datetime, met_at: datetime | None, paused: bool, now: datetime
) -> ClockStatus:
    if met_at is not None:
        return ClockStatus.met if met_at <= due else ClockStatus.met_late
    if spec.kind is ClockKind.window:
        return ClockStatus.open if now < due else ClockStatus.expired
    if now >= due:
        return ClockStatus.breached
    if paused:
        return ClockStatus.paused
    return ClockStatus.warning if now >= warn else ClockStatus.running


def load_profiles(path: Path | None = None) -> dict[str, RegulatoryProfile]:
    path = path or DEFAULT_PROFILES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        profiles = {name: RegulatoryProfile.model_validate({"name": name, **body}) for name, body in raw.items()}
        for profile in profiles.values():
            profile.zone  # noqa: B018 - fail on an unknown timezone or calendar now, not on the first case
            profile.is_business_day(date(2000, 1, 3))
    except (OSError, yaml.YAMLError, ValueError, KeyError, NotImplementedError) as exc:
        raise ConfigError(path, f"cannot read the regulatory profiles: {exc}") from exc
    return profiles
