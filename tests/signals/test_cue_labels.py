"""Each lexicon cue label fires on real-looking complaints and stays quiet on the innocent,
negated and hypothetical look-alikes a rule of thumb would trip on."""

from __future__ import annotations

import pytest

from pipeline.schema import CueLabel

from .conftest import CueTexts

L = CueLabel

FIRES: list[tuple[CueLabel, str, list[str]]] = [
    # escalation_demand
    (L.escalation_demand, "I want to speak to a manager right now", ["want to speak to a manager"]),
    (L.escalation_demand, "Put me through to your supervisor please", ["Put me through to your supervisor"]),
    (L.escalation_demand, "Please escalate this, it's been weeks", ["escalate"]),
    (L.escalation_demand, "I need to talk to someone senior about this", ["need to talk to someone senior"]),
    (L.escalation_demand, "I'll be writing to your head office", ["head office"]),
    (L.escalation_demand, "I'm making a formal complaint", ["formal complaint"]),
    (L.escalation_demand, "Why can't I speak to a manager?", ["speak to a manager"]),
    (L.escalation_demand, "Why won't you let me speak to a manager?", ["speak to a manager"]),
    # churn_threat
    (L.churn_threat, "I'm cancelling my contract", ["cancelling my contract"]),
    (L.churn_threat, "Sort this out or I'll cancel.", ["cancel"]),
    (L.churn_threat, "Please close my account today", ["close my account"]),
    (L.churn_threat, "I'm taking my business elsewhere", ["taking my business elsewhere"]),
    (L.churn_threat, "I will never use you again", ["never use you again"]),
    (L.churn_threat, "Thinking of switching providers after this", ["switching providers"]),
    (L.churn_threat, "Give me my PAC code", ["PAC code"]),
    (L.churn_threat, "They won't let me cancel my subscription", ["cancel my subscription"]),
    (L.churn_threat, "If this isn't fixed I'm cancelling my contract", ["cancelling my contract"]),
    (L.churn_threat, "I can't cancel my account online, it keeps failing", ["cancel my account"]),
    # regulator_mention
    (L.regulator_mention, "I'm reporting you to the FCA", ["reporting you", "FCA"]),
    (L.regulator_mention, "Next stop is the Financial Ombudsman", ["Financial Ombudsman"]),
    (L.regulator_mention, "My solicitor will be in touch", ["solicitor"]),
    (L.regulator_mention, "I will take legal action", ["legal action"]),
    (L.regulator_mention, "See you in small claims court", ["small claims court"]),
    (L.regulator_mention, "Complaint filed with the CFPB and BBB", ["CFPB", "BBB"]),
    (L.regulator_mention, "Ofcom and trading standards will hear about this", ["Ofcom", "trading standards"]),
    # public_amplification
    (L.public_amplification, "I'll post this everywhere", ["post this everywhere"]),
    (L.public_amplification, "Going to the press with this", ["Going to the press"]),
    (L.public_amplification, "Enjoy the bad reviews", ["bad reviews"]),
    (L.public_amplification, "Leaving you 1 star on Trustpilot", ["1 star", "Trustpilot"]),
    (L.public_amplification, "Everyone will know how you treat customers", ["Everyone will know"]),
    (L.public_amplification, "Please retweet so others see this", ["retweet"]),
    # repeated_contact
    (L.repeated_contact, "This is the third time I've called", ["the third time"]),
    (L.repeated_contact, "Yet again my parcel is late", ["Yet again"]),
    (L.repeated_contact, "How many times do I have to ask?", ["How many times"]),
    (L.repeated_contact, "I keep calling and nobody answers", ["keep calling"]),
    (L.repeated_contact, "Still not fixed after my complaint", ["Still not"]),
    (L.repeated_contact, "My train was delayed again", ["delayed again"]),
    (L.repeated_contact, "I have already explained this", ["already explained"]),
    (L.repeated_contact, "Called 5 times today", ["5 times"]),
    (L.repeated_contact, "Still waiting for my refund", ["Still waiting"]),
    (L.repeated_contact, "I have chased this twice with no answer", ["chased"]),
    # waiting_time
    (L.waiting_time, "I've been on hold for 40 minutes", ["on hold", "for 40 minutes"]),
    (L.waiting_time, "Still waiting for my refund", ["Still waiting"]),
    (L.waiting_time, "No response since Monday", ["No response", "since Monday"]),
    (L.waiting_time, "Ordered over a month ago and nothing", ["over a month ago"]),
    (L.waiting_time, "I've been waiting for hours", ["been waiting", "for hours"]),
    (L.waiting_time, "Parcel lost 2 weeks and no refund", ["2 weeks", "no refund"]),
    (L.waiting_time, "I still haven't heard back in 3 days", ["haven't heard back"]),
    (L.waiting_time, "Refund pending for the past 3 days", ["for the past 3 days"]),
    # broken_promise
    (L.broken_promise, "You said it would arrive on Friday", ["You said"]),
    (L.broken_promise, "I was told I'd get a refund", ["I was told"]),
    (L.broken_promise, "You promised a callback", ["You promised"]),
    (L.broken_promise, "It was supposed to be delivered yesterday", ["supposed to"]),
    (L.broken_promise, "It should have arrived by now", ["should have arrived"]),
    (L.broken_promise, "Delivery was guaranteed by Friday", ["was guaranteed"]),
    (L.broken_promise, "The agent assured me it was fixed", ["agent assured"]),
    # profanity
    (L.profanity, "This is fucking ridiculous", ["fucking"]),
    (L.profanity, "what the f*** is going on", ["f***"]),
    (L.profanity, "absolute sh*t service", ["sh*t"]),
    (L.profanity, "wtf is this", ["wtf"]),
    (L.profanity, "bloody hell, again?", ["bloody hell"]),
    (L.profanity, "I'm not fucking happy", ["fucking"]),
    # sarcasm
    (L.sarcasm, "Thanks for nothing", ["Thanks for nothing"]),
    (L.sarcasm, "Great service... not", ["... not"]),
    (L.sarcasm, "Love how my train is delayed again", ["Love how"]),
    (L.sarcasm, "So helpful, my parcel is still missing", ["So helpful"]),
    (L.sarcasm, "Well done @Southern, cancelled again", ["Well done"]),
    (L.sarcasm, "Best airline ever #not", ["#not"]),
    (L.sarcasm, "Yeah right, like that's going to happen", ["like that's going to happen"]),
]

