"""The workspace in a real browser: sign in, watch a flag arrive live, work a case, see a refusal explained.

Screenshots of every main page are saved under tests/artefacts/ for review.
"""

from __future__ import annotations

from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate, CaseMessage
from pipeline.schema import Cue, CueLabel, Message, MessageScore, Severity
from tests.browser.conftest import ARTEFACTS

TEXT = "Third time asking <b>anyone</b>? I have waited three weeks and I will go to the ombudsman"


def flag(cases, summary: str, channel: str = "chat") -> int:
    start = TEXT.index("waited")
    cues = [Cue(label=CueLabel.waiting_time, start=start, end=start + 18, text=TEXT[start:start + 18], weight=0.6,
                explanation="the customer says they have waited a long time"),
            Cue(label=CueLabel.regulator_mention, start=TEXT.index("ombudsman"), end=len(TEXT), text="ombudsman",
                weight=0.9, explanation="mentions the ombudsman: a complaint is likely")]
    score = MessageScore(id="m", complaint_probability=0.9, is_complaint=True, threshold=0.5,
                         severity=Severity.accusation, severity_probabilities={"accusation": 0.9},
                         dissatisfaction=0.9, cues=cues, model_version="browser-test")
    request = CaseCreate(summary=summary, channel=channel, risk_level="high",
                         reasons=[{"signal": "routing_rule", "detail": "routing rule 'ombudsman' matched"}],
                         messages=[CaseMessage(message=Message(id=f"m-{summary}", text=TEXT, channel=channel),
                                               score=score)])
    return cases.create_case(cases.actor("ann"), request).id


def sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/workspace")
    page.screenshot(path=str(ARTEFACTS / "login.png"), full_page=True)
    page.fill("input[name=username]", "ann")
    page.fill("input[name=token]", token)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/workspace")


def act(page, action: str, **fields: str) -> None:
    form = page.locator(f"form[data-action={action}]")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_sign_in_see_a_flag_arrive_and_an_over_limit_offer_refused(live_server, browser_page):
    cases, page, base = live_server.cases, browser_page, live_server.url
    token = cases.add_user("ann", Role.agent)
    flag(cases, "earlier flag", channel="social")
    sign_in(page, base, token)
    new_id = flag(cases, "arrives while watching")  # the queue polls its rows: it appears without a reload
    page.locator(f"tr[data-case='{new_id}']").wait_for()
    page.screenshot(path=str(ARTEFACTS / "queue.png"), full_page=True)

    page.click("text=Social triage")
    assert "routing rule 'ombudsman' matched" in page.inner_text("main")
    page.screenshot(path=str(ARTEFACTS / "social.png"), full_page=True)

    page.goto(f"{base}/workspace/cases/{new_id}")
    mark = page.locator("mark.cue-regulator_mention")
    assert mark.get_attribute("title").endswith("a complaint is likely")
    assert page.locator("p.text b").count() == 0  # the customer's markup is shown as text
    page.screenshot(path=str(ARTEFACTS / "case.png"), full_page=True)

    act(page, "receive")
    act(page, "acknowledge")
    act(page, "confirm_details", note="confirmed on the phone")
    act(page, "investigate")
    act(page, "record_findings", outcome="justified", evidence="three unanswered contacts logged")
    page.click("summary:has-text('Add an option')")
    option = page.locator("#option-form")
    for name, value in (("description", "goodwill payment"), ("customer_benefits", "money back"),
                        ("customer_drawbacks", "none"), ("organisation_benefits", "keeps the customer"),
                        ("organisation_drawbacks", "cost"), ("risk_notes", "small precedent"), ("redress", "500")):
        option.locator(f"[name={name}]").fill(value)
    with page.expect_navigation():
        option.locator("button[type=submit]").click()
    assert "goodwill payment" in page.inner_text("table.options")
    act(page, "assess_options")
    act(page, "offer_solution")
    refusal = page.locator("#refusal")
    assert "may not offer redress of 500.00 GBP" in refusal.inner_text()
    page.screenshot(path=str(ARTEFACTS / "case-refused.png"), full_page=True)
    assert page.inner_text("#stage") == "options_assessed"


def test_a_message_sent_to_ingest_appears_in_the_queue_as_a_flag(live_pipeline, browser_page):
    import httpx

    cases, page, base = live_pipeline.cases, browser_page, live_pipeline.url
    token = cases.add_user("ann", Role.agent)
    sign_in(page, base, token)
    message = {"id": "live-1", "conversation_id": "thread-live", "channel": "social", "customer_id": "c-live",
               "timestamp": "2026-11-29T09:00:00+00:00",
               "text": "Third time asking!! My refund was promised two weeks ago and nobody answers. "
                       "I want a manager now or I am reporting you to the ombudsman."}
    answer = httpx.post(f"{base}/ingest", json=[message], headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202 and answer.json()["accepted"] == 1
    row = page.locator("tr[data-case]").filter(has_text="refund was promised")
    row.wait_for()  # scored, routed and filed by the stream, then shown by the queue's refresh
    assert "complaint" in row.inner_text().lower() or "high" in row.inner_text().lower()
    page.screenshot(path=str(ARTEFACTS / "queue-live-ingest.png"), full_page=True)


def add_option(page, description: str, redress: str) -> None:
    page.click("summary:has-text('Add an option')")
    form = page.locator("#option-form")
    for name, value in (("description", description), ("customer_benefits", "money back"),
                        ("customer_drawbacks", "none"), ("organisation_benefits", "keeps the customer"),
                        ("organisation_drawbacks", "cost"), ("risk_notes", "no precedent"), ("redress", redress)):
        form.locator(f"[name={name}]").fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_a_flag_worked_to_closed_through_the_forms_then_seen_on_the_dashboard(live_server, browser_page):
    cases, page, base = live_server.cases, browser_page, live_server.url
    token = cases.add_user("ann", Role.agent)
    case_id = flag(cases, "walked to closed")
    sign_in(page, base, token)
    page.goto(f"{base}/workspace/cases/{case_id}")
    for action, fields in (("receive", {}), ("acknowledge", {}), ("confirm_details", {"note": "on the phone"}),
                           ("investigate", {}),
                           ("record_findings", {"outcome": "justified", "evidence": "three contacts unanswered"})):
        act(page, action, **fields)
    add_option(page, "refund the delivery fee", "30")
    act(page, "assess_options")
    offer = page.locator("form[data-action=offer_solution]")
    offer.locator("[name=option_id]").select_option(value=_option_id(page))
    with page.expect_navigation():
        offer.locator("button[type=submit]").click()
    act(page, "accept")
    act(page, "implement", note="fee refunded to the card")
    act(page, "check_satisfaction", satisfied="true")
    act(page, "close", root_cause="delay")
    assert page.inner_text("#stage") == "closed"
    history = page.inner_text("main")
    assert "fee refunded to the card" in history and "close" in history
    page.screenshot(path=str(ARTEFACTS / "case-closed.png"), full_page=True)

    page.click("text=Analytics")
    page.locator("section.kpis").wait_for()
    kpis = page.inner_text("section.kpis")
    assert "1\ncomplaints closed" in kpis or "1 complaints closed" in kpis.replace("\n", " ")
    assert page.locator("figure svg").count() >= 2  # the trend and at least one breakdown
    assert "delay" in page.inner_text("main")  # the root cause it was closed under leads the report
    page.screenshot(path=str(ARTEFACTS / "analytics.png"), full_page=True)


def _option_id(page) -> str:
    return page.locator("table.options tbody tr").first.locator("td").first.inner_text().strip()
