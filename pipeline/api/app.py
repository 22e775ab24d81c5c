"""The FastAPI application: `earlywarn serve` runs it; OpenAPI is served at /docs and /openapi.json."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.api.cases import router as cases_router
from pipeline.api.errors import error_body, install_error_handlers
from pipeline.cases.service import CaseService

MAX_BODY_BYTES = 1_000_000
log = logging.getLogger(__name__)


async def _sweep_forever(cases: CaseService, every: float) -> None:
    while True:
        try:
            alerts = await asyncio.to_thread(cases.sweep)
            for alert in alerts:
                log.warning("case %s: %s on %s (due %s)", alert.case_id, alert.kind, alert.clock, alert.due_at)
        except Exception:  # noqa: BLE001 - a failed sweep must not stop the next one
            log.exception("deadline sweep failed; retrying in %.0f s", every)
        await asyncio.sleep(every)


class BodyLimit:
    """Refuse oversized bodies before they are read (plain ASGI: no per-request task as @middleware has)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                body = error_body("E013", "body", f"the request body is {int(length)} bytes; the limit is "
                                                  f"{MAX_BODY_BYTES}. Send large evidence as several notes.")
                await JSONResponse(body, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(cases: CaseService, sweep_seconds: float = 0.0) -> FastAPI:
    """`sweep_seconds` > 0 runs the deadline sweeper beside the server, so warnings fire on time."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Start-up objects never die: freezing them keeps full collections (~100 ms pauses) off the tail.
        gc.collect()
        gc.freeze()
        task = asyncio.create_task(_sweep_forever(cases, sweep_seconds)) if sweep_seconds > 0 else None
        yield
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="earlywarn",
        summary="Early-warning dissatisfaction detector and complaint case tracker.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.cases = cases
    install_error_handlers(app)
    app.include_router(cases_router)

    app.add_middleware(BodyLimit)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_settings() -> FastAPI:
    """The factory each `earlywarn serve --workers N` process calls: the store and sweeper from settings."""
    from pipeline.config import get_settings

    settings = get_settings()
    return create_app(CaseService.from_settings(settings), sweep_seconds=settings.cases_sweep_seconds)
