"""Flags to an HTTP endpoint: one POST per flag, retried while retrying can help, dead-lettered after.

A receiver may be down, slow or throttling; none of that may lose a flag or stall the stream for
ever. Each flag is POSTed as JSON with an `Idempotency-Key` header (the flag id), so a retry or a
redelivered batch is one the receiver can recognise. Connection errors, timeouts, 408, 429 and 5xx
are retried with exponential backoff and jitter (tenacity), waiting at least what a Retry-After
header asks, up to `max_attempts`; any other answer is final, since sending the same body again
cannot change it. A flag that still fails comes back as a `WebhookFailure`, which the caller
dead-letters (`failure.rejection()` is what `DeadLetterStore.add` takes), so it can be replayed.

A `publish` runs inside the stream's commit, so it has a time budget: once that is spent, the flags
not yet delivered fail at once, without further attempts, and are dead-lettered like any other
failure. Without it a receiver that never answers would hold the batch past the consumer group's
claim time, and another worker would process the batch a second time.

With a `secret`, each request is signed like Stripe's and GitHub's webhooks: the header
`X-Earlywarn-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` beside
`X-Earlywarn-Timestamp: <unix seconds>`. The timestamp is inside the signature, so a receiver
that checks it is recent (`verify_signature`) refuses a captured request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from pipeline.ingest.validate import Reason, Rejection
from pipeline.schema import PRIVATE_FIELDS, Flag

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Earlywarn-Signature"
TIMESTAMP_HEADER = "X-Earlywarn-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"
FLAG_FIELD = "<flag>"
RETRYABLE_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(secret: str | bytes, body: bytes, timestamp: str | int, signature: str,
                     tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """What a receiver checks: the signature matches the body and timestamp, and the timestamp is
    within `tolerance_s` of now (so a captured request cannot be replayed later). A header that is
    not even ASCII is just a wrong signature: compared as bytes, since `compare_digest` refuses
    non-ASCII strings."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if not isinstance(signature, str):
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent, body).encode(), signature.encode("utf-8", "surrogatepass"))


