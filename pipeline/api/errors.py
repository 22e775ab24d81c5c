"""Every refusal is a 4xx whose body names the field and the fix, in one shape for all routes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pipeline.errors import (
    AuthenticationError,
    AuthorityError,
    CaseError,
    CaseNotFoundError,
    IllegalTransitionError,
    UnknownUserError,
    VersionConflictError,
)

STATUS = {
    AuthenticationError: 401,
    AuthorityError: 403,
    CaseNotFoundError: 404,
    UnknownUserError: 404,
    IllegalTransitionError: 409,
    VersionConflictError: 409,
}


def error_body(code: str, field: str | None, message: str) -> dict[str, object]:
    return {"error": {"code": code, "field": field, "message": message}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaseError)
    async def _case_error(_request: Request, exc: CaseError) -> JSONResponse:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 422)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(exc.code, exc.field, str(exc)), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        message = f"field '{field}': {first.get('msg')}. Fix that field and send the request again."
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg")}
                   for e in problems]
        body = error_body("E013", field, message)
        body["error"]["details"] = details  # type: ignore[index]
        return JSONResponse(body, status_code=422)
