"""Routing rules: which queue a flagged conversation goes to, how soon, and what to do next.

The rules are data (the shipped `rules.yaml`, or the file the `routing_rules` setting names), so a
contact centre changes its queues and advice without a release. Each rule has a `when` block of
conditions (all must hold) and a `then` block. Rules are tried in order:

* a rule that matches and stops (the default) decides the queue and the priority, and adds its advice;
* a rule with `stop: false` adds its advice, may raise the priority, and offers its queue in case
  no deciding rule matches, and the rules after it are still tried;
* when no deciding rule matches, the file's `default` block decides (after any `stop: false` advice).

Only conversations at or above `flag_from` (by default `elevated`) are routed at all. The file is
validated strictly when loaded: an unknown key, a misspelt level or a topic pattern that matches
no topic is a `ConfigError` naming the rule, the key and the fix, never a rule that silently
never matches. Loading compiles each rule into sets, ranks and one regular expression, so
routing a message is a handful of comparisons.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.schema import (
    Channel,
    ConversationRisk,
    CueLabel,
    Flag,
    FlagReason,
    Message,
    MessageScore,
    Priority,
    RiskLevel,
    Severity,
    VulnerabilityDriver,
)
from pipeline.signals.topic import COARSE, KNOWN_TOPICS

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")
PLACEHOLDERS = ("channel", "risk_level", "severity", "topic")
RULE_SIGNAL = "routing_rule"
MAX_NEXT_ACTION = 1000  # Flag.next_action's limit
_RISK_RANK = {level: level.rank for level in RiskLevel}
_TOPIC_MEMORY = 4096  # topic names remembered per rule; a topic model has a few dozen

E = TypeVar("E", bound=Enum)


# --- the file's shape ---------------------------------------------------------------------------------


def _by_name(enum: type[E], what: str) -> Callable[[Any], E]:
    """A validator taking an enum member by its name only (`accusation`, not 3), with the names in the error."""
    names = ", ".join(m.name for m in enum)  # type: ignore[attr-defined]

    def parse(value: Any) -> E:
        if isinstance(value, enum):
            return value
        if isinstance(value, str) and value in enum.__members__:
            return enum.__members__[value]
        close = difflib.get_close_matches(str(value), list(enum.__members__), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"{value!r} is not {what}{hint}: use one of {names}")

    return parse


def _listed(value: Any) -> Any:
    """A single value where a list is expected reads as a list of one."""
    return [value] if isinstance(value, (str, int, float, bool)) else value


RiskName = Annotated[RiskLevel, BeforeValidator(_by_name(RiskLevel, "a risk level"))]
SeverityName = Annotated[Severity, BeforeValidator(_by_name(Severity, "a severity"))]
PriorityName = Annotated[Priority, BeforeValidator(_by_name(Priority, "a priority"))]
ChannelName = Annotated[Channel, BeforeValidator(_by_name(Channel, "a channel"))]
CueName = Annotated[CueLabel, BeforeValidator(_by_name(CueLabel, "a cue label"))]
Scalar = str | int | float | bool


def _template(value: str) -> str:
    """Advice may use only the placeholders routing fills; a stray brace is caught here, not per message."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValueError(f"is not a valid template ({exc})") from None
    unknown = [name for name in fields if name not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"uses the placeholder {{{unknown[0]}}}, which is not one routing fills")
    return value.strip()


Advice = Annotated[str, Field(max_length=MAX_NEXT_ACTION), AfterValidator(_template)]
Queue = Annotated[str, Field(min_length=1, max_length=64)]


class When(BaseModel):
    """Conditions a conversation must all meet; an empty block matches every flagged conversation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Annotated[tuple[ChannelName, ...], BeforeValidator(_listed), Field(min_length=1)] | None = None
    min_risk: RiskName | None = None
    min_severity: SeverityName | None = None
    topic: Annotated[tuple[str, ...], BeforeValidator(_listed), Field(min_length=1)] | None = None
    customer: dict[str, Annotated[tuple[Scalar, ...], BeforeValidator(_listed), Field(min_length=1)]] | None = None
    min_probability: float | None = Field(default=None, ge=0.0, le=1.0)
    cues: Annotated[tuple[CueName, ...], BeforeValidator(_listed), Field(min_length=1)] | None = None
    vulnerability: Annotated[tuple[VulnerabilityDriver, ...], BeforeValidator(_listed), Field(min_length=1)] | None \
        = None

    @field_validator("customer")
    @classmethod
    def _some_attribute(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not value:
            raise ValueError("is empty")
        return value


class Then(BaseModel):
    """What a matching rule does. A rule that stops must give all three of queue, priority and advice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: Queue | None = None
    priority: PriorityName | None = None
    next_action: Advice = ""
    stop: bool = True


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    when: When = When()
    then: Then


