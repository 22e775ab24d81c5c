"""The case REST API over HTTP (in-process), on SQLite and PostgreSQL: routes, auth and error shapes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pipeline.api.app import MAX_BODY_BYTES, create_app
from pipeline.cases.authority import Role
from tests.api.conftest import auth
from pipeline.cases.contracts import CaseCreate


def create(api, **body) -> dict:
    response = api.post("/cases", json={"summary": "card blocked abroad, no call back", "channel": "chat",
                                        "stage": "received", **body}, headers=auth(api))
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_list_and_transition(api):
    case = create(api, received_at="2026-11-20T09:00:00+00:00")
    assert case["stage"] == "received" and case["allowed_actions"] == ["acknowledge", "close"]
    assert {d["clock"] for d in case["deadlines"]} >= {"acknowledgement", "final_response"}
    moved = api.post(f"/cases/{case['id']}/transitions", json={"action": "acknowledge", "version": case["version"]},
                     headers=auth(api)).json()
    assert moved["stage"] == "acknowledged" and moved["version"] == case["version"] + 1
    assert api.get(f"/cases/{case['id']}", headers=auth(api, Role.analyst)).json()["stage"] == "acknowledged"
    listed = api.get("/cases", params={"stage": "acknowledged"}, headers=auth(api)).json()
    assert [c["id"] for c in listed] == [case["id"]]
    events = api.get(f"/cases/{case['id']}/events", headers=auth(api)).json()
    assert [e["action"] for e in events] == ["create", "acknowledge"] and len(events[1]["hash"]) == 64


def test_errors_name_the_field_and_the_fix(api):
    case = create(api)
    cid = case["id"]
    illegal = api.post(f"/cases/{cid}/transitions", json={"action": "agree"}, headers=auth(api))
    assert illegal.status_code == 409
    assert illegal.json()["error"]["field"] == "action" and "acknowledge" in illegal.json()["error"]["message"]
    stale = api.post(f"/cases/{cid}/notes", json={"note": "x", "version": 999}, headers=auth(api))
    assert stale.status_code == 409 and stale.json()["error"]["field"] == "version"
    oversized = api.post(f"/cases/{cid}/notes", json={"note": "x" * 10_001}, headers=auth(api))
    assert oversized.status_code == 422 and oversized.json()["error"]["field"] == "note"
    bad_date = api.post("/cases", json={"summary": "x", "channel": "chat", "received_at": "2026-02-30T10:00:00Z"},
                        headers=auth(api))
    assert bad_date.status_code == 422 and bad_date.json()["error"]["field"] == "received_at"
    naive = api.post("/cases", json={"summary": "x", "channel": "chat", "received_at": "2026-02-03T10:00:00"},
                     headers=auth(api))
    assert naive.status_code == 422 and "timezone" in naive.json()["error"]["message"]
    missing = api.post(f"/cases/{cid}/escalations", json={"target": "team_leader"}, headers=auth(api))
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    unknown = api.get("/cases/424242", headers=auth(api))
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "case_id"
    over = api.post(f"/cases/{cid}/escalations", json={"target": "ombudsman", "reason": "deadlock"}, headers=auth(api))
    assert over.status_code == 403 and "complaints specialist" in over.json()["error"]["message"]
    huge = api.post(f"/cases/{cid}/notes", content=b"{" + b" " * MAX_BODY_BYTES + b"}",
                    headers={**auth(api), "Content-Type": "application/json"})
    assert huge.status_code == 413
    assert api.get(f"/cases/{cid}", headers=auth(api)).json()["version"] == case["version"]  # nothing written


def test_every_route_needs_a_valid_token(api):
    case = create(api)
    assert api.get("/cases").status_code == 401
    response = api.get(f"/cases/{case['id']}", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert api.get("/health").status_code == 200  # the only open route


def test_admins_issue_tokens_that_work(api):
    response = api.post("/users", json={"username": "new.handler", "role": "agent"}, headers=auth(api, Role.admin))
    assert response.status_code == 201
    token = response.json()["token"]
    assert api.get("/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    duplicate = api.post("/users", json={"username": "new.handler", "role": "agent"}, headers=auth(api, Role.admin))
    assert duplicate.status_code == 422 and duplicate.json()["error"]["field"] == "username"


def test_openapi_lifecycle_and_profiles_are_served(api):
    spec = api.get("/openapi.json").json()
    assert {"/cases", "/cases/{case_id}/transitions", "/audit/verify"} <= set(spec["paths"])
    table = api.get("/lifecycle", headers=auth(api)).json()
    assert {"from": "received", "action": "acknowledge", "to": "acknowledged", "capability": "handle",
            "requires": []} in table
    assert "fca_disp" in api.get("/profiles", headers=auth(api)).json()
    assert api.get("/audit/verify", headers=auth(api)).json()["intact"] is True


def test_the_server_sweeps_deadlines_in_the_background(case_service, clock):
    import time

    token = case_service.add_user("ann", Role.agent)
    case = case_service.create_case(case_service.actor("ann"),
                                    CaseCreate(summary="x", channel="chat", stage="received"))
    clock.advance(days=30)  # the acknowledgement is long overdue
    with TestClient(create_app(case_service, sweep_seconds=0.05)) as client:
        for _ in range(100):
            events = client.get(f"/cases/{case.id}/events", headers={"Authorization": f"Bearer {token}"}).json()
            if any(e["action"] == "deadline_breached" for e in events):
                break
            time.sleep(0.05)
    assert [e["after"]["clock"] for e in events if e["action"] == "deadline_breached"] == ["acknowledgement"]


def _chunks(total: int, size: int = 64 * 1024):
    """A body with no Content-Length: httpx sends a generator chunked."""
    for _ in range(total // size + 1):
        yield b" " * size


def test_a_chunked_body_over_the_limit_is_refused_before_any_token_is_checked(api):
    for path, kind in (("/cases", "application/json"), ("/workspace/login", "application/x-www-form-urlencoded")):
        response = api.post(path, content=_chunks(MAX_BODY_BYTES + 1), headers={"Content-Type": kind})
        assert response.status_code == 413, (path, response.text)
        error = response.json()["error"]
        assert error["field"] == "body" and str(MAX_BODY_BYTES) in error["message"]
    assert api.post("/cases", content=_chunks(1000), headers={"Content-Type": "application/json"}).status_code != 413


def test_a_chunked_body_is_read_no_further_than_the_limit(case_service):
    """Straight over ASGI, as a server delivers it: the app stops pulling chunks once past the limit."""
    import asyncio

    app, chunk, pulled, sent = create_app(case_service), 64 * 1024, [], []

    async def receive() -> dict:
        pulled.append(chunk)
        return {"type": "http.request", "body": b" " * chunk, "more_body": len(pulled) < 100}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/cases", "raw_path": b"/cases", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert sum(pulled) <= MAX_BODY_BYTES + chunk, f"read {sum(pulled)} bytes of a body refused at {MAX_BODY_BYTES}"
