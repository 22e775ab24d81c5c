"""From one raw input to a `Message`, or to a `Rejection` that says what is wrong and how to fix it.

Whatever a source delivers (bytes off a socket, a JSONL line, a dict from an HTTP body) ends here
as exactly one of the two, never as an exception: a stream worker must keep going past bad input,
and every rejection goes to the dead-letter store with the original payload so nothing is lost.

Checks run cheapest first (size, encoding, JSON, fields, text, duplicates) and language
detection, the only one that looks at the words, runs last and only on otherwise valid messages.
A message's id enters the duplicate window only once the message is accepted, so a corrected
resend of a rejected record is not refused as a duplicate.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from cachetools import FIFOCache
from pydantic import ValidationError

from pipeline.ingest.files import FieldMap
from pipeline.ingest.language import LanguageGate
from pipeline.ingest.pii import redact
from pipeline.schema import Message

log = logging.getLogger(__name__)

RECORD = "<record>"

_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")  # C0 but \t \n \r, and lone surrogates
_ID_FIELDS = ("conversation_id", "customer_id")
_FIXES = {
    "channel": "send one of: query, chat, social, email",
    "author": "send customer or agent",
    "timestamp": "send ISO 8601 with an offset, e.g. 2026-01-31T09:30:00+00:00, or leave it out",
    "metadata": "send a JSON object of extra fields",
    "conversation_id": "send the conversation id as a string, or leave it out",
    "customer_id": "send the customer id as a string, or leave it out",
}


class Reason(str, Enum):
    """Why a record was refused: stable short codes, safe to count, alert and filter on."""

    oversized_record = "oversized_record"
    invalid_encoding = "invalid_encoding"
    malformed_json = "malformed_json"
    not_an_object = "not_an_object"
    missing_field = "missing_field"
    wrong_type = "wrong_type"
    invalid_field = "invalid_field"
    empty_text = "empty_text"
    oversized_text = "oversized_text"
    binary_text = "binary_text"
    duplicate_id = "duplicate_id"
    unsupported_language = "unsupported_language"
    unreadable_record = "unreadable_record"
    webhook_failed = "webhook_failed"  # a flag the outbound webhook would not take: kept to re-send
    validator_fault = "validator_fault"  # a bug here, not in the record: the record is kept for replay


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record a source could not even cut out of its input (a CSV row with stray quotes): the
    source hands this to the validator in place of a payload, so it becomes a Rejection too."""

    detail: str
    raw: str


Payload = bytes | bytearray | memoryview | str | Mapping[str, Any] | Message | Unreadable


