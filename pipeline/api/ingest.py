"""`POST /ingest`: a batch of messages in, and for each one: accepted, or why not.

Each record is checked by the same validator the stream uses; refusals go to the dead-letter store
with their reason and are answered with the field and the fix. Accepted messages go on to the
stream: in process through a bounded queue (the embedded default) or to Redis Streams for the
stream workers (`EARLYWARN_INGEST_TRANSPORT=redis`). When the stream cannot take a batch (a full
queue, Redis unreachable), the whole request is answered 503 with Retry-After and nothing from it is
kept, so the caller simply resends. Only roles with the `ingest` capability may send: a message opens
or extends any customer's case.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pipeline.api.auth import CurrentActor
from pipeline.api.errors import error_body
from pipeline.cases.authority import Capability, Role
from pipeline.ingest.deadletter import DeadLetterStore
from pipeline.ingest.sources.base import Envelope
from pipeline.ingest.validate import Rejection, Validator

MAX_MESSAGES = 1000
RETRY_AFTER_S = 1

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingest"])


class Handoff(Protocol):
    """Where accepted messages go: `QueueSource.offer`, or a Redis Streams producer's."""

    def offer(self, envelopes: list[Envelope]) -> bool: ...


class RedisHandoff:
    """Accepted messages published to the stream workers' Redis Stream (durable once XADD returns)."""

    def __init__(self, producer: Any) -> None:  # a RedisStreamProducer
        self.producer = producer

    def offer(self, envelopes: list[Envelope]) -> bool:
        """All or none (one MULTI/EXEC): a failure raises with nothing of the batch on the stream."""
        self.producer.publish([e.payload for e in envelopes], atomic=True)
        return True


class Outcome(BaseModel):
    index: int
    id: str | None
    status: Literal["accepted", "rejected", "retry"]
    reason: str | None = None
    field: str | None = None
    detail: str | None = None


class IngestReport(BaseModel):
    accepted: int
    rejected: int
    results: list[Outcome]


@dataclass
class Ingest:
    validator: Validator
    dead_letters: DeadLetterStore
    handoff: Handoff
    lock: threading.Lock = field(default_factory=threading.Lock)  # the validator remembers ids: one caller at a time

    def take(self, records: list[Any]) -> tuple[int, IngestReport]:
        with self.lock:
            checked = [self.validator.validate(r, source="http") for r in records]
            accepted = [m for m in checked if not isinstance(m, Rejection)]
            taken = False
            try:
                taken = not accepted or self.handoff.offer([Envelope(m, m.id, "http") for m in accepted])
            except Exception as exc:  # noqa: BLE001 - any failed hand-off is the stream not taking the batch
                log.warning("POST /ingest: the stream did not take a batch of %d messages (%s); answered 503",
                            len(accepted), type(exc).__name__)
            finally:
                if not taken:  # never accepted: a resend must not be refused as a duplicate
                    for message in accepted:
                        self.validator.forget(message.id)
            if not taken:
                results = [_outcome(i, m, "retry") for i, m in enumerate(checked)]
                return 503, IngestReport(accepted=0, rejected=0, results=results)
        rejected = [r for r in checked if isinstance(r, Rejection)]
        if rejected:
            self.dead_letters.add_many(rejected)
        results = [_outcome(i, m, "rejected" if isinstance(m, Rejection) else "accepted") for i, m in enumerate(checked)]
        return 202, IngestReport(accepted=len(accepted), rejected=len(rejected), results=results)


def _outcome(index: int, checked: Any, status: str) -> Outcome:
    """A rejection says why whatever happened to the rest; a message gets the batch's fate."""
    if isinstance(checked, Rejection):
        return Outcome(index=index, id=checked.message_id, status="rejected", reason=checked.reason.value,
                       field=checked.field, detail=checked.detail)
    return Outcome(index=index, id=checked.id, status=status)  # type: ignore[arg-type]


@router.post("/ingest", status_code=202, response_model=IngestReport,
             responses={403: {"description": "the token's role lacks the 'ingest' capability"},
                        503: {"description": "the stream is behind: resend the whole batch after Retry-After"}})
async def ingest(request: Request, actor: CurrentActor) -> JSONResponse:
    """Send a JSON array of messages (or `{"messages": [...]}`), at most 1,000 at a time."""
    policy = request.app.state.cases.policy
    if not policy.can(Role(actor.role), Capability.ingest):  # a message opens or extends any customer's case
        able = ", ".join(r.value for r in Role if policy.can(r, Capability.ingest)) or "none configured"
        return JSONResponse(error_body("E012", "Authorization", f"role '{actor.role}' may not send messages: use "
                                       f"the token of a user whose role has the 'ingest' capability ({able})"),
                            status_code=403)
    body = await request.body()
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JSONResponse(error_body("E020", "body", f"the body is not JSON ({exc}): send a JSON array of "
                                       "message objects"), status_code=400)
    except RecursionError:
        return JSONResponse(error_body("E020", "body", "the body's JSON is nested too deeply to read: send a flat "
                                       "JSON array of message objects"), status_code=400)
    records = parsed.get("messages") if isinstance(parsed, dict) else parsed
    if not isinstance(records, list) or not records:
        return JSONResponse(error_body("E020", "messages", "send a non-empty JSON array of message objects, or "
                                       "an object whose 'messages' is one"), status_code=400)
    if len(records) > MAX_MESSAGES:
        return JSONResponse(error_body("E020", "messages", f"{len(records)} messages in one request; the limit "
                                       f"is {MAX_MESSAGES}: split the batch"), status_code=413)
    status, report = await asyncio.to_thread(request.app.state.ingest.take, records)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse(report.model_dump(mode="json"), status_code=status, headers=headers)