class Default(BaseModel):
    """Where a flagged conversation goes when no deciding rule matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: Queue
    priority: PriorityName
    next_action: Annotated[Advice, Field(min_length=1)]


class RulesFile(BaseModel):
    """A rules file as written, validated; `RoutingRules` compiles it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flag_from: RiskName = RiskLevel.elevated
    default: Default
    rules: tuple[Rule, ...] = ()

    @classmethod
    def load(cls, path: Path | None = None, known_topics: Iterable[str] | None = KNOWN_TOPICS) -> RulesFile:
        """Read and check a rules file (the shipped one by default). `known_topics` are the names a
        topic pattern must match at least one of; None skips that check (a custom topic model)."""
        path = Path(path) if path is not None else DEFAULT_RULES
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(path, f"cannot read the routing rules ({exc.strerror or exc}): check the path "
                                    f"the routing_rules setting gives") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(path, f"the routing rules are not valid YAML: {exc}") from exc
        return cls.parse(raw, path, known_topics)

    @classmethod
    def parse(cls, raw: Any, where: Path | str = "<routing rules>",
              known_topics: Iterable[str] | None = KNOWN_TOPICS) -> RulesFile:
        """Check already-parsed YAML; every problem is reported at once, each naming rule, key and fix."""
        if not isinstance(raw, dict):
            raise ConfigError(where, "the routing rules must be a mapping with 'default' and 'rules' "
                                     "(see pipeline/routing/rules.yaml)")
        try:
            rules = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(where, _problems([_describe(e, raw) for e in exc.errors(include_url=False)])) from None
        problems = _semantic_problems(rules, None if known_topics is None else frozenset(known_topics))
        if problems:
            raise ConfigError(where, _problems(problems))
        return rules


# --- error messages ----------------------------------------------------------------------------------

_FIXES = {
    "name": "give every rule a short unique name, e.g. name: churn-threat",
    "when": "give a mapping of conditions, e.g. when: {channel: [social]}",
    "then": "give a mapping with queue, priority and next_action",
    "channel": f"use a list of: {', '.join(c.value for c in Channel)}",
    "min_risk": f"use one of: {', '.join(r.value for r in RiskLevel)}",
    "flag_from": f"use one of: {', '.join(r.value for r in RiskLevel)}",
    "min_severity": f"use one of: {', '.join(s.name for s in Severity)}",
    "priority": f"use one of: {', '.join(p.name for p in Priority)}",
    "cues": f"use a list of: {', '.join(c.value for c in CueLabel)}",
    "min_probability": "use a number from 0 to 1",
    "topic": "use a list of topic names or glob patterns, e.g. [refunds, 'card_*']",
    "customer": "map each customer attribute to a value or a list of values, e.g. customer: {tier: [vip, premier]}",
    "queue": "name the queue in at most 64 characters, e.g. queue: complaints",
    "next_action": (f"write the advice as text of at most {MAX_NEXT_ACTION} characters; it may use "
                    f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}, and {{{{ }}}} for a literal brace"),
    "stop": "use true, or false to let later rules add their advice",
    "default": "give a default block with queue, priority and next_action",
    "rules": "give a list of rules, each with name, when and then",
}
_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(RulesFile.model_fields), "rule": tuple(Rule.model_fields), "when": tuple(When.model_fields),
    "then": tuple(Then.model_fields), "default": tuple(Default.model_fields),
}