QUIET: list[tuple[CueLabel, str]] = [
    # negated, hypothetical or innocent
    (L.escalation_demand, "I don't want to speak to a manager, you've been great"),
    (L.escalation_demand, "No need to escalate, it's sorted"),
    (L.escalation_demand, "My manager asked me to check the order"),
    (L.escalation_demand, "If I ever need to escalate, who do I contact?"),
    (L.escalation_demand, "Do not transfer me to a supervisor"),
    (L.churn_threat, "I'm not cancelling my contract, just want it fixed"),
    (L.churn_threat, "I won't be switching providers, the new app is great"),
    (L.churn_threat, "I cancelled my gym membership and I'm happy"),
    (L.churn_threat, "I'd like to cancel my order please"),
    (L.churn_threat, "I'm leaving for the airport now"),
    (L.churn_threat, "What happens if I cancel my subscription?"),
    (L.churn_threat, "I don't think I'll cancel my contract"),
    (L.regulator_mention, "No need for lawyers, I just want a refund"),
    (L.regulator_mention, "I'm not going to report you, just fix it"),
    (L.regulator_mention, "We met at the food court"),
    (L.public_amplification, "I won't be leaving a bad review, the agent was lovely"),
    (L.public_amplification, "Let me know when it ships"),
    (L.repeated_contact, "Is the store still open?"),
    (L.repeated_contact, "Thanks again for your help"),
    (L.repeated_contact, "Please try again later"),
    (L.repeated_contact, "This is ten times better than the old app"),
    (L.repeated_contact, "First time ordering, very excited"),
    (L.repeated_contact, "Rachael in the lounge chased down a lost item for me, superb"),
    (L.waiting_time, "Delivery within 3 days would be great"),
    (L.waiting_time, "Get 3 months free when you sign up"),
    (L.waiting_time, "I go to the gym twice a week"),
    (L.broken_promise, "I've never been told that before"),
    (L.broken_promise, "What am I supposed to do now?"),
    (L.broken_promise, "I was told to restart the router"),
    (L.broken_promise, "I promise I'll pay on time"),
    (L.profanity, "Thank you, that fixed it"),
    (L.profanity, "I live in Scunthorpe and my parcel is in Essex"),
    (L.profanity, "The class was great"),
    (L.sarcasm, "Well done to your staff, amazing flight"),
    (L.sarcasm, "Thank you so much, you were so helpful!"),
    (L.sarcasm, "I love how easy the new app is"),
    (L.sarcasm, "Great service today, thanks"),
]


@pytest.mark.parametrize(("label", "text", "expected"), FIRES, ids=[f"{c[0].value}: {c[1]}" for c in FIRES])
def test_cue_fires_on_the_customers_words(
    cue_texts: CueTexts, label: CueLabel, text: str, expected: list[str]
) -> None:
    assert cue_texts(text, label) == expected


@pytest.mark.parametrize(("label", "text"), QUIET, ids=[f"{c[0].value}: {c[1]}" for c in QUIET])
def test_cue_stays_quiet(cue_texts: CueTexts, label: CueLabel, text: str) -> None:
    assert cue_texts(text, label) == []


def test_every_lexicon_label_has_fire_and_quiet_cases() -> None:
    from pipeline.signals.lexicon import RULES

    assert set(RULES) <= {label for label, _, _ in FIRES}
    assert set(RULES) <= {label for label, _ in QUIET}
