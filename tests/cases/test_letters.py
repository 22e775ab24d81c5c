"""Customer letters on real cases (SQLite and PostgreSQL): the required content, the refusals, the clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.cases.authority import Role
from pipeline.cases.clocks import ClockStatus, load_profiles
from pipeline.cases.contracts import CaseCreate, TransitionRequest
from pipeline.cases.letters import (
    CHANNELS,
    CfpbCategory,
    LetterFactMissing,
    LetterIncomplete,
    LetterInputs,
    LetterKind,
    compose_letter,
    kinds_available,
    send_letter,
)
from pipeline.cases.letters.requirements import ELEMENTS, check_rules
from pipeline.cases.lifecycle import Stage
from pipeline.config import Settings
from pipeline.errors import CaseInputError, ConfigError, VersionConflictError
from pipeline.schema import Channel
from tests.cases.helpers import TO_FINDINGS, new_complaint, option, users, walk

PROFILES = load_profiles()
RECEIVED = "24 November 2026"  # the test clock's day: cases are received when they are opened
EVIDENCE = "the call log shows two promised refunds that were never paid"


@pytest.fixture
def people(case_service):
    return users(case_service)


@pytest.fixture
def agent(people):
    return people[Role.agent]


def ref(case_id: int) -> str:
    return f"EW-{case_id:06d}"


def deadline(case, name: str):
    return next(d for d in case.deadlines if d.clock == name)


# --- building cases at the stage each letter is for ---------------------------------------------------------


def findings(svc, actor, cid: int, outcome: str = "justified", evidence: str = EVIDENCE) -> None:
    walk(svc, actor, cid, *TO_FINDINGS, ("record_findings", {"outcome": outcome, "evidence": evidence}))


def offer(svc, actor, cid: int, redress: str = "35.00", **fields) -> int:
    option_id = svc.add_option(actor, cid, option(redress, **fields)).options[-1].id
    walk(svc, actor, cid, ("assess_options", {}), ("offer_solution", {"option_id": option_id}))
    return option_id


def settled(svc, actor, cid: int, outcome: str = "justified", redress: str = "35.00") -> None:
    findings(svc, actor, cid, outcome)
    offer(svc, actor, cid, redress)
    walk(svc, actor, cid, ("accept", {}))


def scenario(svc, clock, actor, profile: str, kind: LetterKind) -> tuple[int, LetterInputs]:
    """A case of the profile at the point in its life where this letter is sent."""
    channel = Channel.social if kind is LetterKind.public_reply else Channel.email
    cid = new_complaint(svc, actor, profile=profile, channel=channel)
    inputs = LetterInputs()
    if kind in (LetterKind.summary_resolution, LetterKind.final_response, LetterKind.company_response):
        settled(svc, actor, cid)
    elif kind is LetterKind.holding_response:
        clock.advance(days=10)
        given = None if profile == "fca_disp_payments" else date(2027, 1, 15)  # payments: the extended limit
        inputs = LetterInputs(delay_reason="we are waiting for the card scheme's chargeback records",
                              expected_by=given)
    elif kind is LetterKind.deadlock_letter:
        clock.advance(weeks=8, days=1)
    return cid, inputs


SHIPPED = [(profile, kind, channel) for profile, p in PROFILES.items() for kind in map(LetterKind, p.letters.required)
           for channel in CHANNELS[kind]]


def test_every_shipped_profile_names_known_kinds_elements_and_a_scheme_where_needed():
    for profile in PROFILES.values():
        check_rules(profile)
    assert {k for p in PROFILES.values() for k in p.letters.required} == set(LetterKind)
    assert PROFILES["fca_disp"].letters.required["final_response"] == (
        "case_reference", "outcome", "reasons", "redress_or_none", "ombudsman_referral_right", "referral_time_limit",
        "ombudsman_website", "ombudsman_leaflet", "waiver_position", "handler_name")


def test_a_profile_naming_an_unknown_element_is_refused_with_the_catalogue():
    bad = PROFILES["fca_disp"].model_copy(deep=True)
    bad.letters.required["final_response"] = ("case_reference", "ombudsman_telepathy")
    with pytest.raises(ConfigError, match="ombudsman_telepathy.*the catalogue has case_reference"):
        check_rules(bad)


@pytest.mark.parametrize(("profile", "kind", "channel"), SHIPPED, ids=[f"{p}-{k}-{c}" for p, k, c in SHIPPED])
def test_every_template_contains_every_element_its_profile_requires(case_service, clock, agent, profile, kind,
                                                                     channel):
    cid, inputs = scenario(case_service, clock, agent, profile, kind)
    letter = compose_letter(case_service, cid, kind, channel, handler=agent.username, inputs=inputs)
    required = PROFILES[profile].letters.required[kind.value]
    assert letter.missing == [], letter.body
    assert set(required) <= set(letter.elements_present) and letter.complete
    # The same facts, read independently of the validator:
    text, scheme = letter.body, PROFILES[profile].letters.scheme
    if kind is not LetterKind.public_reply:
        assert ref(cid) in text and "None" not in text and "{{" not in text
    for element, expected in {
        "received_date": RECEIVED, "handler_name": agent.username, "reasons": EVIDENCE,
        "ombudsman_website": scheme.website if scheme else None,
        "ombudsman_leaflet": scheme.leaflet if scheme else None,
        "waiver_position": "We do not consent", "delay_reason": "chargeback records",
        "redress_or_none": "\u00a335.00" if PROFILES[profile].letters.currency == "GBP" else "$35.00",
        "relief": "$35.00", "response_category": CfpbCategory.monetary,
    }.items():
        if element in required:
            assert expected in text, element
    if "referral_time_limit" in required:
        assert ("six months" if profile.startswith("fca") else "twelve months") in text
    if channel == "email":
        assert letter.subject and ref(cid) in letter.subject
    if kind is LetterKind.public_reply:
        assert ref(cid) not in text and "direct message" in text and len(text) <= 280


# The rendered final response with one element taken out, as an override template would leave it.
REMOVALS = {
    "case_reference": lambda t, cid, who: t.replace(ref(cid), "your complaint"),
    "outcome": lambda t, cid, who: t.replace("We uphold your complaint.", ""),
    "reasons": lambda t, cid, who: t.replace(EVIDENCE, "our investigation"),
    "redress_or_none": lambda t, cid, who: t.replace("\u00a335.00", "some money"),
    "ombudsman_referral_right": lambda t, cid, who: t.replace("refer your complaint to the Financial", "ask the"),
    "referral_time_limit": lambda t, cid, who: t.replace("within six months", "promptly"),
    "ombudsman_website": lambda t, cid, who: t.replace("www.financial-ombudsman.org.uk", "its website"),
    "ombudsman_leaflet": lambda t, cid, who: t.replace("We have attached the Financial Ombudsman Service's "
                                                      "standard explanatory leaflet, which explains how it works.", ""),
    "waiver_position": lambda t, cid, who: t.replace("We do not consent", "We may not consent"),
    "handler_name": lambda t, cid, who: t.replace(f"\n{who}\n", "\n"),
}


def test_removing_any_required_element_from_a_final_response_is_caught(case_service, clock, agent, tmp_path):
    assert set(REMOVALS) == set(PROFILES["fca_disp"].letters.required["final_response"])
    cid, _ = scenario(case_service, clock, agent, "fca_disp", LetterKind.final_response)
    shipped = compose_letter(case_service, cid, "final_response", "email", handler=agent.username)
    for element, remove in REMOVALS.items():
        folder = tmp_path / element
        folder.mkdir()
        body = remove(shipped.body, cid, agent.username)
        assert body != shipped.body, element
        (folder / "final_response.email.j2").write_text(f"Subject: {shipped.subject}\n\n{body}")
        letter = compose_letter(case_service, cid, "final_response", "email", Settings(letters_dir=folder),
                                handler=agent.username)
        assert [m.element for m in letter.missing] == [element], element
        assert letter.template == str(folder / "final_response.email.j2")


def test_an_override_without_the_ombudsman_website_is_refused_and_nothing_is_sent(case_service, clock, agent,
                                                                                    tmp_path):
    cid, _ = scenario(case_service, clock, agent, "fca_disp", LetterKind.final_response)
    shipped = (Path(__file__).parents[2] / "pipeline/cases/templates/letters/_final_response.j2").read_text()
    (tmp_path / "_final_response.j2").write_text(shipped.replace("{{ scheme.website }}", "our website"))
    settings = Settings(letters_dir=tmp_path)
    before = case_service.get_case(cid)
    with pytest.raises(LetterIncomplete,
                       match="ombudsman_website.*www.financial-ombudsman.org.uk.*EARLYWARN_LETTERS_DIR"):
        send_letter(case_service, agent, cid, "final_response", "email", settings)
    after = case_service.get_case(cid)
    assert after.version == before.version and after.communications == [] and "final_response" not in after.milestones
    assert deadline(after, "ombudsman_referral").status is ClockStatus.not_started
    # The override's other letters, and the shipped part it replaced elsewhere, still render complete.
    assert compose_letter(case_service, cid, "final_response", "letter", settings).missing[0].element == \
        "ombudsman_website"
    assert compose_letter(case_service, cid, "final_response", "email", handler=agent.username).complete


@pytest.mark.parametrize("days_later", [0, 10])  # received today; received 4 December, dated 14 December
def test_the_letterhead_date_does_not_stand_in_for_the_date_received(case_service, clock, agent, tmp_path,
                                                                     days_later):
    clock.advance(days=10)
    cid = new_complaint(case_service, agent)
    clock.advance(days=days_later)
    shipped = (Path(__file__).parents[2] / "pipeline/cases/templates/letters/_acknowledgement.j2").read_text()
    assert "received it on {{ received_on }}" in shipped
    (tmp_path / "_acknowledgement.j2").write_text(shipped.replace("received it on {{ received_on }}",
                                                                  "received it recently"))
    letter = compose_letter(case_service, cid, "acknowledgement", "letter", Settings(letters_dir=tmp_path),
                            handler=agent.username)
    assert "4 December 2026" in letter.body  # in the letterhead's date only
    assert [(m.element, m.problem) for m in letter.missing] == [
        ("received_date", "not found: the date received (4 December 2026)")]
    assert compose_letter(case_service, cid, "acknowledgement", "letter", handler=agent.username).complete


def test_a_letter_never_promises_a_response_date_already_passed(case_service, clock, agent):
    cid = new_complaint(case_service, agent)
    clock.advance(weeks=8, days=2)
    assert deadline(case_service.get_case(cid), "final_response").status is ClockStatus.breached
    with pytest.raises(LetterFactMissing, match="already passed.*send the final response") as refused:
        compose_letter(case_service, cid, "acknowledgement", "email", handler=agent.username)
    assert [m.fact for m in refused.value.missing] == ["response_due"]


def test_a_final_response_needs_the_findings_and_for_an_upheld_complaint_the_redress(case_service, agent):
    cid = new_complaint(case_service, agent)
    walk(case_service, agent, cid, *TO_FINDINGS)
    with pytest.raises(LetterFactMissing, match="the findings.*record_findings") as refused:
        compose_letter(case_service, cid, "final_response", "email", handler=agent.username)
    assert [(m.fact, m.step) for m in refused.value.missing] == [("findings", "record_findings")]
    walk(case_service, agent, cid, ("record_findings", {"outcome": "justified", "evidence": EVIDENCE}))
    with pytest.raises(LetterFactMissing, match="offer_solution") as refused:
        send_letter(case_service, agent, cid, "final_response", "email")
    assert [(m.fact, m.step) for m in refused.value.missing] == [("redress", "offer_solution")]
    assert case_service.get_case(cid).communications == []


def test_the_final_response_takes_the_form_the_findings_and_the_chosen_option_call_for(case_service, agent):
    forms = {}
    for outcome, redress in (("justified", "35.00"), ("partly_justified", "0"), ("unjustified", "20.00"),
                             ("unjustified", None)):
        cid = new_complaint(case_service, agent)
        findings(case_service, agent, cid, outcome)
        if redress is not None:
            offer(case_service, agent, cid, redress, description="waive the late fee")
        letter = compose_letter(case_service, cid, "final_response", "letter", handler=agent.username)
        assert letter.complete, letter.missing
        forms[(outcome, redress)] = " ".join(letter.body.split())
    upheld = forms[("justified", "35.00")]
    assert "We uphold your complaint." in upheld and "payment of \u00a335.00" in upheld
    assert "We uphold your complaint in part." in forms[("partly_justified", "0")]
    in_part = forms[("partly_justified", "0")]
    assert "payment of" not in in_part and "waive the late fee" in in_part
    assert "without accepting your complaint" in forms[("unjustified", "20.00")]
    rejected = forms[("unjustified", None)]
    assert "We do not uphold your complaint." in rejected and EVIDENCE in rejected
    assert "not offering any payment or other redress" in rejected


def test_the_waiver_position_follows_the_profile_or_the_letter(case_service, clock, agent):
    cid, _ = scenario(case_service, clock, agent, "fca_disp", LetterKind.final_response)
    waived = compose_letter(case_service, cid, "final_response", "email", handler=agent.username,
                            inputs=LetterInputs(waive_time_limits=True))
    assert waived.complete and "We consent to the Financial Ombudsman Service" in waived.body
    assert "We do not consent" not in waived.body


def test_a_holding_response_needs_the_reason_and_a_future_date(case_service, clock, agent):
    cid = new_complaint(case_service, agent)
    with pytest.raises(LetterFactMissing) as refused:
        compose_letter(case_service, cid, "holding_response", "email", handler=agent.username)
    assert [m.fact for m in refused.value.missing] == ["delay_reason", "expected_by"]
    with pytest.raises(CaseInputError, match="expected_by.*not after today"):
        compose_letter(case_service, cid, "holding_response", "email", handler=agent.username,
                       inputs=LetterInputs(delay_reason="waiting on records", expected_by=date(2026, 11, 24)))
    payments = new_complaint(case_service, agent, profile="fca_disp_payments")
    with pytest.raises(CaseInputError, match="DISP 1.6.2AR"):
        compose_letter(case_service, payments, "holding_response", "email", handler=agent.username,
                       inputs=LetterInputs(delay_reason="waiting on records", expected_by=date(2027, 6, 1)))


def test_letters_that_make_no_sense_for_the_case_are_refused(case_service, agent):
    flagged = case_service.create_case(agent, CaseCreate(summary="angry tweet", channel=Channel.social)).id
    with pytest.raises(CaseInputError, match="early warning, not a complaint"):
        compose_letter(case_service, flagged, "acknowledgement", "email", handler=agent.username)
    case_service.transition(agent, flagged, TransitionRequest(action="dismiss", note="a question, not a complaint"))
    with pytest.raises(CaseInputError, match="settled as not a complaint.*reopen it"):
        compose_letter(case_service, flagged, "acknowledgement", "email", handler=agent.username)
    cid = new_complaint(case_service, agent)
    with pytest.raises(CaseInputError, match="sends no company response"):
        compose_letter(case_service, cid, "company_response", "email", handler=agent.username)
    with pytest.raises(CaseInputError, match="did not come from a public post"):
        compose_letter(case_service, cid, "public_reply", "social")
    with pytest.raises(CaseInputError, match="channel.*email or letter"):
        compose_letter(case_service, cid, "acknowledgement", "social", handler=agent.username)
    stale = case_service.get_case(cid).version - 1
    with pytest.raises(VersionConflictError):
        send_letter(case_service, agent, cid, "acknowledgement", "email", version=stale)


# --- clocks --------------------------------------------------------------------------------------------------


def test_an_acknowledgement_takes_the_acknowledge_step_and_stops_the_acknowledgement_clock(case_service, clock, agent):
    cid = new_complaint(case_service, agent)
    assert deadline(case_service.get_case(cid), "acknowledgement").status is ClockStatus.running
    clock.advance(hours=3)
    case = send_letter(case_service, agent, cid, "acknowledgement", "letter")
    assert case.stage is Stage.acknowledged
    ack = deadline(case, "acknowledgement")
    assert ack.status is ClockStatus.met and ack.met_at == clock.now
    sent = case.communications[-1]
    assert (sent.kind, sent.channel, sent.direction, sent.actor) == ("acknowledgement", "email", "outbound", "agent")
    assert sent.content.startswith("Formal letter") and ref(cid) in sent.content
    assert [e.action for e in case_service.events(cid)] == ["create", "acknowledge", "communication"]
    with pytest.raises(CaseInputError, match="already sent on 24 November 2026"):
        compose_letter(case_service, cid, "acknowledgement", "email", handler=agent.username)
    assert case_service.verify(cid).intact


def test_an_acknowledgement_after_the_acknowledge_step_is_recorded_without_repeating_it(case_service, agent):
    cid = new_complaint(case_service, agent)
    walk(case_service, agent, cid, ("acknowledge", {}), ("confirm_details", {"note": "two refunds promised"}))
    case = send_letter(case_service, agent, cid, "acknowledgement", "email")
    assert case.stage is Stage.details_confirmed and case.communications[-1].kind == "acknowledgement"
    assert case.communications[-1].content.startswith(f"Subject: We have received your complaint ({ref(cid)})")


def test_a_final_response_stops_the_eight_week_clock_and_opens_the_six_month_referral_window(case_service, clock,
                                                                                              agent):
    cid, _ = scenario(case_service, clock, agent, "fca_disp", LetterKind.final_response)
    before = case_service.get_case(cid)
    assert deadline(before, "ombudsman_referral").status is ClockStatus.not_started
    clock.advance(weeks=2)
    case = send_letter(case_service, agent, cid, "final_response", "email")
    assert deadline(case, "final_response").status is ClockStatus.met
    window = deadline(case, "ombudsman_referral")
    assert window.status is ClockStatus.open and window.starts_at == clock.now
    assert window.due_at == datetime(2027, 6, 8, 23, tzinfo=UTC)  # local midnight (BST) ending 8 June
    assert "by 8 June 2027" in case.communications[-1].content  # the letter names the window it opened
    assert case.milestones["final_response"] == clock.now and case.communications[-1].kind == "final_response"
    assert kinds_available(case, case_service.profiles) == []


def test_a_deadlock_letter_opens_the_adr_window(case_service, clock, agent):
    cid = new_complaint(case_service, agent, profile="ofgem")
    clock.advance(weeks=6)
    assert LetterKind.deadlock_letter in kinds_available(case_service.get_case(cid), case_service.profiles)
    case = send_letter(case_service, agent, cid, "deadlock_letter", "letter")
    assert deadline(case, "resolution").status is ClockStatus.met
    window = deadline(case, "ombudsman_referral")
    assert window.status is ClockStatus.open and window.starts_at == clock.now
    assert "twelve months" in case.communications[-1].content and "Energy Ombudsman" in case.communications[-1].content


def test_a_payment_services_holding_reply_extends_the_final_response_limit(case_service, clock, agent):
    cid = new_complaint(case_service, agent, profile="fca_disp_payments")
    fifteen = deadline(case_service.get_case(cid), "final_response").due_at
    clock.advance(days=12)
    letter = compose_letter(case_service, cid, "holding_response", "email", handler=agent.username,
                            inputs=LetterInputs(delay_reason="we are waiting for the payee's bank"))
    assert "by 15 January 2027" in letter.body  # 35 business days after 24 November, Christmas skipped
    case = send_letter(case_service, agent, cid, "holding_response", "email",
                       inputs=LetterInputs(delay_reason="we are waiting for the payee's bank"))
    extended = deadline(case, "final_response")
    assert extended.status is ClockStatus.running and extended.due_at > fifteen
    assert extended.due_at == datetime(2027, 1, 16, tzinfo=UTC)


def test_a_cfpb_company_response_is_in_progress_until_the_findings_and_then_closes(case_service, clock, agent):
    cid = new_complaint(case_service, agent, profile="cfpb")
    letter = compose_letter(case_service, cid, "company_response", "email", handler=agent.username)
    assert letter.category == CfpbCategory.in_progress and letter.communication_kind == "holding_response"
    case = send_letter(case_service, agent, cid, "company_response", "email")
    assert deadline(case, "company_response").status is ClockStatus.met
    assert deadline(case, "final_response").status is ClockStatus.running
    assert kinds_available(case, case_service.profiles) == []  # nothing new to say until the findings
    findings(case_service, agent, cid, "unjustified")
    closing = compose_letter(case_service, cid, "company_response", "email", handler=agent.username)
    assert closing.category == CfpbCategory.explanation and closing.complete and EVIDENCE in closing.body
    case = send_letter(case_service, agent, cid, "company_response", "letter")
    assert deadline(case, "final_response").status is ClockStatus.met
    assert case.communications[-1].content.startswith("Formal letter") and "Closed with explanation" in \
        case.communications[-1].content


def test_a_summary_resolution_needs_the_customers_acceptance_within_three_business_days(case_service, clock, agent):
    cid = new_complaint(case_service, agent)
    findings(case_service, agent, cid)
    offer(case_service, agent, cid, "10.00", description="refund the duplicate charge")
    with pytest.raises(LetterFactMissing, match="acceptance.*accept"):
        compose_letter(case_service, cid, "summary_resolution", "email", handler=agent.username)
    walk(case_service, agent, cid, ("accept", {}))
    assert LetterKind.summary_resolution in kinds_available(case_service.get_case(cid), case_service.profiles)
    clock.advance(days=2)  # Thursday: still within the three business days
    case = send_letter(case_service, agent, cid, "summary_resolution", "email")
    assert deadline(case, "summary_resolution").status is ClockStatus.met
    assert deadline(case, "final_response").status is ClockStatus.met
    assert deadline(case, "ombudsman_referral").status is ClockStatus.not_started  # no final response was sent
    assert "refund the duplicate charge" in case.communications[-1].content
    late = new_complaint(case_service, agent)
    settled(case_service, agent, late)
    clock.advance(days=7)
    with pytest.raises(CaseInputError, match="summary resolution window closed at the end of 1 December 2026"):
        compose_letter(case_service, late, "summary_resolution", "email", handler=agent.username)


# --- public replies ------------------------------------------------------------------------------------------


@pytest.fixture
def social(case_service, agent):
    return new_complaint(case_service, agent, channel=Channel.social, customer_id="cust-88231")


def test_a_clean_public_reply_is_sent_and_counts_as_the_first_response(case_service, agent, social):
    case = send_letter(case_service, agent, social, "public_reply", "social",
                       inputs=LetterInputs(note="Hi, sorry for the wait."))
    sent = case.communications[-1]
    assert (sent.kind, sent.channel) == ("public_reply", "social")
    assert sent.content.startswith("Hi, sorry for the wait. We're sorry") and "direct message" in sent.content
    assert ref(social) not in sent.content and "first_response" in case.milestones


@pytest.mark.parametrize(("note", "found"), [
    ("We've replied to jo.bloggs@example.com.", "an email address"),
    ("Call us back on 07700 900123.", "a phone number"),
    ("Your account 12345678 is fine now.", "an account number"),
    ("Is that card 4111 1111 1111 1111?", "a card number"),
    ("We found order #48213.", "an order or reference number"),
    ("Your booking ref AB-1234 is rebooked.", "an order or reference number"),
    ("Your date of birth 12/03/1980 is on file.", "a date"),
    ("We posted it on 3rd March 2026.", "a date"),
    ("It went to SW1A 1AA, sorry.", "a postcode"),
    ("Sorry the parcel went to 12 Acacia Avenue.", "a street address"),
    ("Hi Jane Smith, sorry about the wait.", "a person's name"),
    ("Sorry Mrs Smith, we are on it.", "a person's name"),
])
def test_a_public_reply_with_personal_data_is_refused(case_service, agent, social, note, found):
    letter = compose_letter(case_service, social, "public_reply", "social", inputs=LetterInputs(note=note))
    assert [(m.element, m.problem) for m in letter.missing] == [("no_personal_data", f"found {found}")]
    assert note not in str(letter.missing)  # the refusal names the kind of data, never repeats it
    with pytest.raises(LetterIncomplete, match="no_personal_data"):
        send_letter(case_service, agent, social, "public_reply", "social", inputs=LetterInputs(note=note))
    assert case_service.get_case(social).communications == []


def test_a_public_reply_naming_several_kinds_of_personal_data_is_refused_for_each(case_service, social):
    note = "Hi Jane Smith, sorry about the parcel to 12 Acacia Avenue, SW1A 1AA."
    letter = compose_letter(case_service, social, "public_reply", "social", inputs=LetterInputs(note=note))
    assert [(m.element, m.problem) for m in letter.missing] == [
        ("no_personal_data", "found a postcode, a street address, a person's name")]


@pytest.mark.parametrize("note", [
    "Hi Jane, sorry to hear this.",
    "Hello, sorry for the 50 minute wait today.",
    "Sorry the 3 March delivery slot was missed.",
    "We're here 8am to 8pm, 7 days a week.",
])
def test_an_ordinary_public_reply_passes_every_check(case_service, agent, social, note):
    findings(case_service, agent, social)
    offer(case_service, agent, social, "50.00")
    letter = compose_letter(case_service, social, "public_reply", "social", inputs=LetterInputs(note=note))
    assert letter.missing == [], note


@pytest.mark.parametrize("note", ["A refund of \u00a350 was issued.", "We sent 50.00 back to you.",
                                  "\u00a350.0 is on its way.", "You will get 50 pounds back."])
def test_a_public_reply_naming_the_redress_amount_in_any_format_is_refused(case_service, agent, social, note):
    findings(case_service, agent, social)
    offer(case_service, agent, social, "50.00")
    letter = compose_letter(case_service, social, "public_reply", "social", inputs=LetterInputs(note=note))
    assert [(m.element, m.problem) for m in letter.missing] == [("no_case_details", "found the redress")], note


def test_a_public_reply_with_the_case_details_is_refused(case_service, agent, social):
    letter = compose_letter(case_service, social, "public_reply", "social",
                            inputs=LetterInputs(note=f"About {ref(social)}:"))
    assert "no_case_details" in [m.element for m in letter.missing] and "the case reference" in str(letter.missing)
    findings(case_service, agent, social, "unjustified", "the parcel was signed for by a neighbour at 14:02")
    for note in ("We do not uphold your complaint.", "The parcel was signed for by a neighbour, sorry."):
        letter = compose_letter(case_service, social, "public_reply", "social", inputs=LetterInputs(note=note))
        assert [m.element for m in letter.missing] == ["no_case_details"], note


def test_a_public_reply_must_offer_a_private_channel_and_fit_in_a_post(case_service, agent, social, tmp_path):
    (tmp_path / "public_reply.social.j2").write_text("{{ note }} Sorry to hear that, we will look into it.")
    with pytest.raises(LetterIncomplete, match="private_channel.*direct message"):
        send_letter(case_service, agent, social, "public_reply", "social", Settings(letters_dir=tmp_path),
                    inputs=LetterInputs(note="Hello."))
    long = compose_letter(case_service, social, "public_reply", "social", inputs=LetterInputs(note="Sorry! " * 30))
    assert [m.element for m in long.missing] == ["fits_in_a_post"]


def test_a_flagged_public_post_can_be_answered_before_it_is_a_complaint(case_service, agent):
    cid = case_service.create_case(agent, CaseCreate(summary="third tweet about the outage",
                                                     channel=Channel.social)).id
    assert kinds_available(case_service.get_case(cid), case_service.profiles) == [LetterKind.public_reply]


# --- preview and the case page's choices ---------------------------------------------------------------------


def test_a_preview_records_nothing_even_when_the_letter_is_incomplete(case_service, agent, social, tmp_path):
    before = case_service.get_case(social)
    events = case_service.events(social)
    letter = compose_letter(case_service, social, "public_reply", "social",
                            inputs=LetterInputs(note="ring 07700 900123"))
    complete = compose_letter(case_service, social, "acknowledgement", "email", handler=agent.username)
    assert not letter.complete and complete.complete
    after = case_service.get_case(social)
    assert after.version == before.version and after.communications == [] and after.milestones == before.milestones
    assert case_service.events(social) == events


def test_kinds_available_follow_the_profile_and_the_stage(case_service, clock, agent, people):
    profiles = case_service.profiles
    cid = new_complaint(case_service, agent)
    assert kinds_available(case_service.get_case(cid), profiles) == [LetterKind.acknowledgement,
                                                                     LetterKind.holding_response]
    send_letter(case_service, agent, cid, "acknowledgement", "email")  # takes the acknowledge step too
    walk(case_service, agent, cid, *TO_FINDINGS[1:], ("record_findings", {"outcome": "unjustified",
                                                                          "evidence": EVIDENCE}))
    assert kinds_available(case_service.get_case(cid), profiles) == [LetterKind.holding_response,
                                                                     LetterKind.final_response]
    case_service.transition(people[Role.team_leader], cid, TransitionRequest(
        action="close", root_cause="customer_misunderstanding", note="explained the fee"))
    assert kinds_available(case_service.get_case(cid), profiles) == [LetterKind.final_response]  # still owed
    assert kinds_available(case_service.get_case(new_complaint(case_service, agent, profile="cfpb")), profiles) == [
        LetterKind.company_response]
    assert kinds_available(case_service.get_case(new_complaint(case_service, agent, profile="ofcom")), profiles) == [
        LetterKind.acknowledgement, LetterKind.deadlock_letter]
    assert all(e in ELEMENTS for p in profiles.values() for es in p.letters.required.values() for e in es)