def _public(url: str) -> str:
    """The URL without credentials or query string, safe to log and to store with a dead letter."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True, slots=True)
class WebhookFailure:
    """A flag the webhook gave up on, with enough to dead-letter it and replay it later."""

    flag_id: str
    flag: Flag
    url: str
    attempts: int
    status: int | None
    error: str
    failed_at: datetime

    def rejection(self) -> Rejection:
        """This failure as the dead-letter store's record: reason `webhook_failed`, the flag JSON as
        the payload, the flag id as the message id."""
        detail = (f"gave up after {self.attempts} attempt(s): {self.error}: check the receiver at {self.url}, "
                  f"then replay the flag from the dead letters")
        return Rejection(
            reason=Reason.webhook_failed,
            field=FLAG_FIELD,
            detail=detail,
            raw=self.flag.model_dump_json(exclude=PRIVATE_FIELDS),
            source=f"webhook {self.url}",
            received_at=self.failed_at,
            message_id=self.flag_id,
        )


class _Retryable(Exception):  # noqa: N818 - control flow between the request and tenacity
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after = status, retry_after


class _Final(Exception):  # noqa: N818 - an answer that retrying cannot change
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class _OutOfTime(Exception):  # noqa: N818 - the publish's budget is spent: no further attempts
    pass


def _described(exc: BaseException) -> tuple[int | None, str]:
    """A failed attempt as the status it got (None: no answer) and what went wrong."""
    if isinstance(exc, _Final):
        return exc.status, str(exc)
    if isinstance(exc, _Retryable):
        return exc.status, f"the receiver kept answering {exc}"
    return None, f"{type(exc).__name__} ({exc or 'no detail'})"


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, when given as seconds (an HTTP date is ignored: the backoff applies)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class WebhookSink:
    """POSTs `(flag_id, Flag)` pairs to `url`, up to `concurrency` at a time; returns what it gave up on.

    `timeout` bounds each attempt (connect, read and write, in seconds); `backoff` is the first
    wait between attempts, doubled each retry with up to `backoff` of jitter, never more than
    `max_backoff`. `budget` bounds a whole `publish` call (seconds): no attempt starts or runs past
    it, and every flag not delivered by then comes back as a failure. Keep it well under the
    consumer group's claim time (`EARLYWARN_REDIS_CLAIM_IDLE_MS`), which the whole commit must beat.
    """

    def __init__(self, url: str, secret: str | bytes | None = None, timeout: float = 5.0, max_attempts: int = 5,
                 backoff: float = 0.5, max_backoff: float = 30.0, concurrency: int = 4, budget: float = 20.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ValueError(f"webhook url {_public(url)!r} is not an http(s) URL: "
                             f"give e.g. https://host/earlywarn/flags")
        if max_attempts < 1:
            raise ValueError(f"max_attempts is {max_attempts}: give at least 1 (1 means no retries)")
        if timeout <= 0 or backoff < 0 or max_backoff < backoff:
            raise ValueError(f"timeout {timeout}, backoff {backoff}, max_backoff {max_backoff}: give a timeout "
                             f"above 0 and 0 <= backoff <= max_backoff, in seconds")
        if concurrency < 1:
            raise ValueError(f"concurrency is {concurrency}: give at least 1 request at a time")
        if not budget > 0:
            raise ValueError(f"budget is {budget}: give the seconds one publish may take, above 0 "
                             f"(EARLYWARN_WEBHOOK_BUDGET_S)")
        self.url = url
        self.public_url = _public(url)
        self.secret = secret or None
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.budget = budget
        self.clock = clock
        self._backoff = wait_exponential_jitter(multiplier=backoff, max=max_backoff, jitter=backoff)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout),
                                    limits=httpx.Limits(max_connections=concurrency),
                                    headers={"User-Agent": "earlywarn-webhook/1", "Content-Type": "application/json"})
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")

    def publish(self, batch: Sequence[tuple[str, Flag]]) -> list[WebhookFailure]:
        """Deliver every flag; the failures, in batch order, are those given up on (empty: all delivered).
        Dead-letter them with `DeadLetterStore.add_many(f.rejection() for f in failures)`."""
        deadline = time.monotonic() + self.budget
        outcomes = list(self._pool.map(lambda item: self._deliver(*item, deadline), batch))
        failures = [f for f in outcomes if f is not None]
        if failures:
            log.warning("webhook %s: %d of %d flags failed and go to the dead letters", self.public_url,
                        len(failures), len(batch))
        return failures

    def _deliver(self, flag_id: str, flag: Flag, deadline: float) -> WebhookFailure | None:
        body = flag.model_dump_json(exclude=PRIVATE_FIELDS).encode()
        last: list[BaseException] = []  # the latest failed attempt: reported if the budget ends the retries

        def wait(state: RetryCallState) -> float:
            last[:] = [state.outcome.exception()] if state.outcome is not None else []
            return min(self._wait(state), max(0.0, deadline - time.monotonic()))

        retrying = Retrying(stop=stop_after_attempt(self.max_attempts), wait=wait, reraise=True,
                            retry=retry_if_exception_type((httpx.TransportError, _Retryable)))
        try:
            retrying(self._post, flag_id, body, deadline)
            return None
        except _OutOfTime as exc:  # raised before a request: the attempt it stopped was never made
            attempts = int(retrying.statistics.get("attempt_number", 1)) - 1
            status, error = _described(last[0]) if last and last[0] is not None else (None, "")
            error = f"{error}, then {exc}" if error else str(exc)
        except (_Final, _Retryable, httpx.HTTPError) as exc:  # not only transport: an undecodable answer too
            attempts = int(retrying.statistics.get("attempt_number", self.max_attempts))
            status, error = _described(exc)
        return WebhookFailure(flag_id=flag_id, flag=flag, url=self.public_url, attempts=attempts, status=status,
                              error=error, failed_at=self.clock())

    def _post(self, flag_id: str, body: bytes, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime(f"the {self.budget:g} s one publish may take (EARLYWARN_WEBHOOK_BUDGET_S) "
                             f"ran out, so no further attempt was made")
        headers = {IDEMPOTENCY_HEADER: flag_id}
        if self.secret is not None:
            sent = int(time.time())
            headers |= {TIMESTAMP_HEADER: str(sent), SIGNATURE_HEADER: sign(self.secret, sent, body)}
        response = self._client.post(self.url, content=body, headers=headers, timeout=min(self.timeout, left))
        if response.is_success:
            return
        if response.status_code in RETRYABLE_STATUS:
            raise _Retryable(response.status_code, _retry_after(response))
        status = response.status_code
        if response.is_redirect:
            where = _public(response.headers.get("location", "?"))
            raise _Final(status, f"the receiver redirected (HTTP {status}) to {where}: "
                                 f"point the webhook url at the final address")
        said = response.text[:200].strip() or response.reason_phrase
        raise _Final(status, f"the receiver refused the flag (HTTP {status}: {said}); "
                             f"sending it again will not change that")

    def _wait(self, state: RetryCallState) -> float:
        """The backoff, or longer when a 429/503 asked for it with Retry-After (never over max_backoff)."""
        wait = self._backoff(state)
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            wait = max(wait, min(failure.retry_after, self.max_backoff))
        return wait

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    def __enter__(self) -> WebhookSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
