"""The workspace pages over HTTP (in-process), on SQLite and PostgreSQL: login, CSRF, queue, case page, forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.cases.authority import Role
from pipeline.cases.contracts import CaseCreate, CaseMessage
from pipeline.schema import Cue, CueLabel, Message, MessageScore, Severity

HOSTILE = '<script>alert("x")</script> I have waited three weeks & nobody called back'


@pytest.fixture
def workspace(case_service):
    tokens = {role: case_service.add_user(f"{role.value}1", role) for role in Role}
    with TestClient(create_app(case_service, session_secret="test-secret")) as client:
        client.tokens = tokens
        client.cases = case_service
        yield client


def login(client: TestClient, role: Role = Role.agent) -> str:
    """Sign in as the role's user; returns the session's CSRF token for later forms."""
    page = client.get("/workspace/login")
    response = client.post("/workspace/login", data={"csrf": csrf_of(page.text), "username": f"{role.value}1",
                                                     "token": client.tokens[role], "next": "/workspace"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/workspace").text)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def open_case(client: TestClient, summary: str = "card blocked abroad", risk: str | None = "high",
              stage: str = "flagged", channel: str = "chat", text: str = HOSTILE, reasons=None,
              received_at: datetime | None = None) -> int:
    start = text.index("waited")
    cue = Cue(label=CueLabel.waiting_time, start=start, end=start + len("waited three weeks"),
              text="waited three weeks", weight=0.7, explanation='long wait <"explained">')
    score = MessageScore(id="m1", complaint_probability=0.8, is_complaint=True, threshold=0.5,
                         severity=Severity.disapproval, severity_probabilities={"disapproval": 0.8},
                         dissatisfaction=0.8, cues=[cue], model_version="test")
    request = CaseCreate(summary=summary, channel=channel, stage=stage, risk_level=risk, reasons=reasons or [],
                         received_at=received_at,
                         messages=[CaseMessage(message=Message(id=f"m-{summary}", text=text, channel=channel),
                                               score=score)])
    return client.cases.create_case(client.cases.actor("agent1"), request).id


def test_every_page_needs_a_session(workspace):
    case_id = open_case(workspace)
    for path in ("/workspace", "/workspace/queue/rows", "/workspace/social", f"/workspace/cases/{case_id}",
                 "/workspace/analytics"):
        response = workspace.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/workspace/login")


def test_login_checks_the_token_belongs_to_the_user_and_logout_ends_it(workspace):
    page = workspace.get("/workspace/login")
    wrong = workspace.post("/workspace/login", data={"csrf": csrf_of(page.text), "username": "agent1",
                                                     "token": workspace.tokens[Role.admin]})
    assert wrong.status_code == 401 and "do not match an active user" in wrong.text
    csrf = login(workspace)
    assert workspace.get("/workspace").status_code == 200
    workspace.post("/workspace/logout", data={"csrf": csrf}, follow_redirects=False)
    assert workspace.get("/workspace", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(workspace):
    case_id = open_case(workspace)
    login(workspace)
    for data in ({"action": "receive"}, {"action": "receive", "csrf": "forged"}):
        response = workspace.post(f"/workspace/cases/{case_id}/act", data=data)
        assert response.status_code == 403 and "security token (CSRF)" in response.text
    assert workspace.cases.get_case(case_id).stage == "flagged"  # nothing written
    assert workspace.post("/workspace/login", data={"username": "agent1",
                                                    "token": workspace.tokens[Role.agent]}).status_code == 403


def test_queue_puts_the_riskiest_and_soonest_first(workspace):
    low = open_case(workspace, "low one", risk="low")
    monday = open_case(workspace, "complaint on monday", risk="complaint", stage="received",
                       received_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    elevated = open_case(workspace, "elevated one", risk="elevated")
    today = open_case(workspace, "complaint today", risk="complaint", stage="received")
    friday = open_case(workspace, "complaint on friday", risk="complaint", stage="received",
                       received_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    login(workspace)
    rows = workspace.get("/workspace/queue/rows").text
    order = [int(i) for i in re.findall(r'data-case="(\d+)"', rows)]
    assert order == [friday, monday, today, elevated, low]
    assert re.search(r"(in|overdue by) \d+ (d|h|min)", rows)  # countdowns, rendered server-side
    filtered = workspace.get("/workspace/queue", params={"stage": "flagged"}).text
    assert re.findall(r'data-case="(\d+)"', filtered) == [str(elevated), str(low)]
    assert 'data-poll="/workspace/queue/rows?stage=flagged"' in filtered
    assert workspace.get("/workspace/queue", params={"stage": "", "assigned_role": ""}).status_code == 200
    unknown = workspace.get("/workspace/queue/rows", params={"stage": "nowhere"})
    assert unknown.status_code == 422 and "&#39;nowhere&#39; is not a valid Stage" in unknown.text


def test_case_page_escapes_user_text_and_explains_cues(workspace):
    case_id = open_case(workspace)
    login(workspace)
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert ('<mark class="cue cue-waiting_time" title="waiting_time: long wait &lt;&#34;explained&#34;&gt;">'
            "waited three weeks</mark>") in page
    assert "&amp; nobody called back" in page
    assert 'data-action="receive"' in page and 'data-action="prevent"' in page


def test_social_triage_shows_routing_advice(workspace):
    open_case(workspace, "tweet", channel="social", reasons=[
        {"signal": "routing_rule", "detail": "routing rule 'press' matched (<b>journalist</b>)"}])
    open_case(workspace, "chat only", channel="chat")
    login(workspace)
    page = workspace.get("/workspace/social").text
    assert "routing rule &#39;press&#39; matched (&lt;b&gt;journalist&lt;/b&gt;)" in page and "chat only" not in page
    assert "1 public post by the customer" in page
    reply = re.search(r'<blockquote class="public-reply">(.*?)</blockquote>', page, re.S).group(1)
    assert re.search(r"\b(DM|direct message|private)", reply, re.I)  # it moves the conversation off the timeline


def test_over_limit_redress_is_refused_and_explained(workspace):
    case_id = open_case(workspace, stage="received")
    csrf = login(workspace)
    for action, extra in (("acknowledge", {}), ("confirm_details", {"note": "details ok"}), ("investigate", {})):
        act(workspace, case_id, csrf, action, **extra)
    over = option(workspace, case_id, csrf, redress="400")
    assert over.status_code == 303  # an agent may weigh it; offering it is what the limit governs
    for action, extra in (("record_findings", {"outcome": "justified", "evidence": "no call back logged"}),
                          ("assess_options", {})):
        act(workspace, case_id, csrf, action, **extra)
    view = workspace.cases.get_case(case_id)
    refused = workspace.post(f"/workspace/cases/{case_id}/act", data={
        "csrf": csrf, "version": view.version, "action": "offer_solution", "option_id": view.options[0].id})
    assert refused.status_code == 403, refused.text
    explained = re.search(r'id="refusal">(.*?)</p>', refused.text, re.S).group(1)
    assert "may not offer redress of 400.00 GBP (limit 50 GBP): ask a complaints specialist" in explained
    ombudsman = workspace.post(f"/workspace/cases/{case_id}/escalations", data={
        "csrf": csrf, "target": "ombudsman", "reason": "deadlock", "customer_requested": "on"})
    assert ombudsman.status_code == 403 and "refer a case to an independent third party" in ombudsman.text
    assert workspace.cases.get_case(case_id).stage == "options_assessed"


def test_analyst_is_offered_no_moves(workspace):
    case_id = open_case(workspace)
    login(workspace, Role.analyst)
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert 'data-action="' not in page and "is open to your role (analyst)" in page
    refused = workspace.post(f"/workspace/cases/{case_id}/act", data={"csrf": csrf_of(page), "action": "receive"})
    assert refused.status_code == 403 and "role &#39;analyst&#39; may not" in refused.text


def test_a_case_walks_from_flagged_to_closed_through_the_forms(workspace):
    case_id = open_case(workspace)
    csrf = login(workspace)
    act(workspace, case_id, csrf, "receive")
    act(workspace, case_id, csrf, "acknowledge")
    missing = workspace.post(f"/workspace/cases/{case_id}/act",
                             data={"csrf": csrf, "action": "confirm_details", "note": ""})
    assert missing.status_code == 422 and "field &#39;note&#39;: is required" in missing.text
    act(workspace, case_id, csrf, "confirm_details", note="customer confirmed by phone")
    act(workspace, case_id, csrf, "investigate")
    act(workspace, case_id, csrf, "record_findings", outcome="justified", evidence="no call back logged",
        severity="accusation")
    assert "justified · severity: accusation — no call back logged" in workspace.get(f"/workspace/cases/{case_id}").text
    assert option(workspace, case_id, csrf, redress="30", admits_liability="on").status_code == 303
    act(workspace, case_id, csrf, "assess_options")
    option_id = workspace.cases.get_case(case_id).options[0].id
    act(workspace, case_id, csrf, "offer_solution", option_id=option_id)
    act(workspace, case_id, csrf, "accept")
    act(workspace, case_id, csrf, "implement", note="refund of 30 paid")
    act(workspace, case_id, csrf, "check_satisfaction", satisfied="true")
    act(workspace, case_id, csrf, "close", root_cause="service_failure")
    view = workspace.cases.get_case(case_id)
    assert view.stage == "closed" and view.redress_paid == 30 and view.liability_admitted and view.satisfied
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert "This case is closed." in page and "root_cause=service_failure" in page
    feedback = workspace.post(f"/workspace/cases/{case_id}/feedback", follow_redirects=False, data={
        "csrf": csrf, "to_colleague": "bob", "concerns": "process", "lesson": "call back <b>within</b> a day"})
    assert feedback.status_code == 303
    assert "call back &lt;b&gt;within&lt;/b&gt; a day" in workspace.get(f"/workspace/cases/{case_id}").text
    stale = workspace.post(f"/workspace/cases/{case_id}/notes", data={"csrf": csrf, "note": "late", "version": 1})
    assert stale.status_code == 409 and "Refused:" in stale.text


def test_a_false_alarm_is_dismissed_as_not_a_complaint(workspace):
    case_id = open_case(workspace)
    csrf = login(workspace)
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert 'data-action="dismiss"' in page and 'data-action="prevent"' in page
    act(workspace, case_id, csrf, "dismiss", note="asking for opening hours; nothing wrong")
    view = workspace.cases.get_case(case_id)
    assert view.stage == "not_a_complaint" and not view.stage.is_open and not view.stage.is_complaint
    assert "This case is not a complaint." in workspace.get(f"/workspace/cases/{case_id}").text


def act(client: TestClient, case_id: int, csrf: str, action: str, **fields) -> None:
    version = client.cases.get_case(case_id).version
    response = client.post(f"/workspace/cases/{case_id}/act",
                           data={"csrf": csrf, "action": action, "version": version, **fields}, follow_redirects=False)
    assert response.status_code == 303, re.findall(r'id="refusal">(.*?)</p>', response.text, re.S) or response.text


def option(client: TestClient, case_id: int, csrf: str, **fields):
    return client.post(f"/workspace/cases/{case_id}/options", follow_redirects=False, data={
        "csrf": csrf, "description": "refund the fee", "customer_benefits": "money back",
        "customer_drawbacks": "none", "organisation_benefits": "keeps the customer",
        "organisation_drawbacks": "cost", "risk": "low", "risk_notes": "precedent is small", **fields})


def test_highlight_skips_overlapping_and_out_of_range_cues():
    from pipeline.api.workspace.render import countdown, highlight

    cues = [{"label": "a", "start": 0, "end": 4, "explanation": "x"}, {"label": "b", "start": 2, "end": 6},
            {"label": "c", "start": 8, "end": 99}]
    assert str(highlight("<i>bad</i>", cues)) == '<mark class="cue cue-a" title="a: x">&lt;i&gt;b</mark>ad&lt;/i&gt;'
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert countdown(datetime(2026, 11, 24, 13, 12, 30, tzinfo=UTC), now) == "in 3 h 12 min"
    assert countdown(datetime(2026, 11, 22, 6, 0, tzinfo=UTC), now) == "overdue by 2 d 4 h"


def test_the_trajectory_plots_each_scored_customer_message_and_marks_complaints():
    from types import SimpleNamespace

    from pipeline.api.workspace.render import trajectory

    def message(i: int, d: float, complaint: bool = False, author: str = "customer"):
        score = {"dissatisfaction": d, "is_complaint": complaint} if author == "customer" else None
        return SimpleNamespace(message_id=f"m{i}<x>", author=author, score=score)

    svg = str(trajectory([message(1, 0.1), message(2, 0.0, author="agent"), message(3, 0.5), message(4, 0.9, True)]))
    assert svg.count("<circle") == 3 and svg.count('class="complaint"') == 1
    assert "m4&lt;x&gt;: dissatisfaction 0.90" in svg  # ids are escaped too
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert ys == sorted(ys, reverse=True), "rising dissatisfaction climbs the chart"
    assert str(trajectory([message(1, 0.2, author="agent")])) == ""


def test_the_session_cookie_stays_off_plain_http_when_asked(case_service):
    token = case_service.add_user("tls1", Role.agent)
    with TestClient(create_app(case_service, session_secret="s", https_only=True), base_url="https://testserver") as c:
        page = c.get("/workspace/login")
        answer = c.post("/workspace/login", data={"csrf": csrf_of(page.text), "username": "tls1", "token": token},
                        follow_redirects=False)
    assert answer.status_code == 303
    assert "secure" in answer.headers["set-cookie"].lower()


def test_the_dashboard_shows_the_reports_figures_for_the_chosen_period(workspace):
    open_case(workspace, summary="fee charged twice", stage="received", received_at=datetime(2026, 11, 10, tzinfo=UTC))
    login(workspace, Role.analyst)
    today = workspace.cases.now().date().isoformat()
    page = workspace.get(f"/workspace/analytics?from=2026-01-01&to={today}")
    assert page.status_code == 200
    assert "complaints received" in page.text and "<svg" in page.text and "Complaints return" in page.text
    bad = workspace.get("/workspace/analytics?from=2026-12-01&to=2026-11-01")
    assert bad.status_code == 422 and "swap --from and --to" in bad.text


def test_letters_are_previewed_then_sent_from_the_case_page(workspace):
    case_id = open_case(workspace, summary="fee charged twice", stage="received",
                        received_at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    csrf = login(workspace)
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert 'data-letter="acknowledgement"' in page and 'data-letter="final_response"' not in page  # no findings yet
    version = workspace.cases.get_case(case_id).version
    preview = workspace.post(f"/workspace/cases/{case_id}/letters", data={
        "csrf": csrf, "version": version, "kind": "acknowledgement", "channel": "email", "preview": "true"})
    assert preview.status_code == 200 and 'id="letter-preview"' in preview.text
    assert "nothing was sent" in preview.text and str(case_id) in preview.text
    assert workspace.cases.get_case(case_id).communications == []  # a preview records nothing
    sent = workspace.post(f"/workspace/cases/{case_id}/letters", follow_redirects=False, data={
        "csrf": csrf, "version": version, "kind": "acknowledgement", "channel": "email"})
    assert sent.status_code == 303
    view = workspace.cases.get_case(case_id)
    assert view.stage == "acknowledged" and [c.kind for c in view.communications] == ["acknowledgement"]
    clocks = {d.clock: d.status for d in view.deadlines}
    assert clocks["acknowledgement"] == "met"


def test_a_public_reply_with_personal_data_is_refused_on_the_page(workspace):
    case_id = open_case(workspace, summary="late parcel", channel="social")
    csrf = login(workspace)
    refused = workspace.post(f"/workspace/cases/{case_id}/letters", data={
        "csrf": csrf, "version": workspace.cases.get_case(case_id).version, "kind": "public_reply",
        "channel": "social", "note": "Sorry! Email us at help.desk@example.com about it"})
    assert refused.status_code == 422 and "Refused:" in refused.text and "no_personal_data" in refused.text
    assert workspace.cases.get_case(case_id).communications == []


def test_the_vulnerability_marker_is_hidden_from_a_role_without_access(workspace):
    from pipeline.schema import Flag, RiskLevel, VulnerabilityFinding

    text = "I lost my job in March and I'm behind on my rent, please stop charging me fees"
    finding = VulnerabilityFinding(message_id="v1", driver="resilience", start=28, end=52, text=text[28:52],
                                   weight=0.9, explanation="says they cannot keep up with payments")
    case_id = workspace.cases.intake(Flag(
        conversation_id="v-thread", channel="chat", risk_level=RiskLevel.elevated, probability=0.4, queue="care",
        vulnerability=[finding], messages=[Message(id="v1", text=text, channel="chat", conversation_id="v-thread")],
        scores=[MessageScore(id="v1", complaint_probability=0.6, is_complaint=True, threshold=0.5,
                             severity=Severity.disapproval, severity_probabilities={"disapproval": 0.6},
                             dissatisfaction=0.6, model_version="test",
                             cues=[Cue(label=CueLabel.waiting_time, start=0, end=6, text=text[:6], weight=0.2,
                                       explanation="test")])])).case_id
    login(workspace, Role.agent)
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert 'id="vulnerability"' in page and "says they cannot keep up with payments" in page
    assert "De-escalation" in page and "update them before that time passes" in page  # waiting_time advice
    api = {"Authorization": f"Bearer {workspace.tokens[Role.analyst]}"}
    assert workspace.get(f"/cases/{case_id}/vulnerability", headers=api).status_code == 403
    workspace.post("/workspace/logout", data={"csrf": csrf_of(page)})
    login(workspace, Role.analyst)
    hidden = workspace.get(f"/workspace/cases/{case_id}").text
    assert 'id="vulnerability"' not in hidden and "says they cannot keep up with payments" not in hidden
    api = {"Authorization": f"Bearer {workspace.tokens[Role.agent]}"}
    assert workspace.get(f"/cases/{case_id}/vulnerability", headers=api).json()[0]["driver"] == "resilience"


def test_forms_are_bounded_before_the_csrf_check(workspace):
    page = workspace.get("/workspace/login")
    many = {"csrf": csrf_of(page.text), **{f"f{i}": "x" for i in range(60)}}
    refused = workspace.post("/workspace/login", data=many)
    assert refused.status_code == 400 and "Too many fields" in refused.text and "Nothing was changed" in refused.text
    filed = workspace.post("/workspace/login", data={"csrf": csrf_of(page.text)}, files={"evidence": b"%PDF-"})
    assert filed.status_code == 400 and "Too many files" in filed.text
    long = workspace.post("/workspace/login", data={"csrf": csrf_of(page.text), "username": "x" * 300_000})
    assert long.status_code == 400 and "exceeded maximum size" in long.text


def test_the_queue_fetches_the_riskiest_cases_first_and_says_how_many_it_leaves_out(workspace, clock, monkeypatch):
    from pipeline.api.workspace import routes

    untouched = open_case(workspace, "complaint left since friday", risk="complaint", stage="received",
                         received_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    tweet = open_case(workspace, "public post", risk="low", channel="social")
    clock.advance(minutes=5)
    recent = [open_case(workspace, f"low risk {i}", risk="low") for i in range(3)]  # updated since
    monkeypatch.setattr(routes, "QUEUE_LIMIT", 3)
    login(workspace)
    rows = workspace.get("/workspace/queue/rows").text
    shown = [int(i) for i in re.findall(r'data-case="(\d+)"', rows)]
    assert shown[0] == untouched and len(shown) == 3 and set(shown) <= {untouched, tweet, *recent}
    assert "2 more open cases match but are not shown" in rows
    assert "more open" not in workspace.get("/workspace/queue/rows", params={"stage": "received"}).text
    social = workspace.get("/workspace/social").text  # the channel is filtered before the limit, not after
    assert "public post" in social and "low risk" not in social and "social-more" not in social
    monkeypatch.setattr(routes, "SOCIAL_LIMIT", 1)
    open_case(workspace, "second public post", risk="high", channel="social")
    social = workspace.get("/workspace/social").text
    assert "second public post" in social and "1 more open social-channel case is not shown" in social


def test_the_dashboard_refuses_periods_it_cannot_compute_naming_the_parameter(workspace):
    login(workspace, Role.analyst)
    for query, said in (("from=0001-01-01", "&#39;from&#39; is 0001-01-01: choose a date from 2000 to 2100"),
                        ("to=9999-12-31", "&#39;to&#39; is 9999-12-31: choose a date from 2000 to 2100"),
                        ("from=2020-01-01&to=2026-01-01", "the longest period is 731 days"),
                        ("from=yesterday", "&#39;from&#39; is not a date")):
        page = workspace.get(f"/workspace/analytics?{query}")
        assert page.status_code == 422 and said in page.text, (query, page.status_code)


def test_rotating_the_token_ends_the_workspace_session(workspace):
    login(workspace)
    assert workspace.get("/workspace").status_code == 200
    workspace.cases.rotate_token("agent1")
    after = workspace.get("/workspace", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/workspace/login")


def test_a_failed_login_names_commands_that_exist(workspace):
    from typer.testing import CliRunner

    from pipeline.cli import app

    page = workspace.get("/workspace/login")
    wrong = workspace.post("/workspace/login", data={"csrf": csrf_of(page.text), "username": "agent1", "token": "x"})
    commands = re.findall(r"`earlywarn ([a-z ]+)", wrong.text)
    assert "users token " in commands
    for command in commands:
        assert CliRunner().invoke(app, [*command.split(), "--help"]).exit_code == 0, command


def test_a_case_escalated_above_the_role_offers_it_no_forms(workspace):
    from pipeline.cases.contracts import EscalationRequest

    case_id = open_case(workspace, stage="received")
    workspace.cases.escalate(workspace.cases.actor("agent1"), case_id,
                             EscalationRequest(target="team_leader", reason="asked for a manager"))
    login(workspace, Role.agent)
    page = workspace.get(f"/workspace/cases/{case_id}").text
    assert f'action="/workspace/cases/{case_id}/' not in page  # no move, note, option, letter or feedback form
    workspace.cookies.clear()
    login(workspace, Role.team_leader)
    assert f'action="/workspace/cases/{case_id}/notes"' in workspace.get(f"/workspace/cases/{case_id}").text


def test_an_expired_session_returns_to_the_page_the_form_was_on(workspace):
    case_id = open_case(workspace)
    csrf = login(workspace)
    workspace.cookies.clear()  # the session expired while the form was open
    posted = workspace.post(f"/workspace/cases/{case_id}/notes", data={"csrf": csrf, "note": "x"},
                            follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/workspace/login?next=%2Fworkspace%2Fcases%2F{case_id}"
    filtered = workspace.get("/workspace/queue?stage=flagged&queue=a%26b", follow_redirects=False)
    assert filtered.headers["location"] == ("/workspace/login?next="
                                            "%2Fworkspace%2Fqueue%3Fstage%3Dflagged%26queue%3Da%2526b")
    page = workspace.get(filtered.headers["location"])
    back = workspace.post("/workspace/login", follow_redirects=False, data={
        "csrf": csrf_of(page.text), "username": "agent1", "token": workspace.tokens[Role.agent],
        "next": re.search(r'name="next" value="([^"]+)"', page.text).group(1).replace("&amp;", "&")})
    assert back.headers["location"] == "/workspace/queue?stage=flagged&queue=a%26b"
