"""Who is signed in to the workspace, and the per-session CSRF token every form must carry back.

Users have API tokens, not passwords: the login form takes the username and the token, the token is
checked once, and the signed session cookie keeps the username and a short fingerprint of the token's
stored hash (never the token): rotating the token (`earlywarn users token USER`) ends the session.
"""

from __future__ import annotations

import re
import secrets

from fastapi import Request

from pipeline.cases.contracts import Actor
from pipeline.cases.service import CaseService, hash_token, token_fingerprint
from pipeline.errors import CaseError

USER_KEY, CSRF_KEY, TOKEN_KEY = "user", "csrf", "token_fingerprint"
_CASE_PAGE = re.compile(r"^/workspace/cases/\d+")


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
                          "and the token `earlywarn users add` (or `earlywarn users token USERNAME`) printed for it.")
    request.session.clear()
    request.session[USER_KEY] = actor.username
    request.session[TOKEN_KEY] = token_fingerprint(hash_token(token.strip()))
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return actor


def log_out(request: Request) -> None:
    request.session.clear()


def current_actor(request: Request) -> Actor:
    """The signed-in user, looked up afresh so a deactivated user, or one whose token was rotated, is
    signed out at once."""
    username, fingerprint = request.session.get(USER_KEY), request.session.get(TOKEN_KEY)
    if not username or not isinstance(fingerprint, str):
        raise LoginRequired(_return_to(request))
    try:
        return request.app.state.cases.actor(username, fingerprint=fingerprint)
    except CaseError:
        request.session.clear()
        raise LoginRequired(_return_to(request)) from None


def _return_to(request: Request) -> str:
    """Where to go after signing in: the page itself, or for a form post (which cannot be replayed by
    a redirect) the page the form lives on."""
    path = request.url.path
    if request.method in ("GET", "HEAD"):
        return f"{path}?{request.url.query}" if request.url.query else path
    page = _CASE_PAGE.match(path)
    return page.group(0) if page else "/workspace"
