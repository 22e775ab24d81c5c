"""The FastAPI application: `earlywarn serve` runs it; OpenAPI is served at /docs and /openapi.json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from pipeline.api.cases import router as cases_router
from pipeline.api.errors import error_body, install_error_handlers
from pipeline.cases.service import CaseService

MAX_BODY_BYTES = 1_000_000


def create_app(cases: CaseService) -> FastAPI:
    app = FastAPI(
        title="earlywarn",
        summary="Early-warning dissatisfaction detector and complaint case tracker.",
        version="0.1.0",
    )
    app.state.cases = cases
    install_error_handlers(app)
    app.include_router(cases_router)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            body = error_body("E013", "body", f"the request body is {length} bytes; the limit is {MAX_BODY_BYTES}. "
                                              "Send large evidence as several notes or a link.")
            return JSONResponse(body, status_code=413)
        return await call_next(request)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