def _problems(problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems:\n  - " + "\n  - ".join(problems)


def _rule_label(raw: Any, index: int) -> str:
    rules = raw.get("rules") if isinstance(raw, dict) else None
    entry = rules[index] if isinstance(rules, list) and index < len(rules) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"rule '{name}'" if isinstance(name, str) and name else f"rule #{index + 1}"


def _describe(error: Mapping[str, Any], raw: Any) -> str:
    """One pydantic error as 'rule ..., key ...: what is wrong: how to fix it'."""
    loc = [str(p) for p in error["loc"]]
    where, in_rule = "the file", False
    if len(loc) >= 2 and loc[0] == "rules" and loc[1].isdigit():
        where, loc, in_rule = _rule_label(raw, int(loc[1])), loc[2:], True
    # keep the keys a person wrote; drop list positions and pydantic's union-branch tags
    named = [k for k in loc if not k.isdigit() and "[" not in k and k not in _BRANCH_TAGS]
    key = ".".join(named)
    leaf = "customer" if named[:2] == ["when", "customer"] else (named[-1] if named else "")
    parent = named[-2] if len(named) >= 2 else ("rule" if in_rule else "")
    label = f"{where}, key '{key}'" if key else where
    kind, message = error["type"], str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _KEYS.get(parent, ())
        close = difflib.get_close_matches(leaf, allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"{label}: is not a key here: {hint}remove it, or use only {', '.join(allowed)}"
    if kind == "missing":
        return f"{label}: is missing: {_FIXES.get(leaf, 'add it')}"
    if ": use " in message:  # our own validators already say how to fix it
        return f"{label}: {message}"
    fix = _FIXES.get(leaf, "see the shipped pipeline/routing/rules.yaml")
    return f"{label}: {message[0].lower()}{message[1:]}: {fix}"


_BRANCH_TAGS = frozenset({"str", "int", "float", "bool", "none"})


def _bad_glob(pattern: str) -> str | None:
    """What is wrong with a glob, if anything: fnmatch reads an unclosed '[' as a literal, which is never
    what a rule author meant."""
    depth = 0
    for char in pattern:
        if char == "[":
            if depth:
                return "has a '[' inside another '['"
            depth = 1
        elif char == "]" and depth:
            depth = 0
    if depth:
        return "has a '[' that is never closed"
    return None


def _semantic_problems(rules: RulesFile, known: frozenset[str] | None) -> list[str]:
    """What the shape cannot say: unique names, complete deciding rules, topics that exist."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    folded = {t.casefold(): t for t in known or ()}
    for i, rule in enumerate(rules.rules):
        label = f"rule '{rule.name}'"
        if rule.name in seen:
            problems.append(f"{label}, key 'name': rules #{seen[rule.name] + 1} and #{i + 1} share it: "
                            f"give every rule its own name")
        seen.setdefault(rule.name, i)
        then = rule.then
        if then.stop:
            for key in ("queue", "priority", "next_action"):
                if not getattr(then, key):
                    problems.append(f"{label}, key 'then.{key}': is missing: a rule that stops decides the "
                                    f"route, so it needs queue, priority and next_action; add it, or set "
                                    f"stop: false to only add advice")
        elif not (then.queue or then.priority or then.next_action):
            problems.append(f"{label}, key 'then': does nothing: give next_action, priority or queue")
        for pattern in rule.when.topic or ():
            bad = _bad_glob(pattern) if pattern.strip() else "is empty"
            if bad:
                problems.append(f"{label}, key 'when.topic': the pattern {pattern!r} {bad}: "
                                f"{_FIXES['topic']}")
            elif known is not None and not any(fnmatch.fnmatchcase(t, pattern.casefold()) for t in folded):
                close = difflib.get_close_matches(pattern.casefold(), list(folded), n=1)
                hint = f"did you mean '{folded[close[0]]}'? " if close else ""
                topics = ", ".join(sorted(set(COARSE.values()) & known))
                problems.append(f"{label}, key 'when.topic': {pattern!r} matches no known topic or intent: "
                                f"{hint}use a routing topic ({topics}) or a fine intent name")
    return problems


# --- routing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoutingInput:
    """What routing reads about a conversation after its latest message.

    `topic` is what the message is about: a routing topic (`refunds`) or a fine intent
    (`Refund_not_showing_up`, whose routing topic is then looked up, so rules on either match), or
    None when the topic model was not confident (rules that test the topic then do not match).
    """

    message: Message
    score: MessageScore | None
    risk: ConversationRisk
    topic: str | None = None
    vulnerability: frozenset[str] = frozenset()  # drivers disclosed in this message


@dataclass(frozen=True, slots=True)
class Route:
    """The decision for one flagged conversation: queue, priority, advice, and why."""

    queue: str
    priority: Priority
    next_action: str
    rule: str
    """the rule that chose the queue (`default` when none did)"""
    reasons: tuple[FlagReason, ...]
    """the risk's reasons, then one per rule that matched"""
    matched: tuple[str, ...]
    """every rule that matched, in order"""

    def flag(self, routed: RoutingInput, messages: Sequence[Message] | None = None,
             scores: Sequence[MessageScore] | None = None) -> Flag:
        """The `Flag` for this route: the conversation's messages (the latest alone unless given) and scores."""
        message, risk = routed.message, routed.risk
        return Flag(
            conversation_id=message.conversation_id or risk.conversation_id,
            customer_id=message.customer_id,
            channel=message.channel,
            risk_level=risk.level,
            probability=risk.probability,
            queue=self.queue,
            priority=self.priority,
            next_action=self.next_action,
            rule=self.rule,
            reasons=list(self.reasons),
            messages=list(messages) if messages else [message],
            scores=list(scores) if scores is not None else ([routed.score] if routed.score else []),
        )


def _normalise(value: Any) -> str:
    """A customer attribute as text, compared the same way on both sides: CSV metadata is always text,
    so `vip: true` must match "true" and `tier: [1]` "1", and True must not match 1."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One rule as sets and ranks, tested cheapest first."""

    name: str
    channels: frozenset[Channel] | None
    min_risk: int | None
    min_probability: float | None
    min_severity: int | None
    cues: frozenset[str] | None
    vulnerability: frozenset[str] | None
    customer: tuple[tuple[str, frozenset[str]], ...] | None
    topic: re.Pattern[str] | None
    queue: str | None
    priority: Priority | None
    advice: str
    templated: bool
    stop: bool
    _topics_seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, name: str, when: When, then: Then | Default, stop: bool) -> _Compiled:
        topic = None
        if when.topic:
            topic = re.compile("|".join(f"(?:{fnmatch.translate(p.casefold())})" for p in when.topic))
        return cls(
            name=name,
            channels=frozenset(when.channel) if when.channel else None,
            min_risk=_RISK_RANK[when.min_risk] if when.min_risk else None,
            min_probability=when.min_probability,
            min_severity=int(when.min_severity) if when.min_severity is not None else None,
            cues=frozenset(c.value for c in when.cues) if when.cues else None,
            vulnerability=frozenset(when.vulnerability) if when.vulnerability else None,
            customer=tuple((k, frozenset(_normalise(v) for v in vs)) for k, vs in when.customer.items())
            if when.customer else None,
            topic=topic,
            queue=then.queue,
            priority=then.priority,
            advice=then.next_action,
            templated="{" in then.next_action,
            stop=stop,
        )

    def matches(self, routed: RoutingInput, risk_rank: int, cues: frozenset[str] | None) -> bool:
        if self.channels is not None and routed.message.channel not in self.channels:
            return False
        if self.min_risk is not None and risk_rank < self.min_risk:
            return False
        if self.min_probability is not None and routed.risk.probability < self.min_probability:
            return False
        if self.min_severity is not None and (routed.score is None or routed.score.severity < self.min_severity):
            return False
        if self.cues is not None and (cues is None or self.cues.isdisjoint(cues)):
            return False
        if self.vulnerability is not None and self.vulnerability.isdisjoint(routed.vulnerability):
            return False
        if self.customer is not None and not self._customer_matches(routed.message.metadata):
            return False
        if self.topic is not None:
            return routed.topic is not None and self._topic_matches(routed.topic)
        return True

    def _topic_matches(self, topic: str) -> bool:
        """The topic, or an intent and its routing topic, against the patterns; remembered per name."""
        known = self._topics_seen.get(topic)
        if known is None:
            assert self.topic is not None
            names = (topic, COARSE[topic]) if topic in COARSE else (topic,)
            known = any(self.topic.fullmatch(name.casefold()) for name in names)
            if len(self._topics_seen) < _TOPIC_MEMORY:
                self._topics_seen[topic] = known
        return known

    def _customer_matches(self, metadata: Mapping[str, Any]) -> bool:
        for key, wanted in self.customer or ():
            value = metadata.get(key)
            if value is None:
                return False
            values = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
            if not any(_normalise(v) in wanted for v in values if isinstance(v, (str, int, float, bool))):
                return False
        return True


class RoutingRules:
    """A rules file checked and compiled: build once (`load`), then `route` each message."""

    def __init__(self, spec: RulesFile, flag_from: RiskLevel | None = None) -> None:
        self.spec = spec
        self.flag_from = flag_from or spec.flag_from
        self._flag_rank = _RISK_RANK[self.flag_from]
        self._compiled = tuple(_Compiled.of(r.name, r.when, r.then, r.then.stop) for r in spec.rules)
        self._default = _Compiled.of("default", When(), spec.default, True)
        self._needs_cues = any(c.cues is not None for c in self._compiled)

    @classmethod
    def load(cls, path: Path | None = None, flag_from: RiskLevel | None = None,
             known_topics: Iterable[str] | None = KNOWN_TOPICS) -> RoutingRules:
        """The rules at `path` (the shipped rules.yaml when None), flagging from `flag_from` when
        given, else from the file's own `flag_from`."""
        return cls(RulesFile.load(path, known_topics), flag_from)

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingRules:
        """The rules file `routing_rules` names (the shipped one if unset), flagging from
        `routing_flag_from` when set, else from the file's own `flag_from`."""
        flag_from = settings.routing_flag_from
        if flag_from and flag_from not in RiskLevel.__members__:
            raise ConfigError("EARLYWARN_ROUTING_FLAG_FROM", f"{flag_from!r} is not a risk level: use one of "
                                                             f"{', '.join(RiskLevel.__members__)}")
        return cls.load(settings.routing_rules, RiskLevel(flag_from) if flag_from else None)

    def route(self, routed: RoutingInput) -> Route | None:
        """The route for a conversation at or above `flag_from`, else None (not flagged)."""
        risk_rank = _RISK_RANK[routed.risk.level]
        if risk_rank < self._flag_rank and not routed.vulnerability:  # care starts before dissatisfaction does
            return None
        cues = _cues(routed) if self._needs_cues else None
        advice: list[tuple[_Compiled, str]] = []
        matched: list[_Compiled] = []
        queue_from: _Compiled | None = None
        priority: Priority | None = None
        for rule in self._compiled:
            if not rule.matches(routed, risk_rank, cues):
                continue
            matched.append(rule)
            if rule.advice:
                advice.append((rule, rule.advice))
            if rule.priority is not None and (priority is None or rule.priority < priority):
                priority = rule.priority
            if rule.stop:
                queue_from = rule
                break
            if rule.queue is not None:
                queue_from = rule  # offered in case no deciding rule matches; a later offer is more specific
        else:
            default = self._default
            matched.append(default)
            advice.append((default, default.advice))
            queue_from = queue_from or default
            priority = default.priority if priority is None else min(priority, default.priority)
        assert queue_from is not None and queue_from.queue is not None and priority is not None
        return Route(
            queue=queue_from.queue,
            priority=priority,
            next_action=_join([_render(text, routed) if rule.templated else text for rule, text in advice]),
            rule=queue_from.name,
            reasons=(*routed.risk.reasons, *(_rule_reason(r, routed) for r in matched)),
            matched=tuple(r.name for r in matched),
        )

    def route_many(self, batch: Iterable[RoutingInput]) -> list[Route | None]:
        return [self.route(routed) for routed in batch]


def _cues(routed: RoutingInput) -> frozenset[str]:
    """Cue labels in the latest message, and any the conversation's risk reasons name."""
    labels = {c.label.value for c in routed.score.cues} if routed.score is not None else set()
    labels.update(r.signal for r in routed.risk.reasons if r.signal in _CUE_VALUES)
    return frozenset(labels)


_CUE_VALUES = frozenset(c.value for c in CueLabel)


def _rule_reason(rule: _Compiled, routed: RoutingInput) -> FlagReason:
    what = f"queue {rule.queue}" if rule.queue else "advice"
    if rule.priority is not None:
        what += f", priority {rule.priority.name}"
    return FlagReason.model_construct(signal=RULE_SIGNAL, detail=f"routing rule '{rule.name}' matched ({what})",
                                      message_id=routed.message.id, weight=None)


def _render(template: str, routed: RoutingInput) -> str:
    score = routed.score
    return template.format(
        channel=routed.message.channel.value,
        risk_level=routed.risk.level.value,
        severity=score.severity.name.replace("_", " ") if score is not None else "not rated",
        topic=COARSE.get(routed.topic, routed.topic).replace("_", " ") if routed.topic else "an unidentified topic",
    )


def _join(parts: Sequence[str]) -> str:
    """The advice of every matching rule in rule order, one per line, within a Flag's limit: the
    deciding rule's advice (the last) always, earlier advice while it fits."""
    if not parts:
        return ""
    last = parts[-1][:MAX_NEXT_ACTION]
    budget = MAX_NEXT_ACTION - len(last)
    kept: list[str] = []
    for part in parts[:-1]:
        if len(part) + 1 <= budget:
            kept.append(part)
            budget -= len(part) + 1
    return "\n".join([*kept, last])
