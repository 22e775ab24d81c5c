"""POST /cases/{id}/letters and GET /cases/{id}/letters over HTTP (in-process), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path


from pipeline.cases.authority import Role
from tests.api.conftest import auth
from pipeline.config import get_settings


def complaint(api, **body) -> dict:
    response = api.post("/cases", json={"summary": "refund promised twice, never paid", "channel": "email",
                                        "stage": "received", **body}, headers=auth(api))
    assert response.status_code == 201, response.text
    return response.json()


def move(api, case_id: int, *steps: dict) -> dict:
    for step in steps:
        response = api.post(f"/cases/{case_id}/transitions", json=step, headers=auth(api))
        assert response.status_code == 200, response.text
    return response.json()


def to_findings(api, case_id: int, outcome: str = "unjustified") -> dict:
    return move(api, case_id, {"action": "acknowledge"}, {"action": "confirm_details", "note": "fee charged twice"},
                {"action": "investigate"},
                {"action": "record_findings", "outcome": outcome,
                 "evidence": "the second charge was a pre-authorisation"})


def letter(api, case_id: int, role: Role = Role.agent, **body):
    return api.post(f"/cases/{case_id}/letters", json=body, headers=auth(api, role))


def test_preview_then_send_a_final_response(api):
    case = complaint(api)
    to_findings(api, case["id"])
    version = api.get(f"/cases/{case['id']}", headers=auth(api)).json()["version"]
    preview = letter(api, case["id"], kind="final_response", channel="email", preview=True)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["communication"] is None and body["case"] is None
    assert body["letter"]["complete"] is True and body["letter"]["missing"] == []
    assert "We do not uphold your complaint." in body["letter"]["body"] and "agent" in body["letter"]["body"]
    assert "ombudsman_website" in body["letter"]["elements_present"]
    unchanged = api.get(f"/cases/{case['id']}", headers=auth(api)).json()
    assert unchanged["version"] == version and unchanged["communications"] == []

    sent = letter(api, case["id"], kind="final_response", channel="email", version=version)
    assert sent.status_code == 200, sent.text
    result = sent.json()
    assert result["communication"]["kind"] == "final_response" and result["communication"]["channel"] == "email"
    assert result["communication"]["content"].startswith("Subject: Your complaint EW-")
    clocks = {d["clock"]: d for d in result["case"]["deadlines"]}
    assert clocks["final_response"]["status"] == "met" and clocks["ombudsman_referral"]["status"] == "open"
    events = api.get(f"/cases/{case['id']}/events", headers=auth(api)).json()
    assert events[-1]["action"] == "communication" and events[-1]["after"]["kind"] == "final_response"


def test_a_letter_missing_a_fact_is_refused_with_422_naming_it_and_the_step(api):
    case = complaint(api)
    refused = letter(api, case["id"], kind="final_response")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "E030" and error["field"] == "findings"
    assert error["missing"][0]["fact"] == "findings" and error["missing"][0]["step"] == "record_findings"
    assert api.get(f"/cases/{case['id']}", headers=auth(api)).json()["communications"] == []


def test_a_letter_missing_an_element_is_refused_with_422_listing_it(api, monkeypatch, tmp_path: Path):
    (tmp_path / "final_response.email.j2").write_text(
        "Subject: Your complaint\n\n{{ outcome.statement }} {{ findings.evidence }} {{ redress.statement }}\n"
        "Refer it to the {{ scheme.name }} within {{ referral.period }}. {{ waiver.statement }}\n"
        "We have attached {{ scheme.leaflet }}.\n{{ case.reference }}\n{{ handler }}\n")
    monkeypatch.setenv("EARLYWARN_LETTERS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        case = complaint(api)
        to_findings(api, case["id"])
        preview = letter(api, case["id"], kind="final_response", preview=True)
        assert preview.status_code == 200 and preview.json()["letter"]["complete"] is False
        assert preview.json()["letter"]["template"].startswith(str(tmp_path))
        refused = letter(api, case["id"], kind="final_response")
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["code"] == "E031" and [m["element"] for m in error["missing"]] == ["ombudsman_website"]
        assert "www.financial-ombudsman.org.uk" in error["missing"][0]["problem"]
        shipped = letter(api, case["id"], kind="final_response", channel="letter")  # no override for letters
        assert shipped.status_code == 200 and shipped.json()["communication"]["kind"] == "final_response"
    finally:
        get_settings.cache_clear()


def test_a_public_reply_with_personal_data_is_refused_and_a_clean_one_is_sent(api):
    case = complaint(api, channel="social")
    refused = letter(api, case["id"], kind="public_reply", channel="social", note="We've emailed jo@example.com")
    assert refused.status_code == 422
    assert refused.json()["error"]["missing"][0] == {
        "element": "no_personal_data", "description": "a public reply carries no personal data",
        "rule": "NOS: social-media channels; data protection", "problem": "found an email address",
        "fix": "take it out: ask the customer to send it privately instead"}
    sent = letter(api, case["id"], kind="public_reply", channel="social", note="Sorry about this.")
    assert sent.status_code == 200 and sent.json()["communication"]["channel"] == "social"


def test_analysts_preview_but_only_handlers_send_and_the_kinds_on_offer(api):
    case = complaint(api)
    offered = api.get(f"/cases/{case['id']}/letters", headers=auth(api, Role.analyst))
    assert offered.status_code == 200
    assert [o["kind"] for o in offered.json()] == ["acknowledgement", "holding_response"]
    assert offered.json()[0]["channels"] == ["email", "letter"] and "case_reference" in offered.json()[0]["required"]
    preview = letter(api, case["id"], Role.analyst, kind="acknowledgement", preview=True)
    assert preview.status_code == 200 and preview.json()["letter"]["complete"] is True
    assert letter(api, case["id"], Role.analyst, kind="acknowledgement").status_code == 403
    sent = letter(api, case["id"], kind="acknowledgement", channel="letter")
    assert sent.status_code == 200 and sent.json()["case"]["stage"] == "acknowledged"
    assert api.get(f"/cases/{case['id']}/letters", headers=auth(api)).json()[0]["kind"] == "holding_response"
    wrong = letter(api, case["id"], kind="deadlock_letter")
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "kind"
    unknown = letter(api, case["id"], kind="love_letter")
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "kind"
