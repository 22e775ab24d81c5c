"""Routing rules: each condition, the order rules are tried in, strict validation, and the shipped rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.errors import ConfigError
from pipeline.routing import DEFAULT_RULES, Route, RoutingInput, RoutingRules, RulesFile
from pipeline.schema import (
    Channel,
    ConversationRisk,
    Cue,
    CueLabel,
    FlagReason,
    Message,
    MessageScore,
    Priority,
    RiskLevel,
    Severity,
)

DEFAULT = {"queue": "complaints", "priority": "normal",
           "next_action": "Acknowledge, confirm the details, say what happens next."}


def rules(*rule: dict[str, Any], **top: Any) -> RoutingRules:
    return RoutingRules(RulesFile.parse({"default": DEFAULT, "rules": list(rule), **top}, "test.yaml"))


def rule(name: str, when: dict[str, Any] | None = None, **then: Any) -> dict[str, Any]:
    body = {"queue": name, "priority": "normal", "next_action": f"advice of {name}", **then}
    return {"name": name, "when": when or {}, "then": body}


def routed(text: str = "Where is my money?", *, channel: Channel = Channel.chat, level: RiskLevel = RiskLevel.elevated,
           probability: float = 0.3, severity: Severity = Severity.disapproval, cues: tuple[CueLabel, ...] = (),
           metadata: dict[str, Any] | None = None, topic: str | None = None, scored: bool = True,
           risk_signals: tuple[str, ...] = ()) -> RoutingInput:
    message = Message(id="m-1", text=text, channel=channel, conversation_id="c-1", customer_id="u-1",
                      metadata=metadata or {})
    score = MessageScore(
        id="m-1", complaint_probability=0.7, is_complaint=severity is not Severity.none, threshold=0.5,
        severity=severity, severity_probabilities={s.name: 0.2 for s in Severity}, dissatisfaction=0.6,
        cues=[Cue(label=c, start=0, end=4, text=text[:4], weight=0.5, explanation="test cue") for c in cues],
        model_version="test")
    reasons = [FlagReason(signal=s, detail=f"{s} seen", message_id="m-0") for s in risk_signals] \
        or [FlagReason(signal="level", detail="dissatisfaction running at 0.60", message_id="m-1")]
    risk = ConversationRisk(conversation_id="c-1", level=level, probability=probability, model_version="test",
                            reasons=reasons)
    return RoutingInput(message=message, score=score if scored else None, risk=risk, topic=topic)


def queue_of(router: RoutingRules, given: RoutingInput) -> str | None:
    route = router.route(given)
    return route.queue if route else None


# --- conditions -------------------------------------------------------------------------------------------


def test_channel_matches_any_listed_channel():
    router = rules(rule("social", {"channel": ["social", "email"]}))
    assert queue_of(router, routed(channel=Channel.social)) == "social"
    assert queue_of(router, routed(channel=Channel.email)) == "social"
    assert queue_of(router, routed(channel=Channel.chat)) == "complaints"


def test_a_single_channel_reads_as_a_list_of_one():
    assert queue_of(rules(rule("social", {"channel": "social"})), routed(channel=Channel.social)) == "social"


def test_min_risk_matches_at_or_above_the_level():
    router = rules(rule("hot", {"min_risk": "high"}))
    assert queue_of(router, routed(level=RiskLevel.elevated)) == "complaints"
    assert queue_of(router, routed(level=RiskLevel.high)) == "hot"
    assert queue_of(router, routed(level=RiskLevel.complaint)) == "hot"


def test_min_severity_matches_at_or_above_and_needs_a_score():
    router = rules(rule("blame", {"min_severity": "accusation"}))
    assert queue_of(router, routed(severity=Severity.disapproval)) == "complaints"
    assert queue_of(router, routed(severity=Severity.accusation)) == "blame"
    assert queue_of(router, routed(severity=Severity.blame)) == "blame"
    assert queue_of(router, routed(severity=Severity.blame, scored=False)) == "complaints"


def test_min_probability_reads_the_conversation_risk():
    router = rules(rule("likely", {"min_probability": 0.5}))
    assert queue_of(router, routed(probability=0.49)) == "complaints"
    assert queue_of(router, routed(probability=0.5)) == "likely"


def test_topic_names_and_globs_match_the_topic_or_the_intent_and_its_topic():
    router = rules(rule("refunds", {"topic": ["refunds"]}), rule("cards", {"topic": ["card_*", "*_card"]}))
    assert queue_of(router, routed(topic="refunds")) == "refunds"
    assert queue_of(router, routed(topic="Refund_not_showing_up")) == "refunds"  # an intent of the refunds topic
    assert queue_of(router, routed(topic="card_arrival")) == "cards"
    assert queue_of(router, routed(topic="lost_or_stolen_card")) == "cards"
    assert queue_of(router, routed(topic="transfers")) == "complaints"
    assert queue_of(router, routed(topic=None)) == "complaints"  # unknown topic: topic rules do not match


def test_customer_attributes_come_from_the_message_metadata():
    router = rules(rule("vip", {"customer": {"tier": ["vip", "premier"], "region": "uk"}}))
    assert queue_of(router, routed(metadata={"tier": "VIP", "region": "UK"})) == "vip"  # case-insensitive
    assert queue_of(router, routed(metadata={"tier": "premier", "region": "uk"})) == "vip"
    assert queue_of(router, routed(metadata={"tier": "vip"})) == "complaints"  # every attribute must match
    assert queue_of(router, routed(metadata={"tier": "standard", "region": "uk"})) == "complaints"
    assert queue_of(router, routed()) == "complaints"


def test_a_customer_attribute_holding_a_list_matches_any_of_its_values():
    router = rules(rule("care", {"customer": {"flags": "vulnerable", "loyal": True}}))
    assert queue_of(router, routed(metadata={"flags": ["new", "vulnerable"], "loyal": True})) == "care"
    assert queue_of(router, routed(metadata={"flags": ["new"], "loyal": True})) == "complaints"


def test_customer_values_match_csv_text_whatever_type_the_rule_gives():
    """Customer metadata read from a CSV is always text; rule values are compared as text too."""
    router = rules(rule("vip", {"customer": {"vip": True}}), rule("tier-1", {"customer": {"tier": [1]}}),
                   rule("segment", {"customer": {"segment": [1]}}), rule("score", {"customer": {"score": 2.0}}))
    assert queue_of(router, routed(metadata={"vip": "true"})) == "vip"
    assert queue_of(router, routed(metadata={"vip": "TRUE"})) == "vip"
    assert queue_of(router, routed(metadata={"vip": True})) == "vip"
    assert queue_of(router, routed(metadata={"vip": "false"})) == "complaints"
    assert queue_of(router, routed(metadata={"tier": "1"})) == "tier-1"
    assert queue_of(router, routed(metadata={"tier": 1})) == "tier-1"
    assert queue_of(router, routed(metadata={"score": "2"})) == "score"
    assert queue_of(router, routed(metadata={"segment": True})) == "complaints"  # True is not 1
    assert queue_of(router, routed(metadata={"segment": "true"})) == "complaints"


def test_cues_match_any_label_in_the_message_or_named_by_the_risk():
    router = rules(rule("retention", {"cues": ["churn_threat", "escalation_demand"]}))
    assert queue_of(router, routed(cues=(CueLabel.churn_threat,))) == "retention"
    assert queue_of(router, routed(cues=(CueLabel.profanity,))) == "complaints"
    assert queue_of(router, routed(cues=(), risk_signals=("escalation_demand",))) == "retention"


def test_all_conditions_of_a_rule_must_hold():
    router = rules(rule("both", {"channel": ["social"], "min_severity": "blame"}))
    assert queue_of(router, routed(channel=Channel.social, severity=Severity.blame)) == "both"
    assert queue_of(router, routed(channel=Channel.social, severity=Severity.accusation)) == "complaints"
    assert queue_of(router, routed(channel=Channel.chat, severity=Severity.blame)) == "complaints"


# --- order, stop: false, the flag level ---------------------------------------------------------------------


def test_the_first_matching_rule_decides():
    router = rules(rule("first", {"min_risk": "high"}, priority="urgent"), rule("second", {"min_risk": "elevated"}))
    route = router.route(routed(level=RiskLevel.high))
    assert (route.queue, route.priority, route.rule, route.matched) == ("first", Priority.urgent, "first", ("first",))
    assert route.next_action == "advice of first"
    assert router.route(routed(level=RiskLevel.elevated)).rule == "second"


def test_stop_false_adds_advice_raises_priority_and_lets_later_rules_decide():
    router = rules(
        rule("public", {"channel": ["social"]}, queue="social-care", priority="high", stop=False),
        rule("churn", {"cues": ["churn_threat"]}, queue="retention", priority="normal"),
    )
    route = router.route(routed(channel=Channel.social, cues=(CueLabel.churn_threat,)))
    assert route.queue == "retention" and route.rule == "churn"
    assert route.priority is Priority.high  # the advice rule raised it
    assert route.next_action == "advice of public\nadvice of churn"
    assert route.matched == ("public", "churn")


def test_when_only_stop_false_rules_match_their_queue_and_the_default_advice_apply():
    router = rules(rule("public", {"channel": ["social"]}, queue="social-care", priority="low", stop=False))
    route = router.route(routed(channel=Channel.social))
    assert route.queue == "social-care" and route.rule == "public"
    assert route.priority is Priority.normal  # the default's, more urgent than the advice rule's
    assert route.next_action == f"advice of public\n{DEFAULT['next_action']}"
    assert route.matched == ("public", "default")


def test_nothing_matching_falls_back_to_the_default():
    route = rules(rule("never", {"channel": ["email"]})).route(routed())
    assert (route.queue, route.priority, route.rule) == ("complaints", Priority.normal, "default")


def test_below_the_flag_level_nothing_is_routed():
    router = rules(rule("any"))
    assert router.route(routed(level=RiskLevel.low)) is None
    assert router.route(routed(level=RiskLevel.elevated)) is not None
    high_only = rules(rule("any"), flag_from="high")
    assert high_only.route(routed(level=RiskLevel.elevated)) is None
    overridden = RoutingRules(high_only.spec, flag_from=RiskLevel.low)
    assert overridden.route(routed(level=RiskLevel.low)) is not None


def test_reasons_are_the_risks_then_one_naming_each_matched_rule():
    router = rules(rule("public", {"channel": ["social"]}, stop=False), rule("hot", {"min_risk": "high"}))
    route = router.route(routed(channel=Channel.social, level=RiskLevel.high))
    assert [r.signal for r in route.reasons] == ["level", "routing_rule", "routing_rule"]
    assert "'public'" in route.reasons[1].detail and "'hot'" in route.reasons[2].detail
    assert route.reasons[2].message_id == "m-1"


def test_placeholders_are_filled_from_the_conversation():
    router = rules(rule("tmpl", next_action="A {severity} {channel} message, {risk_level} risk, about {topic}."))
    route = router.route(routed(channel=Channel.email, severity=Severity.no_explicit_reproach,
                                topic="Refund_not_showing_up"))
    assert route.next_action == "A no explicit reproach email message, elevated risk, about refunds."
    unknown = router.route(routed(scored=False))
    assert unknown.next_action == "A not rated chat message, elevated risk, about an unidentified topic."


def test_a_route_becomes_a_flag_carrying_the_conversation():
    given = routed(channel=Channel.social, level=RiskLevel.high, probability=0.8)
    route = rules(rule("hot", {"min_risk": "high"}, priority="high")).route(given)
    flag = route.flag(given)
    assert (flag.queue, flag.priority, flag.rule, flag.risk_level) == ("hot", Priority.high, "hot", RiskLevel.high)
    assert flag.conversation_id == "c-1" and flag.customer_id == "u-1" and flag.channel is Channel.social
    assert flag.probability == 0.8 and [m.id for m in flag.messages] == ["m-1"] and len(flag.scores) == 1
    assert flag.reasons == list(route.reasons)


# --- validation ---------------------------------------------------------------------------------------------


def problem(raw_rule: dict[str, Any] | None = None, **top: Any) -> str:
    raw = {"default": DEFAULT, "rules": [raw_rule] if raw_rule else [], **top}
    with pytest.raises(ConfigError) as caught:
        RulesFile.parse(raw, "test.yaml")
    return str(caught.value)


@pytest.mark.parametrize(("when", "key", "fix"), [
    ({"min_risk": "hgh"}, "when.min_risk", "did you mean 'high'?"),
    ({"min_severity": "rude"}, "when.min_severity",
     "use one of none, no_explicit_reproach, disapproval, accusation, blame"),
    ({"min_severity": 3}, "when.min_severity", "use one of none"),
    ({"channel": ["sms"]}, "when.channel", "use one of query, chat, social, email"),
    ({"cues": ["churn"]}, "when.cues", "use one of escalation_demand"),
    ({"min_probability": 1.5}, "when.min_probability", "use a number from 0 to 1"),
    ({"topic": ["card["]}, "when.topic", "'[' that is never closed"),
    ({"topic": ["refund"]}, "when.topic", "did you mean 'refunds'?"),
    ({"topic": []}, "when.topic", "use a list of topic names or glob patterns"),
    ({"customer": {}}, "when.customer", "map each customer attribute to a value"),
    ({"customer": {"tier": {"level": 1}}}, "when.customer.tier", "map each customer attribute to a value"),
    ({"chanel": ["social"]}, "when.chanel", "did you mean 'channel'?"),
])
def test_a_bad_condition_names_the_rule_the_key_and_the_fix(when, key, fix):
    message = problem(rule("broken-rule", when))
    assert f"rule 'broken-rule', key '{key}'" in message
    assert fix in message


@pytest.mark.parametrize(("then", "key", "fix"), [
    ({"priority": "asap"}, "then.priority", "use one of urgent, high, normal, low"),
    ({"next_action": "Dear {customer_name}"}, "then.next_action",
     "it may use {channel}, {risk_level}, {severity}, {topic}"),
    ({"next_action": "Hello {channel"}, "then.next_action", "{{ }} for a literal brace"),
    ({"stop": "maybe"}, "then.stop", "use true, or false"),
    ({"queue": ""}, "then.queue", "name the queue"),
    ({"escalate": True}, "then.escalate", "use only queue, priority, next_action, stop"),
])
def test_a_bad_action_names_the_rule_the_key_and_the_fix(then, key, fix):
    message = problem(rule("broken-rule", **then))
    assert f"rule 'broken-rule', key '{key}'" in message
    assert fix in message


def test_a_deciding_rule_must_give_queue_priority_and_advice():
    message = problem({"name": "half", "when": {}, "then": {"queue": "x"}})
    assert "rule 'half', key 'then.priority': is missing" in message
    assert "rule 'half', key 'then.next_action': is missing" in message
    assert "set stop: false to only add advice" in message


def test_an_advice_rule_must_do_something():
    assert "rule 'idle', key 'then': does nothing" in problem({"name": "idle", "then": {"stop": False}})


def test_rules_need_unique_names_and_a_name():
    raw = {"default": DEFAULT, "rules": [rule("twin"), rule("twin")]}
    with pytest.raises(ConfigError, match="rule 'twin', key 'name': rules #1 and #2 share it"):
        RulesFile.parse(raw, "test.yaml")
    assert "rule #1, key 'name': is missing" in problem({"when": {}, "then": DEFAULT})


def test_file_level_problems_are_named_too():
    assert "key 'flag_from': 'medium' is not a risk level" in problem(flag_from="medium")
    assert "key 'default': is missing" in str(pytest.raises(ConfigError, RulesFile.parse, {"rules": []}, "x").value)
    assert "the routing rules must be a mapping" in str(pytest.raises(ConfigError, RulesFile.parse, [1], "x").value)


def test_every_problem_is_reported_at_once():
    message = problem({"name": "many", "when": {"min_risk": "hgh", "channel": ["sms"]}, "then": DEFAULT})
    assert "2 problems" in message and "when.min_risk" in message and "when.channel" in message


def test_a_custom_topic_vocabulary_can_turn_the_topic_check_off(tmp_path: Path):
    raw = {"default": DEFAULT, "rules": [rule("mortgages", {"topic": ["mortgage_*"]})]}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="matches no known topic"):
        RoutingRules.load(path)
    assert queue_of(RoutingRules.load(path, known_topics=None), routed(topic="mortgage_arrears")) == "mortgages"


def test_settings_name_the_rules_file_and_the_flag_level(tmp_path: Path):
    from pipeline.config import Settings

    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"default": DEFAULT, "rules": [rule("hot", {"min_risk": "high"})]}))
    custom = RoutingRules.from_settings(Settings(routing_rules=path, routing_flag_from="high"))
    assert custom.flag_from is RiskLevel.high and [r.name for r in custom.spec.rules] == ["hot"]
    assert RoutingRules.from_settings(Settings()).spec == RulesFile.load(DEFAULT_RULES)
    with pytest.raises(ConfigError, match="EARLYWARN_ROUTING_FLAG_FROM.*'medium' is not a risk level"):
        RoutingRules.from_settings(Settings(routing_flag_from="medium"))


def test_unreadable_files_name_the_path(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the routing rules"):
        RoutingRules.load(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        RoutingRules.load(broken)


# --- the shipped rules ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> RoutingRules:
    return RoutingRules.load()


@pytest.fixture(scope="module")
def real(cue_extractor):
    """A RoutingInput whose cues come from the real cue extractor reading the text."""

    def build(text: str, channel: Channel, level: RiskLevel, severity: Severity, topic: str | None = None,
              metadata: dict[str, Any] | None = None) -> RoutingInput:
        cues = tuple(dict.fromkeys(c.label for c in cue_extractor.extract_one(text)))
        return routed(text, channel=channel, level=level, severity=severity, cues=cues, topic=topic, metadata=metadata)

    return build


def test_the_shipped_rules_load_from_the_package():
    spec = RulesFile.load(DEFAULT_RULES)
    assert spec.flag_from is RiskLevel.elevated and len(spec.rules) >= 8


def test_shipped_a_public_churn_threat_goes_to_retention_with_advice_to_move_to_dm(shipped, real):
    route = shipped.route(real("@AcmeBank my card payment failed again. Sort it out or I am switching to another bank",
                               Channel.social, RiskLevel.high, Severity.disapproval, topic="declined_card_payment"))
    assert route.queue == "retention" and route.priority <= Priority.high
    assert route.matched[0] == "public-social-post"
    advice = route.next_action.lower()
    assert "private message (dm)" in advice and "never ask for account, card or personal details in public" in advice
    assert "apologis" in advice and "by when" in advice


def test_shipped_a_regulator_mention_goes_to_senior_urgently(shipped, real):
    route = shipped.route(real("Six weeks waiting for my refund. I will be reporting this to the Financial Ombudsman.",
                               Channel.email, RiskLevel.complaint, Severity.accusation, topic="Refund_not_showing_up"))
    assert (route.queue, route.priority, route.rule) == ("senior", Priority.urgent, "regulator-or-ombudsman")
    assert "ombudsman" in route.next_action and "when they will" in route.next_action
    assert "Check the transaction" in route.next_action  # the refund topic's advice came first


def test_shipped_blame_goes_to_complaints_with_high_priority(shipped, real):
    route = shipped.route(real("You took the money twice and it's entirely your fault.", Channel.chat,
                               RiskLevel.complaint, Severity.blame))
    assert (route.queue, route.priority, route.rule) == ("complaints", Priority.high, "accusation-or-blame")
    assert "reads as blame" in route.next_action


def test_shipped_a_vip_chat_goes_to_the_relationship_team(shipped, real):
    route = shipped.route(real("How long does a transfer abroad take?", Channel.chat, RiskLevel.elevated,
                               Severity.none, topic="transfer_timing", metadata={"tier": "VIP"}))
    assert (route.queue, route.priority, route.rule) == ("senior", Priority.high, "vip-customer")


def test_shipped_a_plain_elevated_query_gets_de_escalation_advice(shipped, real):
    route = shipped.route(real("How long does a transfer abroad usually take?", Channel.query, RiskLevel.elevated,
                               Severity.none, topic="transfer_timing"))
    assert (route.queue, route.priority, route.rule) == ("complaints", Priority.normal, "default")
    advice = route.next_action
    for step in ("Acknowledge", "apologise", "confirm the details", "what you will do next and by when"):
        assert step in advice
    assert shipped.route(real("How long does a transfer abroad usually take?", Channel.query, RiskLevel.low,
                              Severity.none)) is None


def test_shipped_advice_always_fits_a_flag(shipped, real):
    route = shipped.route(real("My card was stolen and you charged me twice, I want a manager, I'm leaving",
                               Channel.social, RiskLevel.complaint, Severity.blame, topic="compromised_card",
                               metadata={"tier": "vip"}))
    assert 0 < len(route.next_action) <= 1000
    route.flag(real("x", Channel.social, RiskLevel.high, Severity.none))  # validates against the Flag contract


def test_route_many_routes_each_input_as_route_does(shipped):
    """The batch path (the stream's) agrees with one-at-a-time routing; its speed is `earlywarn bench stream`'s."""
    inputs = [routed(channel=Channel.social, cues=(CueLabel.churn_threat,), topic="refunds"),
              routed(metadata={"tier": "vip"}), routed(topic="card_arrival"), routed(level=RiskLevel.low)]
    routes = shipped.route_many(inputs * 50)
    assert sum(isinstance(r, Route) for r in routes) == 150
    assert routes[:4] == [shipped.route(i) for i in inputs]


def test_a_vulnerability_disclosure_goes_to_care_even_on_a_calm_message():
    router = RoutingRules.load()
    calm = dataclasses.replace(routed(level=RiskLevel.low), vulnerability=frozenset({"resilience"}))
    route = router.route(calm)
    assert route is not None and (route.queue, route.priority) == ("care", Priority.high)
    assert router.route(routed(level=RiskLevel.low)) is None  # the same calm message without one is not flagged


def test_a_vulnerability_condition_matches_any_listed_driver():
    router = rules(rule("bereaved", {"vulnerability": ["life_events"]}, queue="bereavement"))
    assert queue_of(router, dataclasses.replace(routed(), vulnerability=frozenset({"life_events", "health"}))) \
        == "bereavement"
    assert queue_of(router, dataclasses.replace(routed(), vulnerability=frozenset({"health"}))) == "complaints"
    with pytest.raises(ConfigError, match="vulnerability"):
        rules(rule("typo", {"vulnerability": ["grief"]}, queue="x"))
