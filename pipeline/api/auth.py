"""Who is calling: a per-user bearer token, checked against its hash on every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pipeline.cases.contracts import Actor
from pipeline.cases.service import CaseService

_bearer = HTTPBearer(auto_error=False, description="a per-user API token from `earlywarn users add`")


# Both are async so FastAPI runs them on the event loop instead of a thread hand-off each; a known
# token is answered from the service's cache without touching the database.
async def service(request: Request) -> CaseService:
    return request.app.state.cases


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    return request.app.state.cases.authenticate(credentials.credentials if credentials else None)


Cases = Annotated[CaseService, Depends(service)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
