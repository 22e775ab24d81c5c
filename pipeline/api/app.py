"""The FastAPI application: `earlywarn serve` runs it; OpenAPI is served at /docs and /openapi.json."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.api.cases import router as cases_router
from pipeline.api.errors import error_body, install_error_handlers
from pipeline.api.ingest import Ingest, RedisHandoff
from pipeline.api.ingest import router as ingest_router
from pipeline.api.workspace import install as install_workspace
from pipeline.cases.service import CaseService
from pipeline.ingest.sources.queue import QueueSource

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


class BodyTooLarge(Exception):
    """Raised from `receive` once a body passes the limit; the middleware answers 413 in its place."""


class BodyLimit:
    """Refuse oversized bodies as their bytes arrive, whether or not Content-Length was sent (a chunked
    body has none), so no route ever holds more than the limit (plain ASGI: no per-request task as
    @middleware has)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send, int(length))
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    raise BodyTooLarge()
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the 413 below replaces whatever a route or handler made of the error
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, None)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, length: int | None) -> None:
        size = f"is {length} bytes" if length is not None else "passed that"
        body = error_body("E013", "body", f"the limit on a request body is {self.limit} bytes and this one {size}. "
                                          "Send large evidence as several notes, a large batch as several requests.")
        await JSONResponse(body, status_code=413)(scope, receive, send)


def create_app(cases: CaseService, sweep_seconds: float = 0.0, ingest: Ingest | None = None,
               stream: InlineStream | None = None, session_secret: str | None = None,
               https_only: bool = False) -> FastAPI:
    """`sweep_seconds` > 0 runs the deadline sweeper beside the server, so warnings fire on time.
    `ingest` serves `POST /ingest`; `stream`, when given, runs in the server process for it.
    `session_secret` signs the workspace's session cookie; a random one per process if empty;
    `https_only` keeps that cookie off plain HTTP."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Start-up objects never die: freezing them keeps full collections (~100 ms pauses) off the tail.
        gc.collect()
        gc.freeze()
        task = asyncio.create_task(_sweep_forever(cases, sweep_seconds)) if sweep_seconds > 0 else None
        if stream is not None:
            stream.start()
        yield
        if stream is not None:
            await asyncio.to_thread(stream.stop)
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
    if ingest is not None:
        app.state.ingest = ingest
        app.include_router(ingest_router)
    install_workspace(app, session_secret, https_only)

    app.add_middleware(BodyLimit)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_settings() -> FastAPI:
    """The factory each `earlywarn serve --workers N` process calls: the store and sweeper from settings."""
    from pipeline.config import get_settings

    settings = get_settings()
    cases = CaseService.from_settings(settings)
    ingest, stream = ingest_from_settings(settings)
    return create_app(cases, sweep_seconds=settings.cases_sweep_seconds, ingest=ingest, stream=stream,
                      session_secret=settings.workspace_secret or None, https_only=settings.workspace_https_only)


class InlineStream:
    """The stream run on a thread of the server process, fed by `POST /ingest` through a bounded queue."""

    def __init__(self, runner: Any, source: QueueSource, checkpoint: Any = None) -> None:
        self.runner, self.source, self.checkpoint = runner, source, checkpoint
        self._thread = threading.Thread(target=self._run, name="earlywarn-stream", daemon=True)

    def _run(self) -> None:
        try:
            self.runner.run(self.source, max_wait_s=0.02, checkpoint=self.checkpoint)
        except Exception:  # noqa: BLE001 - say so loudly, and stop taking messages nobody will read
            self.source.fail()
            log.exception("the inline stream stopped; POST /ingest now answers 503")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.source.stop()  # drains what was accepted, then ends
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            log.error("the inline stream did not drain within 30 s; %d messages were still queued",
                      self.source.lag())


def ingest_from_settings(settings: Any) -> tuple[Ingest | None, InlineStream | None]:
    """`POST /ingest` as configured; off (with a warning) when the models the stream needs are not trained."""
    from pipeline.errors import ModelNotTrainedError
    from pipeline.ingest.deadletter import DeadLetterStore
    from pipeline.ingest.validate import Validator
    from pipeline.stream.assemble import build_stages, ingest_limits

    if settings.ingest_transport == "off":
        return None, None
    dead_letters = DeadLetterStore(settings.dead_letters)
    validator = Validator(ingest_limits(settings))
    if settings.ingest_transport == "redis":
        from pipeline.ingest.sources.redis_streams import RedisStreamProducer

        producer = RedisStreamProducer(settings.redis_stream, url=settings.redis_url)
        return Ingest(validator, dead_letters, RedisHandoff(producer)), None
    from pipeline.scoring.registry import best_available
    from pipeline.stream.runner import StreamRunner

    try:  # read in the server's own process: forking reading workers from a running server is not safe
        stages = build_stages(settings.model_copy(update={"stream_readers": 0}), best_available(settings))
    except ModelNotTrainedError as exc:
        log.warning("POST /ingest is off: %s", exc)
        return None, None
    from pipeline.stream.assemble import state_path

    source = QueueSource(settings.ingest_queue_capacity)
    checkpoint = lambda: stages.conversations.save(state_path(settings))  # noqa: E731
    return Ingest(validator, dead_letters, source), InlineStream(StreamRunner(stages), source, checkpoint)
