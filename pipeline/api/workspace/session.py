"""Who is signed in to the workspace, and the per-session CSRF token every form must carry back.

Users have API tokens, not passwords: the login form takes the username and the token, the token is
checked once, and only the username is kept in the signed session cookie (never the token).
"""

from __future__ import annotations

import secrets

from fastapi import Request

from pipeline.cases.contracts import Actor
from pipeline.cases.service import CaseService
from pipeline.errors import CaseError

USER_KEY, CSRF_KEY = "user", "csrf"


class LoginRequired(Exception):
    """No (valid) session: the page answers with a redirect to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class LoginFailed(ValueError):
    """The username and token do not belong together; the message says what to give instead."""


class CsrfRefused(Exception):
    """A form came back without this session's CSRF token: refused with a 403 page that says why."""


def csrf_token(request: Request) -> str:
    """The session's token, made on first use so even the login form carries one."""
    token = request.session.get(CSRF_KEY)
    if not token:
        token = request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: object) -> None:
    expected = request.session.get(CSRF_KEY)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(expected, sent):
        raise CsrfRefused()


def log_in(request: Request, cases: CaseService, username: str, token: str) -> Actor:
    """Check the token and that it belongs to `username`; a new CSRF token is issued on login."""
    try:
        actor = cases.authenticate(token.strip() or None)
    except CaseError:
        actor = None
    if actor is None or actor.username != username.strip():
        raise LoginFailed("that username and API token do not match an active user. Give your own username "
                          "and the token `earlywarn users add` (or `earlywarn users rotate`) printed for it.")
    request.session.clear()
    request.session[USER_KEY] = actor.username
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return actor


def log_out(request: Request) -> None:
    request.session.clear()


def current_actor(request: Request) -> Actor:
    """The signed-in user, looked up afresh so a deactivated user is signed out at once."""
    username = request.session.get(USER_KEY)
    if not username:
        raise LoginRequired(str(request.url.path))
    try:
        return request.app.state.cases.actor(username)
    except CaseError:
        request.session.clear()
        raise LoginRequired(str(request.url.path)) from None