@dataclass(frozen=True)
class IngestLimits:
    """What the ingest layer accepts. An empty `languages` turns the language check off, and a
    `duplicate_window` of 0 the duplicate check; ids are bounded because the case store keeps them
    in 128-character columns. `max_record_bytes` bounds every record, whatever form it arrives in
    (a mapping is measured as its JSON); `max_raw_chars` is how much of a record refused for being
    over that bound is kept in the dead letters (any other rejection keeps the record whole)."""

    max_text_chars: int = 5000
    languages: tuple[str, ...] = ("en",)
    duplicate_window: int = 100_000
    max_record_bytes: int = 256 * 1024
    max_id_chars: int = 128
    max_nesting: int = 32
    max_raw_chars: int = 16 * 1024

    def __post_init__(self) -> None:
        for name in ("max_text_chars", "max_record_bytes", "max_id_chars", "max_nesting", "max_raw_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"IngestLimits.{name} is {getattr(self, name)}: it must be at least 1")
        if self.duplicate_window < 0:
            raise ValueError("IngestLimits.duplicate_window is negative: use 0 to turn the duplicate check off")
        if isinstance(self.languages, str):
            raise ValueError("IngestLimits.languages is a string: pass a tuple of ISO 639-1 codes, e.g. ('en',)")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the pipeline refused: why, which field, how to fix it, and the payload as received.

    `raw` is the payload as text (undecodable bytes and lone surrogates as backslash escapes) so the
    dead-letter store can keep it for replay: whole for any record within `max_record_bytes`; only
    an `oversized_record` is cut, with a note of how large it was.
    """

    reason: Reason
    field: str
    detail: str
    raw: str
    source: str
    received_at: datetime
    message_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason.value, "field": self.field, "detail": self.detail, "raw": self.raw,
                "source": self.source, "received_at": self.received_at.isoformat(),
                "message_id": self.message_id}

    def __str__(self) -> str:
        """One log-safe line: personal data in the detail is redacted, the payload left out."""
        return redact(f"{self.source}: {self.reason.value} in '{self.field}': {self.detail}")


class _Refused(Exception):  # noqa: N818 - control flow inside the validator, never escapes it
    def __init__(self, reason: Reason, field: str, detail: str, message_id: str | None = None) -> None:
        super().__init__(detail)
        self.reason, self.field, self.detail, self.message_id = reason, field, detail, message_id


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Validator:
    """Turns raw input into `Message | Rejection`; one per worker (it remembers recent ids).

    `fields` names the input keys holding the text and the id when a source calls them something
    else (e.g. a CSV with `body` and `tweet_id`); rejections then name the source's own key.
    """

    def __init__(self, limits: IngestLimits | None = None, *, fields: FieldMap | None = None,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.limits = limits or IngestLimits()
        self.fields = fields or FieldMap()
        self.clock = clock
        self.language_gate = LanguageGate(self.limits.languages) if self.limits.languages else None
        self._seen: FIFOCache[str, bool] | None = (
            FIFOCache(maxsize=self.limits.duplicate_window) if self.limits.duplicate_window else None
        )

    # --- entry points ---------------------------------------------------------------------------

    def validate(self, raw: Payload, *, source: str = "unknown",
                 default_id: str | None = None) -> Message | Rejection:
        """One raw record (bytes, str, mapping or a built Message) as a Message or a Rejection.

        `default_id` is used when the record has no id (a CSV without an id column); without it a
        record with no id is rejected, since the id is what makes delivery idempotent.
        """
        if isinstance(raw, Message):
            return self.message(raw, source=source)
        if isinstance(raw, Unreadable):
            return self._reject(_Refused(Reason.unreadable_record, RECORD, raw.detail), raw.raw, source)
        try:
            record = self._record(raw)
            message = self._build(record, default_id)
            self._screen(message, text_checked=True)
        except _Refused as refused:
            return self._reject(refused, raw, source)
        except Exception as exc:  # noqa: BLE001 - a worker must survive any input; say so loudly
            log.exception("validator fault on a %s payload from %s", type(raw).__name__, source)
            refused = _Refused(Reason.validator_fault, RECORD,
                               f"could not be checked ({type(exc).__name__}): the record was kept for replay; "
                               f"report this as a bug in the ingest validator and replay it once fixed")
            return self._reject(refused, raw, source)
        return self._accept(message)

    def message(self, msg: Message, *, source: str = "unknown") -> Message | Rejection:
        """The checks an already-built Message still needs: size, binary text, duplicates, language."""
        try:
            self._screen(msg, text_checked=False)
        except _Refused as refused:
            return self._reject(refused, msg, source)
        return self._accept(msg)

    def forget(self, message_id: str) -> None:
        """Take an id out of the duplicate window (a caller that dropped an accepted message unsent)."""
        if self._seen is not None:
            self._seen.pop(message_id, None)

    # --- raw payload to record --------------------------------------------------------------------

    def _record(self, raw: Payload) -> Mapping[str, Any]:
        limit = self.limits.max_record_bytes
        if isinstance(raw, Mapping):
            size = _json_bytes(raw)
            if size is not None and size > limit:
                raise _Refused(Reason.oversized_record, RECORD,
                               f"the record is {size:,} bytes as JSON, more than the {limit:,} allowed: "
                               f"shorten the text or move large attachments out of the message")
            return raw
        if isinstance(raw, (bytes, bytearray, memoryview)):
            data = bytes(raw)
            if len(data) > limit:
                raise _Refused(Reason.oversized_record, RECORD,
                               f"the record is {len(data):,} bytes, more than the {limit:,} allowed: "
                               f"shorten the text or move large attachments out of the message")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Refused(Reason.invalid_encoding, RECORD,
                               f"not valid UTF-8 (byte {exc.start} is {data[exc.start]:#04x}): "
                               f"send the record encoded as UTF-8") from None
        elif isinstance(raw, str):
            text = raw
            if len(text) > limit:  # characters, at least as many bytes: a cheap bound before encoding
                raise _Refused(Reason.oversized_record, RECORD,
                               f"the record is {len(text):,} characters, more than the {limit:,} bytes allowed: "
                               f"shorten the text or move large attachments out of the message")
        else:
            raise _Refused(Reason.not_an_object, RECORD,
                           f"a {type(raw).__name__} payload, not JSON text or an object: "
                           f"send one JSON object per record")
        return self._parse(text.removeprefix("\ufeff"))

    @staticmethod
    def _parse(text: str) -> Mapping[str, Any]:
        if not text.strip():
            raise _Refused(Reason.malformed_json, RECORD, "the record is empty: send one JSON object per record")
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise _Refused(Reason.malformed_json, RECORD,
                           f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
                           f"send one JSON object per record") from None
        except RecursionError:
            raise _Refused(Reason.malformed_json, RECORD,
                           "JSON nested too deeply to read: send a flat object of message fields") from None
        except ValueError as exc:  # NaN/Infinity, or an integer too long to convert
            what = "a number too long to read" if "digits" in str(exc) else str(exc)
            raise _Refused(Reason.malformed_json, RECORD,
                           f"not valid JSON ({what}): send plain JSON numbers and strings") from None
        if not isinstance(value, dict):
            raise _Refused(Reason.not_an_object, RECORD,
                           f"{_a(_kind(value))} in JSON, not an object: send one object per record, e.g. "
                           f'{{"id": "m1", "text": "..."}}')
        return value

    # --- record to message ------------------------------------------------------------------------

    def _build(self, record: Mapping[str, Any], default_id: str | None) -> Message:
        text_key, id_key = self.fields.text, self.fields.id
        text = record.get(text_key)
        if text is None:
            raise _Refused(Reason.missing_field, text_key,
                           f"missing: every record needs its message text in '{text_key}'")
        if not isinstance(text, str):
            raise _Refused(Reason.wrong_type, text_key,
                           f"is {_a(_kind(text))}, expected a string: send the message text as a JSON string")
        self._check_text(text, text_key)
        message_id = self._id(record.get(id_key), id_key, default_id)
        fields = {k: v for k, v in record.items() if k not in (text_key, id_key)}
        for key in _ID_FIELDS:
            if fields.get(key) is not None:
                fields[key] = self._id(fields[key], key, None)
        metadata = fields.get("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise _Refused(Reason.wrong_type, "metadata",
                           f"is {_a(_kind(metadata))}, expected an object: {_FIXES['metadata']}", message_id)
        try:
            message = Message.from_record({**fields, "id": message_id, "text": text})
        except ValidationError as exc:
            raise _from_pydantic(exc, message_id) from None
        if message.metadata:
            self._check_metadata(message.metadata, message_id)
        return message

    def _id(self, value: Any, key: str, default: str | None) -> str:
        if value is None:
            if default is not None:
                return default
            raise _Refused(Reason.missing_field, key,
                           f"missing: every record needs a unique id in '{key}' (it makes redelivery harmless)")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Refused(Reason.wrong_type, key, f"is {_a(_kind(value))}, expected a string or integer id")
        value = str(value)
        if not value.strip():
            raise _Refused(Reason.invalid_field, key, "is blank: send a non-empty id, or leave the field out")
        if len(value) > self.limits.max_id_chars:
            raise _Refused(Reason.invalid_field, key,
                           f"is {len(value):,} characters, more than the {self.limits.max_id_chars} allowed: "
                           f"send a shorter id (a hash of a long one will do)")
        if _BAD_CHARS.search(value):
            raise _Refused(Reason.invalid_field, key,
                           "holds control characters or invalid Unicode: send printable UTF-8 text as the id")
        return value

    def _check_metadata(self, metadata: Mapping[str, Any], message_id: str) -> None:
        """Metadata travels to JSON sinks and the case store: it must serialise, and not too deep."""
        if _deeper_than(metadata, self.limits.max_nesting):
            raise _Refused(Reason.invalid_field, "metadata",
                           f"nested more than {self.limits.max_nesting} levels deep: send flatter extra fields",
                           message_id)
        try:
            json.dumps(metadata, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused(Reason.invalid_field, "metadata",
                           "holds invalid Unicode (a lone surrogate): send valid UTF-8 text", message_id) from None
        except (TypeError, ValueError, RecursionError) as exc:
            raise _Refused(Reason.invalid_field, "metadata",
                           f"is not plain JSON ({exc}): send strings, finite numbers, booleans, lists and objects",
                           message_id) from None

    # --- checks on a built message ------------------------------------------------------------------

    def _check_text(self, text: str, key: str, message_id: str | None = None) -> None:
        if not text.strip():
            raise _Refused(Reason.empty_text, key, "is blank: send the message body; there is nothing to score",
                           message_id)
        if len(text) > self.limits.max_text_chars:
            raise _Refused(Reason.oversized_text, key,
                           f"is {len(text):,} characters, more than the {self.limits.max_text_chars:,} allowed: "
                           f"split the message or send a summary", message_id)
        bad = _BAD_CHARS.search(text)
        if bad:
            char = bad.group()
            surrogate = "\ud800" <= char <= "\udfff"
            what = "a lone surrogate (invalid Unicode)" if surrogate else f"control character {ord(char):#04x}"
            raise _Refused(Reason.binary_text, key,
                           f"holds {what} at position {bad.start()}: send plain text "
                           f"(binary data belongs in an attachment, not in the message)", message_id)

    def _screen(self, message: Message, *, text_checked: bool) -> None:
        if not text_checked:
            self._check_text(message.text, "text", message.id)
        if self._seen is not None and message.id in self._seen:
            raise _Refused(Reason.duplicate_id, "id",
                           f"id {message.id!r} was already accepted among the last "
                           f"{self.limits.duplicate_window:,} messages: give each message its own id "
                           f"(a redelivery of the same message needs no action)", message.id)
        if self.language_gate is not None:
            verdict = self.language_gate.foreign(message.text)
            if verdict is not None:
                allowed = ", ".join(sorted(self.language_gate.allowed))
                raise _Refused(Reason.unsupported_language, "text",
                               f"reads as {verdict.name} ('{verdict.code}', {verdict.percent}% of the text) and this "
                               f"pipeline handles {allowed}: route it to a team that reads {verdict.name}, or add "
                               f"'{verdict.code}' to the accepted ingest languages", message.id)

    # --- outcomes -------------------------------------------------------------------------------------

    def _accept(self, message: Message) -> Message:
        if self._seen is not None:
            self._seen[message.id] = True
        return message

    def _reject(self, refused: _Refused, raw: Payload, source: str) -> Rejection:
        # a record within max_record_bytes is never cut, so it can be replayed; only an oversized one is
        oversized = refused.reason is Reason.oversized_record
        limit = self.limits.max_raw_chars if oversized else self.limits.max_record_bytes
        rejection = Rejection(refused.reason, refused.field, refused.detail,
                              raw_text(raw, limit), source, self.clock(), refused.message_id)
        log.debug("%s", rejection)
        return rejection


# --- helpers --------------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _kind(value: Any) -> str:
    """A type name a JSON sender recognises."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (Mapping, list, tuple)))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (Mapping, list, tuple)))
    return False


def field_and_fix(exc: ValidationError) -> tuple[str, str]:
    """The field pydantic faults first, and a detail that says what to send instead (for readers
    outside the validator, such as `earlywarn score`'s)."""
    refused = _from_pydantic(exc, None)
    return refused.field, refused.detail


def _from_pydantic(exc: ValidationError, message_id: str | None) -> _Refused:
    """Pydantic's first error as field + detail + fix, in the words of the other rejections."""
    first = exc.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]]
    field = ".".join(loc) or RECORD
    kind = first["type"]
    msg = first["msg"].removeprefix("Value error, ")
    fix = _FIXES.get(loc[0] if loc else "", "see the Message contract in pipeline/schema.py")
    if kind == "missing":
        return _Refused(Reason.missing_field, field, f"missing: {fix}", message_id)
    reason = Reason.wrong_type if kind.endswith("_type") else Reason.invalid_field
    if kind == "enum" and not isinstance(first.get("input"), str):
        reason, detail = Reason.wrong_type, f"is {_a(_kind(first.get('input')))}, expected a string: {fix}"
    elif kind == "enum":
        detail = f"is not a known {field}: {fix}"
    else:
        detail = msg if ": send" in msg else f"{msg[0].lower()}{msg[1:]}: {fix}"
    return _Refused(reason, field, detail, message_id)


def _as_json(record: Any) -> str | None:
    """A mapping as the JSON a sender would have sent (None when it is not JSON at all)."""
    try:
        return json.dumps(record, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        return None


def _json_bytes(record: Mapping[str, Any]) -> int | None:
    text = _as_json(record)
    return None if text is None else len(text.encode("utf-8", "surrogatepass"))


def raw_text(raw: Payload, limit: int) -> str:
    """The payload as storable text: bytes decoded with backslash escapes, lone surrogates escaped.

    A payload of at most `limit` bytes (characters, for text) is kept whole, however long its
    escapes make it; a longer one is cut at `limit` with a note saying how large it was."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
        cut = len(data) > limit
        text = data[:limit].decode("utf-8", "backslashreplace")
        total = f"{len(data):,} bytes"
    else:
        if isinstance(raw, str):
            text = raw
        elif isinstance(raw, Message):
            text = raw.model_dump_json()
        else:
            text = _as_json(raw) or f"<unprintable {type(raw).__name__}>"
        total = f"{len(text):,} characters"
        cut = len(text) > limit
        text = text[:limit]
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{text}… [truncated: {total} in all]" if cut else text
